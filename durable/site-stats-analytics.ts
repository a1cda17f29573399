/**
 * The site numbers' layout in Workers Analytics Engine (the optional production sink, binding
 * `DASHBOARD_ANALYTICS`): what the aggregator writes (`site-stats.ts`, `writeDataPoint`) and what the
 * dashboard's reader queries (`functions/dashboard-analytics.ts`, the SQL API) — one contract, both
 * sides. Pure.
 *
 * Every point: `indexes: [site]` (the sampling key: one site's points are sampled together),
 * `blobs: [site, kind, path]`, `doubles` by kind (below). Counters are increments (sum them, each
 * weighted by `_sample_interval`); gauges are values at the report (take the max per interval).
 */

/** Point kinds (`blob2`) and their doubles, in order (`double1` …). */
export const ANALYTICS_KINDS = {
  /** One edge batch: edge-measured counters, and the manifests it counted. */
  edge: ["edgeBytes", "originBytes", "hits", "misses", "other", "fetches"],
  /** An accepted increment of one item's peer bytes (`blob3`: the item's path). */
  peers: ["peerBytes", "uploaded"],
  /** Growth of the swarm-health counters in one coordinator report. */
  health: ["hashFailures", "bannedPeers", "edgeLaneBytes", "deadlineFallbackBytes"],
  /** The site's gauges after one coordinator report (max per interval, not a sum). */
  gauges: ["peersOnline", "swarms"],
} as const;

/** A point kind. */
export type AnalyticsKind = keyof typeof ANALYTICS_KINDS;

/**
 * Most data points one aggregator call writes: Analytics Engine takes at most 250 per invocation
 * (developers.cloudflare.com/analytics/analytics-engine/limits); one call writes its edge, health
 * and gauge points, then accepted increments up to this, the rest merged into one (path `*`).
 */
export const MAX_POINTS_PER_CALL = 200;

/** Longest index Analytics Engine accepts, bytes (a longer route prefix is cut). */
const MAX_INDEX = 96;

/**
 * One data point of the layout.
 * @example
 * dataset.writeDataPoint(analyticsPoint("/demo/", "peers", "/demo/a.mp4", [1024, 0]));
 */
export function analyticsPoint(site: string, kind: AnalyticsKind, path: string, doubles: readonly number[]): AnalyticsEngineDataPoint {
  return { indexes: [cutUtf8(site, MAX_INDEX)], blobs: [site, kind, path.slice(0, 1024)], doubles: [...doubles] };
}

/** The longest prefix of `s` whose UTF-8 encoding fits `max` bytes. */
export function cutUtf8(s: string, max: number): string {
  const enc = new TextEncoder();
  if (enc.encode(s).byteLength <= max) return s;
  let out = "";
  for (const ch of s) {
    if (enc.encode(out + ch).byteLength > max) break;
    out += ch;
  }
  return out;
}
