/**
 * Preset 2 — throughput: "the total download capacity of a P2P network is throttled by its total
 * uplink capacity". Offload and time-to-complete versus the peers' uplink/downlink ratio.
 */
import { realPolicies } from "../policy-adapters";
import type { Preset, PresetContext, PresetResult } from "../preset";
import { runSwarm } from "../swarm-engine";
import { quantile } from "../swarm-metrics";
import { catalogueParams, POPULATION } from "./swarm-defaults";

const RATIOS = [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1];

export const throughput: Preset = {
  name: "throughput",
  description: "offload and completion time vs uplink/downlink ratio",
  run(ctx: PresetContext): PresetResult {
    const browsers = Math.max(200, Math.round(5000 * ctx.scale));
    const rows: (number | string)[][] = [];
    let events = 0;
    for (const ratio of RATIOS) {
      const params = catalogueParams(ctx.seed, browsers);
      params.population = { ...POPULATION, upDownRatio: ratio };
      const r = runSwarm(params, realPolicies);
      events += r.events;
      const m = r.metrics;
      const p50 = quantile(m.ttc, 0.5), p90 = quantile(m.ttc, 0.9);
      const e50 = quantile(m.ttcEdgeOnly, 0.5), e90 = quantile(m.ttcEdgeOnly, 0.9);
      rows.push([ratio, m.offload, p50, p90, e50, e90, p50 / e50, p90 / e90, m.totals.completed, m.totals.originBytes / 1e9, m.totals.edgeBytes / 1e9, m.totals.peerBytes / 1e9, Math.max(...m.perSecondMax)]);
      ctx.log(`throughput: up/down ${ratio}: offload ${m.offload.toFixed(3)}, TTC p50 ${p50.toFixed(1)} s (edge-only ${e50.toFixed(1)}), p90 ${p90.toFixed(1)} s (${e90.toFixed(1)}), ${m.totals.completed} downloads, deadline misses ${m.totals.deadlineMisses}`);
    }
    const col = (k: number) => rows.map((r) => r[k] as number);
    return {
      csv: { header: ["up_down_ratio", "offload", "ttc_p50_s", "ttc_p90_s", "edge_only_p50_s", "edge_only_p90_s", "ttc_p50_vs_edge", "ttc_p90_vs_edge", "downloads", "origin_gb", "edge_gb", "peer_gb", "max_msgs_per_object_s"], rows },
      chart: {
        title: `Throughput: ${browsers} browsers (25% online), 250 assets ~20 MB, per-continent swarms`,
        xLabel: "peer uplink / downlink", yLabel: "offload (share) · completion time ÷ edge-only", yMin: 0,
        series: [
          { name: "offload (bytes from peers)", x: RATIOS, y: col(1), markers: true },
          { name: "TTC p50 ÷ edge-only p50", x: RATIOS, y: col(6), markers: true },
          { name: "TTC p90 ÷ edge-only p90", x: RATIOS, y: col(7), markers: true, dashed: true },
        ],
        hLines: [{ y: 1, label: "edge-only completion time" }],
      },
      headline: [
        `offload ${rows.map((r) => `${r[0]}→${(r[1] as number).toFixed(2)}`).join(", ")} (up/down → offload)`,
        `median completion vs edge-only: ${rows.map((r) => `${r[0]}→×${(r[6] as number).toFixed(2)}`).join(", ")}`,
        `policies: ranking ${realPolicies.source.ranking}; picking ${realPolicies.source.picking}`,
      ],
      peers: browsers, events,
    };
  },
};
