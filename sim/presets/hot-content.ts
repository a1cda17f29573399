/**
 * Preset 4 — hot content: one 8 MiB item goes viral, 100,000 browsers request it within a minute.
 * Inbound frames per second on the busiest coordinator object, with one object per item ("global")
 * and with one per item × continent (the default shard), against the ~1,000 req/s soft limit of
 * one Durable Object.
 */
import { realPolicies } from "../policy-adapters";
import type { Preset, PresetContext, PresetResult } from "../preset";
import { runSwarm, type SwarmParams } from "../swarm-engine";
import { quantile } from "../swarm-metrics";
import { catalogueParams } from "./swarm-defaults";

const SOFT_LIMIT = 1000;

export const hotContent: Preset = {
  name: "hot-content",
  description: "viral item, 100k requesters in 60 s: coordinator msgs/s per object, global vs per-continent shards",
  run(ctx: PresetContext): PresetResult {
    const requesters = Math.max(500, Math.round(100_000 * ctx.scale));
    const series: { name: string; x: number[]; y: number[] }[] = [];
    const summary: string[] = [];
    const cols: number[][] = [];
    let events = 0;
    let seconds = 0;
    for (const shardBy of ["global", "continent"] as const) {
      const params: SwarmParams = {
        ...catalogueParams(ctx.seed, requesters),
        workload: { kind: "flash", itemBytes: 8 * 1024 * 1024, rampS: 60, seedMeanS: 227 },
        shardBy, horizonS: 240, warmupS: 0, binS: 10,
      };
      const r = runSwarm(params, realPolicies);
      events += r.events;
      const m = r.metrics;
      const perSec = m.perSecondMax.slice(0, params.horizonS);
      seconds = perSec.length;
      cols.push(perSec, m.perSecondObjects.slice(0, params.horizonS));
      const peak = Math.max(...perSec);
      const over = perSec.filter((v) => v > SOFT_LIMIT).length;
      series.push({ name: shardBy === "global" ? "one object per item" : "one object per item × continent", x: perSec.map((_, i) => i), y: perSec });
      summary.push(`${shardBy}: peak ${peak} inbound msgs/s on one object (${over} s above ${SOFT_LIMIT}/s), largest swarm ${Math.max(...m.bins.maxSwarm)} sockets, offload ${m.offload.toFixed(3)}, TTC p50 ${quantile(m.ttc, 0.5).toFixed(1)} s vs edge-only ${quantile(m.ttcEdgeOnly, 0.5).toFixed(1)} s, ${(m.totals.msgs / requesters).toFixed(1)} msgs per requester`);
      if (shardBy === "global") summary.push(`objects needed to stay under ${SOFT_LIMIT}/s at the global peak: ≥ ${Math.ceil(peak / SOFT_LIMIT)} (e.g. shard by colo, or hash(peer) sub-shards within a continent)`);
      ctx.log(summary[summary.length - 1] as string);
    }
    const rows = Array.from({ length: seconds }, (_, i) => [i, ...cols.map((c) => c[i] ?? 0)]);
    return {
      csv: { header: ["t_s", "global_max_msgs_per_object", "global_objects", "continent_max_msgs_per_object", "continent_objects"], rows: rows.filter((_, i) => i % 2 === 0) },
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
