/**
 * `GET /dashboard/data`'s document (`DashboardData`, docs/dashboard.md): the snapshots of the sites a
 * token may see, and their sum. Pure.
 */
import {
  type DashboardData, type SeriesPoint, type SiteSnapshot, type SiteTotals, type TopItem,
  TOP_ITEMS, hitRatioOf, offloadOf,
} from "../durable/site-stats-model";

/** Series windows the endpoint accepts (`?window=`), in ms. */
export const WINDOWS: Readonly<Record<string, number>> = {
  "15m": 15 * 60_000, "1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 24 * 3_600_000, "7d": 7 * 24 * 3_600_000, "30d": 30 * 24 * 3_600_000,
  // Analytics Engine keeps 3 months; the SiteStats objects 30 days (a longer window shows what they keep).
  "90d": 90 * 24 * 3_600_000,
};
export const DEFAULT_WINDOW = "1h";

function addTotals(a: SiteTotals, b: SiteTotals): SiteTotals {
  const s = {
    peerBytes: a.peerBytes + b.peerBytes, edgeBytes: a.edgeBytes + b.edgeBytes, originBytes: a.originBytes + b.originBytes,
    uploaded: a.uploaded + b.uploaded, hits: a.hits + b.hits, misses: a.misses + b.misses, fetches: a.fetches + b.fetches,
    rejectedBytes: a.rejectedBytes + b.rejectedBytes,
    hashFailures: a.hashFailures + b.hashFailures, bannedPeers: a.bannedPeers + b.bannedPeers,
    edgeLaneBytes: a.edgeLaneBytes + b.edgeLaneBytes, deadlineFallbackBytes: a.deadlineFallbackBytes + b.deadlineFallbackBytes,
  };
  return {
    ...s, offload: offloadOf(s.peerBytes, s.edgeBytes), originBytesSaved: a.originBytesSaved + b.originBytesSaved,
    cacheHitRatio: hitRatioOf(s.hits, s.misses),
  };
}

const ZERO: SiteTotals = {
  peerBytes: 0, edgeBytes: 0, originBytes: 0, uploaded: 0, offload: 0, originBytesSaved: 0, hits: 0, misses: 0, cacheHitRatio: 0, fetches: 0, rejectedBytes: 0,
  hashFailures: 0, bannedPeers: 0, edgeLaneBytes: 0, deadlineFallbackBytes: 0,
};

/** Series of several sites summed per (interval start, step); gauges add too (distinct objects). */
function addSeries(all: SeriesPoint[][]): SeriesPoint[] {
  const m = new Map<string, SeriesPoint>();
  for (const series of all)
    for (const p of series) {
      const k = `${p.step}:${p.t}`;
      const q = m.get(k);
      if (!q) m.set(k, { ...p });
      else
        for (const f of ["peerBytes", "edgeBytes", "originBytes", "uploaded", "hits", "misses", "fetches",
          "hashFailures", "bannedPeers", "edgeLaneBytes", "deadlineFallbackBytes", "peersOnline", "swarms"] as const) q[f] += p[f];
    }
  return [...m.values()].sort((a, b) => a.t - b.t || b.step - a.step);
}

const topBy = (items: TopItem[], key: (i: TopItem) => number) => [...items].sort((a, b) => key(b) - key(a) || a.path.localeCompare(b.path)).slice(0, TOP_ITEMS);

/**
 * The document for a list of site snapshots.
 * @example
 * dashboardData([await stub.snapshot("/demo/", since)], Date.now());
 */
export function dashboardData(sites: SiteSnapshot[], now: number, read: Pick<DashboardData, "source" | "analytics"> = { source: "sqlite", analytics: false }): DashboardData {
  let totals = ZERO, last24h = ZERO, peersOnline = 0, swarmsActive = 0;
  for (const s of sites) {
    totals = addTotals(totals, s.totals);
    last24h = addTotals(last24h, s.last24h);
    peersOnline += s.peersOnline;
    swarmsActive += s.swarmsActive;
  }
  return {
    version: 1,
    now,
    ...read,
    sites,
    overall: {
      site: "*", now, totals, last24h, peersOnline, swarmsActive,
      series: addSeries(sites.map((s) => s.series)),
      topByBytes: topBy(sites.flatMap((s) => s.topByBytes), (i) => i.peerBytes + i.edgeBytes),
      topByPeers: topBy(sites.flatMap((s) => s.topByPeers), (i) => i.peersOnline),
    },
  };
}
