/**
 * Preset 3 — availability: offload versus mean session length (30 s … 30 min) at a constant online
 * population, with and without one always-on supernode per continent pinning the top 50 assets.
 */
import { realPolicies } from "../policy-adapters";
import type { Preset, PresetContext, PresetResult } from "../preset";
import { runSwarm } from "../swarm-engine";
import { quantile } from "../swarm-metrics";
import { catalogueParams, POPULATION } from "./swarm-defaults";

const SESSIONS = [30, 60, 120, 227, 600, 1800];

export const availability: Preset = {
  name: "availability",
  description: "offload vs mean session length, with and without supernodes",
  run(ctx: PresetContext): PresetResult {
    const browsers = Math.max(200, Math.round(4000 * ctx.scale));
    const rows: (number | string)[][] = [];
    let events = 0, pinGb = 0;
    for (const session of SESSIONS) {
      const row: (number | string)[] = [session];
      for (const supernodes of [0, 1]) {
        const params = catalogueParams(ctx.seed, browsers);
        params.horizonS = 700;
        params.warmupS = 200;
        params.population = { ...POPULATION, supernodesPerContinent: supernodes };
        params.supernodePinTop = supernodes ? 50 : 0;
        if (params.workload.kind === "catalogue") params.workload = { ...params.workload, sessionMeanS: session, thinkMeanS: 30 };
        const r = runSwarm(params, realPolicies);
        events += r.events;
        const m = r.metrics;
        pinGb = Math.max(pinGb, m.totals.pinBytes / 1e9);
        const abandonedShare = m.totals.abandoned / Math.max(1, m.totals.downloads);
        row.push(m.offload, quantile(m.ttc, 0.5) / quantile(m.ttcEdgeOnly, 0.5), abandonedShare, Math.max(...m.perSecondMax));
        ctx.log(`availability: session ${session} s, supernodes ${supernodes ? "6" : "0"}: offload ${m.offload.toFixed(3)}, abandoned ${(abandonedShare * 100).toFixed(1)}%, peak msgs/s/object ${Math.max(...m.perSecondMax)}, pin egress ${(m.totals.pinBytes / 1e9).toFixed(1)} GB`);
      }
      rows.push(row);
    }
    const col = (k: number) => rows.map((r) => r[k] as number);
    return {
      csv: { header: ["mean_session_s", "offload", "ttc_p50_vs_edge", "abandoned_share", "max_msgs_per_object_s", "offload_supernodes", "ttc_p50_vs_edge_supernodes", "abandoned_share_supernodes", "max_msgs_per_object_s_supernodes"], rows },
      chart: {
        title: `Availability: ${browsers} browsers (25% online), offload vs session length`,
        xLabel: "mean session length, s (log)", yLabel: "share (offload: bytes from peers)", logX: true, yMin: 0, yMax: 1,
        series: [
          { name: "browsers only", x: SESSIONS, y: col(1), markers: true },
          { name: "+1 supernode/continent (top 50 pinned)", x: SESSIONS, y: col(5), markers: true },
          { name: "downloads abandoned (session ended)", x: SESSIONS, y: col(3), dashed: true },
        ],
      },
      headline: [
        `browsers only: ${rows.map((r) => `${r[0]} s→${(r[1] as number).toFixed(2)}`).join(", ")}`,
        `with supernodes: ${rows.map((r) => `${r[0]} s→${(r[5] as number).toFixed(2)}`).join(", ")} (their pins: ${pinGb.toFixed(1)} GB from the edge once)`,
        `downloads abandoned because the session ended: ${rows.map((r) => `${r[0]} s→${((r[3] as number) * 100).toFixed(0)}%`).join(", ")}`,
      ],
      peers: browsers + 6, events,
    };
  },
};
