/**
 * Preset 4 — hot content: one 8 MiB item goes viral, 100,000 browsers request it within a minute.
 * Inbound frames per second on the busiest coordinator object against the ~1,000 req/s soft limit
 * of one Durable Object, for one object per item ("global"), per item × continent (the edge's
 * default SHARD_BY) and per item × colo — first with no socket cap (the demand); then per continent
 * with MAX_PEERS_PER_SHARD (2,000) sockets per object, as a hard cap (before spill-over: refused
 * peers fetch from the edge and retry) and as deployed now: a full object spills joins over to
 * sub-shards `<shard>~1` … (MAX_SUBSHARDS objects per shard, window SPILL_WINDOW; `swarm-objects.ts`),
 * first only when full, then as deployed: also when busy (its request budget spent,
 * `durable/spill-budget.ts`), which widens the spread so sub-shards fill side by side.
 * The uncapped run simulates continent swarms and also counts its frames per global and per colo
 * object (`alsoCount`): frames per requester differ by < 0.5% between separately simulated
 * shardings (50.9 / 50.7 / 50.8 at seed 1), and one run instead of three keeps the preset < 2 min.
 */
import { realPolicies } from "../policy-adapters";
import type { Preset, PresetContext, PresetResult } from "../preset";
import { MAX_PEERS_PER_SHARD } from "../coordinator-costs";
import { runSwarm, type SwarmParams } from "../swarm-engine";
import { DEFAULT_MAX_SUBSHARDS, SPILL_WINDOW } from "../swarm-objects";
import { DEFAULT_SPILL_BUDGET, SPILL_FRAME_BUDGET } from "../../durable/spill-budget";
import { quantile } from "../swarm-metrics";
import { catalogueParams } from "./swarm-defaults";

const SOFT_LIMIT = 1000;
const RUNS = [
  { id: "continent", cap: Infinity, subshards: 1, budget: false, also: ["global", "colo"] },
  { id: "continent_capped", cap: MAX_PEERS_PER_SHARD, subshards: 1, budget: false, also: [] },
  { id: "continent_spill_full", cap: MAX_PEERS_PER_SHARD, subshards: DEFAULT_MAX_SUBSHARDS, budget: false, also: [] },
  { id: "continent_spill", cap: MAX_PEERS_PER_SHARD, subshards: DEFAULT_MAX_SUBSHARDS, budget: true, also: [] },
] as const;
const NAMES: Record<string, string> = {
  global: "one object per item (no cap)",
  continent: "per item × continent (no cap)",
  colo: "per item × colo, 18 metros (no cap)",
  continent_capped: `per continent, ${MAX_PEERS_PER_SHARD}-socket hard cap (before spill-over)`,
  continent_spill_full: `per continent + spill-over when full only, ≤ ${DEFAULT_MAX_SUBSHARDS} × ${MAX_PEERS_PER_SHARD} sockets`,
  continent_spill: `per continent + spill-over when full or busy (> ${SPILL_FRAME_BUDGET} req/s), as deployed now`,
};

export const hotContent: Preset = {
  name: "hot-content",
  description: "viral item, 100k requesters in 60 s: coordinator msgs/s per object, global vs continent vs colo shards, socket cap, spill-over",
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
        shardBy: "continent", maxPeersPerShard: run.cap, maxSubshards: run.subshards, spillBudget: run.budget ? DEFAULT_SPILL_BUDGET : null, alsoCount: run.also, horizonS: 120, warmupS: 0, binS: 10,
      };
      const r = runSwarm(params, realPolicies);
      events += r.events;
      const m = r.metrics;
      const perReq = m.totals.msgs / requesters;
      const loads = [[run.id, m.load] as const, ...[...r.alsoCounted].map(([by, load]) => [by, load] as const)];
      for (const [id, load] of loads) {
        const perSec = load.perSecondMax.slice(0, params.horizonS);
        seconds = perSec.length;
        cols.push(perSec, load.perSecondObjects.slice(0, params.horizonS));
        header.push(`${id}_max_msgs_per_object`, `${id}_objects`);
        const peak = Math.max(...perSec);
        const over = perSec.filter((v) => v > SOFT_LIMIT).length;
        series.push({ name: NAMES[id] as string, x: perSec.map((_, i) => i), y: perSec });
        // The first seconds fill sub-shard 0 before anything can spill: also the peak after them.
        const later = Math.max(...perSec.slice(10, 60));
        summary.push(`${NAMES[id]}: peak ${peak} inbound frames/s on one object (${later} over seconds 10–60; ${over} s above ${SOFT_LIMIT}/s; ${Math.max(...load.perSecondObjects)} objects)`);
        if (id === "global") summary.push(`one object stays under ${SOFT_LIMIT}/s while fewer than ≈ ${Math.floor(SOFT_LIMIT / perReq)} requesters/s arrive (${perReq.toFixed(1)} frames each); this crowd (${Math.round(requesters / 60)}/s) needs ≥ ${Math.ceil(peak / SOFT_LIMIT)} objects at its peak`);
      }
      summary.push(`${NAMES[run.id]}, swarm: largest ${Math.max(...m.bins.maxSwarm)} sockets, ${r.objects} objects (≤ ${r.maxObjectsPerShard} per continent), ${m.totals.refused} refused joins, ${m.totals.spillHops} spill hops (503)${run.subshards > 1 ? `, spill window ${SPILL_WINDOW}` : ""}, offload ${m.offload.toFixed(3)}, TTC p50 ${quantile(m.ttc, 0.5).toFixed(1)} s vs edge-only ${quantile(m.ttcEdgeOnly, 0.5).toFixed(1)} s, ${perReq.toFixed(1)} frames per requester (${Object.entries(m.msgsByKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${(n / requesters).toFixed(1)}`).join(", ")})`);
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
