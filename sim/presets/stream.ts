/**
 * Preset 5 — a stream on one collection swarm (issue 14 item 3): a 40-segment stream (2 s segments
 * of 512 KiB, ~2 Mbit/s), viewers joining over time, VOD and live. Each viewer opens ONE coordinator
 * socket for the whole stream (the collection swarm), asks for each segment (`want {item}`), links
 * to other viewers once per pair, announces what it holds (`have {item}`, paced like the SDK) and
 * reports stats every 5 s. Measured: coordinator frames per viewer per segment (target ≤ 10),
 * offload, the busiest object's frames/s — with the real ranking, picker and spill-over rules.
 */
import { realPolicies } from "../policy-adapters";
import type { Preset, PresetContext, PresetResult } from "../preset";
import { runSwarm, type StreamWorkload, type SwarmParams } from "../swarm-engine";
import { DEFAULT_SPILL_BUDGET } from "../../durable/spill-budget";
import { catalogueParams } from "./swarm-defaults";

const TARGET = 10;
const SEGMENTS = 40;
const RUNS: { id: string; name: string; live: boolean; arrivalS: number }[] = [
  { id: "vod", name: "VOD, viewers arriving over 10 min", live: false, arrivalS: 600 },
  { id: "live", name: "live, viewers arriving over the first 60 s", live: true, arrivalS: 60 },
];

export const stream: Preset = {
  name: "stream",
  description: "a 40-segment stream on one collection swarm, VOD and live: coordinator frames per viewer per segment (target ≤ 10)",
  run(ctx: PresetContext): PresetResult {
    const viewers = Math.max(100, Math.round(2000 * ctx.scale));
    const headline: string[] = [];
    const cols: number[][] = [];
    const header = ["t_s"];
    const series: { name: string; x: number[]; y: number[] }[] = [];
    let events = 0;
    let horizon = 0;
    for (const run of RUNS) {
      const workload: StreamWorkload = {
        kind: "stream", live: run.live, segments: SEGMENTS, segmentBytes: 512 * 1024, segmentS: 2, arrivalS: run.arrivalS,
        forwardBufferS: 30, liveSyncSegments: 3, seedMeanS: 30,
      };
      const params: SwarmParams = {
        ...catalogueParams(ctx.seed, viewers), workload, pieceBytes: 256 * 1024, window: 8,
        spillBudget: DEFAULT_SPILL_BUDGET, horizonS: run.arrivalS + SEGMENTS * 2 + 120, warmupS: 0, binS: 10,
      };
      horizon = Math.max(horizon, params.horizonS);
      const r = runSwarm(params, realPolicies);
      events += r.events;
      const m = r.metrics;
      const perSeg = m.totals.msgs / Math.max(1, m.totals.segments);
      const kinds = Object.entries(m.msgsByKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${(n / m.totals.segments).toFixed(2)}`).join(", ");
      const perSec = m.load.perSecondMax;
      headline.push(`${run.name}: ${viewers} viewers × ${SEGMENTS} segments, ${perSeg.toFixed(2)} coordinator frames per viewer per segment (target ≤ ${TARGET}; ${kinds}), ` +
        `${(m.totals.msgs / viewers).toFixed(1)} per viewer, 1 socket per viewer (${(m.msgsByKind.join ?? 0) / viewers} upgrades each incl. spill hops), ` +
        `offload ${m.offload.toFixed(3)}, busiest object peak ${Math.max(...perSec)} frames/s, ${r.objects} objects, ${m.totals.refused} refused, ${m.totals.deadlineMisses} deadline misses`);
      ctx.log(headline[headline.length - 1] as string);
      cols.push(perSec);
      header.push(`${run.id}_max_msgs_per_object`);
      series.push({ name: run.name, x: perSec.map((_, i) => i), y: perSec });
    }
    const rows = Array.from({ length: horizon }, (_, i) => [i, ...cols.map((c) => c[i] ?? 0)]);
    return {
      csv: { header, rows: rows.filter((_, i) => i % 2 === 0) },
      chart: {
        title: `A ${SEGMENTS}-segment stream on one collection swarm: ${viewers.toLocaleString("en")} viewers`,
        xLabel: "time, s", yLabel: "inbound frames/s on the busiest object",
        series,
      },
      headline, peers: viewers, events,
    };
  },
};
