/**
 * Preset 4 — hot content: one 8 MiB item goes viral, 100,000 browsers request it within a minute.
 * Inbound frames per second on the busiest coordinator object against the ~1,000 req/s soft limit
 * of one Durable Object, for one object per item ("global"), per item × continent (the edge's
 * default SHARD_BY) and per item × colo — first with no socket cap (the demand), then as deployed:
 * per continent with MAX_PEERS_PER_SHARD (2,000), where refused peers fetch from the edge and retry.
 */
import { realPolicies } from "../policy-adapters";
import type { Preset, PresetContext, PresetResult } from "../preset";
import { MAX_PEERS_PER_SHARD, runSwarm, type SwarmParams } from "../swarm-engine";
import { quantile } from "../swarm-metrics";
import { catalogueParams } from "./swarm-defaults";

const SOFT_LIMIT = 1000;
const RUNS = [
  { id: "global", shardBy: "global", cap: Infinity, name: "one object per item (no cap)" },
  { id: "continent", shardBy: "continent", cap: Infinity, name: "per item × continent (no cap)" },
  { id: "colo", shardBy: "colo", cap: Infinity, name: "per item × colo, 18 metros (no cap)" },
  { id: "continent_capped", shardBy: "continent", cap: MAX_PEERS_PER_SHARD, name: `per continent, ${MAX_PEERS_PER_SHARD} sockets/object (as deployed)` },
] as const;

export const hotContent: Preset = {
  name: "hot-content",
  description: "viral item, 100k requesters in 60 s: coordinator msgs/s per object, global vs continent vs colo shards, socket cap",
  run(ctx: PresetContext): PresetResult {
    const requesters = Math.max(500, Math.round(100_000 * ctx.scale));
    const series: { name: string; x: number[]; y: number[] }[] = [];
    const summary: string[] = [];
    const cols: number[][] = [];
    const header = ["t_s"];
    let events = 0;
    let seconds = 0;
    for (const run of RUNS) {
      const params: SwarmParams = {
        ...catalogueParams(ctx.seed, requesters),
        workload: { kind: "flash", itemBytes: 8 * 1024 * 1024, rampS: 60, seedMeanS: 227 },
        shardBy: run.shardBy, maxPeersPerShard: run.cap, horizonS: 120, warmupS: 0, binS: 10,
      };
      const r = runSwarm(params, realPolicies);
      events += r.events;
      const m = r.metrics;
      const perSec = m.perSecondMax.slice(0, params.horizonS);
      seconds = perSec.length;
      cols.push(perSec, m.perSecondObjects.slice(0, params.horizonS));
      header.push(`${run.id}_max_msgs_per_object`, `${run.id}_objects`);
      const peak = Math.max(...perSec);
      const over = perSec.filter((v) => v > SOFT_LIMIT).length;
      const perReq = m.totals.msgs / requesters;
      series.push({ name: run.name, x: perSec.map((_, i) => i), y: perSec });
      summary.push(`${run.name}: peak ${peak} inbound frames/s on one object (${over} s above ${SOFT_LIMIT}/s; ${Math.max(...m.perSecondObjects)} objects), largest swarm ${Math.max(...m.bins.maxSwarm)} sockets, ${m.totals.refused} refused joins, offload ${m.offload.toFixed(3)}, TTC p50 ${quantile(m.ttc, 0.5).toFixed(1)} s vs edge-only ${quantile(m.ttcEdgeOnly, 0.5).toFixed(1)} s, ${perReq.toFixed(1)} frames per requester`);
      if (run.id === "global") summary.push(`one object stays under ${SOFT_LIMIT}/s while fewer than ≈ ${Math.floor(SOFT_LIMIT / perReq)} requesters/s arrive (${perReq.toFixed(1)} frames each); this crowd (${Math.round(requesters / 60)}/s) needs ≥ ${Math.ceil(peak / SOFT_LIMIT)} objects at its peak`);
      ctx.log(summary[summary.length - 1] as string);
    }
    const rows = Array.from({ length: seconds }, (_, i) => [i, ...cols.map((c) => c[i] ?? 0)]);
    return {
      csv: { header, rows: rows.filter((_, i) => i % 2 === 0) },
      chart: {
        title: `Hot content: ${requesters.toLocaleString("en")} requesters of one 8 MiB item within 60 s`,
        xLabel: "time, s", yLabel: "inbound frames/s on the busiest object (log)", logY: true,
        series: series.map((s) => ({ ...s, y: s.y.map((v) => Math.max(1, v)) })),
        hLines: [{ y: SOFT_LIMIT, label: "~1,000 req/s soft limit per Durable Object" }],
      },
      headline: summary,
      peers: requesters, events,
    };
  },
};
