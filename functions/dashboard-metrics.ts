/**
 * `GET /dashboard/metrics`: the site numbers in the Prometheus text exposition format (version
 * 0.0.4): one sample per site, labelled `site="<route prefix>"`. Counters are the totals over the
 * kept series (they reset only when retention drops old rows, which Prometheus' `rate()` tolerates).
 * Pure.
 */
import type { SiteSnapshot } from "../durable/site-stats-model";

/** Content type of the text format (Prometheus exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

// Exposition format: label values escape backslash, double quote and line feed.
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

const METRICS: { name: string; type: "counter" | "gauge"; help: string; value: (s: SiteSnapshot) => number }[] = [
  { name: "edgeswarm_peer_bytes_total", type: "counter", help: "Bytes delivered peer-to-peer (claims, bounded by edge-witnessed fetches).", value: (s) => s.totals.peerBytes },
  { name: "edgeswarm_edge_bytes_total", type: "counter", help: "Bytes the edge sent on /c/ (measured at the edge).", value: (s) => s.totals.edgeBytes },
  { name: "edgeswarm_origin_bytes_total", type: "counter", help: "Bytes the edge fetched from the origin.", value: (s) => s.totals.originBytes },
  { name: "edgeswarm_origin_bytes_saved_total", type: "counter", help: "Bytes delivered that the origin did not send (peer + edge - origin).", value: (s) => s.totals.originBytesSaved },
  { name: "edgeswarm_uploaded_bytes_total", type: "counter", help: "Bytes peers uploaded (claims, bounded).", value: (s) => s.totals.uploaded },
  { name: "edgeswarm_edge_cache_hits_total", type: "counter", help: "/c/ responses served from the edge cache.", value: (s) => s.totals.hits },
  { name: "edgeswarm_edge_cache_misses_total", type: "counter", help: "/c/ responses filled from the origin.", value: (s) => s.totals.misses },
  { name: "edgeswarm_swarm_fetches_total", type: "counter", help: "Manifests issued (downloads that join a swarm).", value: (s) => s.totals.fetches },
  { name: "edgeswarm_hash_failures_total", type: "counter", help: "Chunks peers sent that failed their SHA-256 check (reported by receivers, clamped).", value: (s) => s.totals.hashFailures },
  { name: "edgeswarm_banned_peers_total", type: "counter", help: "Peers banned by other peers for bad bytes.", value: (s) => s.totals.bannedPeers },
  { name: "edgeswarm_edge_lane_bytes_total", type: "counter", help: "Edge bytes served on the edge lane (racing slow peers).", value: (s) => s.totals.edgeLaneBytes },
  { name: "edgeswarm_deadline_fallback_bytes_total", type: "counter", help: "Edge bytes served because a peer missed a chunk deadline.", value: (s) => s.totals.deadlineFallbackBytes },
  { name: "edgeswarm_rejected_peer_bytes", type: "gauge", help: "Claimed peer bytes held back by the bounds now.", value: (s) => s.totals.rejectedBytes },
  { name: "edgeswarm_offload_ratio", type: "gauge", help: "peer / (peer + edge) bytes over the kept series.", value: (s) => s.totals.offload },
  { name: "edgeswarm_edge_cache_hit_ratio", type: "gauge", help: "hits / (hits + misses) over the kept series.", value: (s) => s.totals.cacheHitRatio },
  { name: "edgeswarm_peers_online", type: "gauge", help: "Swarm members online (one browser in two swarms counts twice).", value: (s) => s.peersOnline },
  { name: "edgeswarm_swarms_active", type: "gauge", help: "Swarm objects with at least one member.", value: (s) => s.swarmsActive },
];

/**
 * The exposition text for these sites.
 * @example
 * prometheusText([snapshot]); // "# HELP edgeswarm_peer_bytes_total …\n# TYPE … counter\nedgeswarm_peer_bytes_total{site=\"/demo/\"} 123\n…"
 */
export function prometheusText(sites: readonly SiteSnapshot[]): string {
  const lines: string[] = [];
  for (const m of METRICS) {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of sites) lines.push(`${m.name}{site="${label(s.site)}"} ${m.value(s)}`);
  }
  return lines.join("\n") + "\n";
}
