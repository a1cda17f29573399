/**
 * Preset 2 — throughput: "the total download capacity of a P2P network is throttled by its total
 * uplink capacity". Offload and time-to-complete versus the peers' uplink/downlink ratio.
 */
import { realPolicies } from "../policy-adapters";
import type { Preset, PresetContext, PresetResult } from "../preset";
import { runSwarm } from "../swarm-engine";
import { quantile, type SwarmMetrics } from "../swarm-metrics";
import type { ChartSpec } from "../svg-chart";
import { catalogueParams, POPULATION } from "./swarm-defaults";

const RATIOS = [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1];
/** The ratio whose run is also reported over time (the population default). */
const TIMELINE_RATIO = 0.2;

export const throughput: Preset = {
  name: "throughput",
  description: "offload and completion time vs uplink/downlink ratio",
  run(ctx: PresetContext): PresetResult {
    const browsers = Math.max(200, Math.round(5000 * ctx.scale));
    const rows: (number | string)[][] = [];
    let events = 0;
    const kept = new Map<number, SwarmMetrics>();
    for (const ratio of RATIOS) {
      const params = catalogueParams(ctx.seed, browsers);
      params.population = { ...POPULATION, upDownRatio: ratio };
      const r = runSwarm(params, realPolicies);
      events += r.events;
      const m = r.metrics;
      if (ratio === TIMELINE_RATIO || ratio === 1) kept.set(ratio, m);
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
      extra: [timeline(kept.get(TIMELINE_RATIO) as SwarmMetrics, browsers), ttcCdf(kept)],
    };
  },
};

/** Per-bin outputs of one run: egress by source, offload, swarm size, coordinator load, storage. */
function timeline(m: SwarmMetrics, browsers: number): NonNullable<PresetResult["extra"]>[number] {
  const b = m.bins;
  const mbps = (bytes: number) => (bytes * 8) / m.binS / 1e6;
  const rows = b.peerBytes.map((_, i) => {
    const peer = b.peerBytes[i] ?? 0, edge = b.edgeBytes[i] ?? 0;
    return [i * m.binS / 60, b.online[i] ?? 0, mbps(peer), mbps(edge), mbps(b.originBytes[i] ?? 0), peer + edge ? peer / (peer + edge) : 0, b.maxSwarm[i] ?? 0, b.maxMsgsPerObject[i] ?? 0, b.storageUsed[i] ?? 0];
  });
  const col = (k: number) => rows.map((r) => r[k] as number);
  const chart: ChartSpec = {
    title: `Timeline: ${browsers} browsers, up/down ${TIMELINE_RATIO}, egress by source`,
    xLabel: "time, min (first 5 min: warm-up, stores start empty)", yLabel: "Mbit/s", yMin: 0,
    series: [
      { name: "from peers", x: col(0), y: col(2), markers: true },
      { name: "edge egress", x: col(0), y: col(3), markers: true },
      { name: "origin egress", x: col(0), y: col(4), markers: true, dashed: true },
    ],
  };
  return { name: "timeline", csv: { header: ["t_min", "online_max", "peer_mbps", "edge_mbps", "origin_mbps", "offload", "max_swarm_sockets", "max_msgs_per_object_s", "storage_used_share"], rows }, chart };
}

/** Completion-time distributions (after warm-up): swarm vs edge-only, at two uplink ratios. */
function ttcCdf(kept: Map<number, SwarmMetrics>): NonNullable<PresetResult["extra"]>[number] {
  const qs = Array.from({ length: 21 }, (_, i) => i / 20).map((q) => Math.min(0.99, Math.max(0.01, q)));
  const series: ChartSpec["series"][number][] = [];
  const header = ["quantile"];
  const cols: number[][] = [];
  for (const [ratio, m] of kept) {
    cols.push(qs.map((q) => quantile(m.ttc, q)));
    header.push(`ttc_s_updown_${ratio}`);
    series.push({ name: `swarm, up/down ${ratio}`, x: cols[cols.length - 1] as number[], y: qs, markers: true });
  }
  const edge = qs.map((q) => quantile((kept.get(TIMELINE_RATIO) as SwarmMetrics).ttcEdgeOnly, q));
  cols.push(edge);
  header.push("ttc_s_edge_only");
  series.push({ name: "edge only (same requests)", x: edge, y: qs, dashed: true });
  return {
    name: "ttc",
    csv: { header, rows: qs.map((q, i) => [q, ...cols.map((c) => c[i] as number)]) },
    chart: { title: "Time to complete: swarm vs edge-only (CDF)", xLabel: "seconds (log)", yLabel: "share of downloads completed", logX: true, yMin: 0, yMax: 1, series },
  };
}
