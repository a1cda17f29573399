/**
 * The site numbers' contract: what the edge and the swarm coordinators send to a site's aggregator
 * (`SiteStats`, one Durable Object per route), its limits, and the JSON the dashboard serves
 * (`GET /dashboard/data`, documented in docs/dashboard.md). Pure: no platform imports.
 *
 * A "site" is one configured route prefix (`ROUTES` key, e.g. `/demo/`).
 */
import type { HealthCounters } from "../protocol/swarm-protocol";

/** Cumulative byte counters of one coordinator object (peers that left included), as it stores them. */
export interface SwarmByteTotals {
  fromPeers: number;
  fromEdge: number;
  uploaded: number;
}

/** Swarm-health counters (protocol's `HealthCounters`: hash failures, bans, edge-lane and deadline bytes). */
export type SwarmHealth = HealthCounters;

/** The zero health counters. */
export const emptyHealth = (): SwarmHealth => ({ hashFailures: 0, bannedPeers: 0, edgeLaneBytes: 0, deadlineFallbackBytes: 0 });

/**
 * One coordinator object's report (`swarm:<root>:<shard>`): its cumulative totals and gauges.
 * Cumulative, so a lost or repeated report is harmless (the aggregator keeps the max per field).
 */
export interface SwarmReport {
  root: string;
  /** The object's shard name (`EU`, `EU~1`, …): with `root` it names the object. */
  shard: string;
  bytes: SwarmByteTotals;
  /** Cumulative health counters, clamped per peer by the coordinator (absent from older coordinators). */
  health?: SwarmHealth;
  /** Members online now. */
  peersOnline: number;
}

/** Edge-measured counters of one site over one batch (deltas), from the Worker's `/c/` and `/m/` paths. */
export interface EdgeBatch {
  /** `/c/` responses by cache outcome. */
  hits: number;
  misses: number;
  /** Anything else: STALE, REVALIDATED, BYPASS (not publicly cacheable), errors. */
  other: number;
  /** Body bytes the edge sent on `/c/` (declared lengths; 304/HEAD count 0). */
  edgeBytes: number;
  /** Bytes the edge fetched from the origin (a full object per `/c/` or `/m/` miss, pass-through bodies). */
  originBytes: number;
  /** Edge bytes per content path (bounded: {@link MAX_BATCH_PATHS}). */
  paths: Record<string, number>;
  /** Manifests issued (one per `swarm.fetch` that joins a swarm), per root. */
  fetches: Record<string, { path: string; size: number; count: number }>;
}

/** The empty batch. */
export const emptyEdgeBatch = (): EdgeBatch => ({ hits: 0, misses: 0, other: 0, edgeBytes: 0, originBytes: 0, paths: {}, fetches: {} });

/** Tunables of the aggregation (tests override them on a live object). */
export interface SiteStatsLimits {
  /** Minute rows older than this are rolled up into hour rows (24 h). */
  minuteKeepMs: number;
  /** Hour rows and idle items older than this are deleted (30 days; the series is kept ≥ 7 days). */
  hourKeepMs: number;
  /** A coordinator's gauges count as "online" this long after its last report. */
  gaugeFreshMs: number;
  /**
   * Most bytes per second one online peer can add to an item's accepted total (a browser data
   * channel moves ~2–6 MB/s on this machine; 64 MiB/s is far above any real peer).
   */
  peerBytesPerSecond: number;
  /** Items remembered per site (least recently active dropped first). */
  maxItems: number;
  /** Coordinator objects remembered per site. */
  maxSources: number;
}

export const DEFAULT_SITE_LIMITS: Readonly<SiteStatsLimits> = {
  minuteKeepMs: 24 * 3_600_000,
  hourKeepMs: 30 * 24 * 3_600_000,
  gaugeFreshMs: 5 * 60_000,
  peerBytesPerSecond: 64 * 1024 * 1024,
  maxItems: 10_000,
  maxSources: 50_000,
};

/** Most paths one edge batch carries (the busiest; the rest still count in the site's totals). */
export const MAX_BATCH_PATHS = 256;
/** Most roots one edge batch registers. */
export const MAX_BATCH_FETCHES = 256;
/** Largest counter value accepted anywhere (2^53 − 1 would overflow SQLite sums; 2^50 B = 1 PiB). */
export const MAX_COUNTER = 2 ** 50;
/** Items per top list in a snapshot. */
export const TOP_ITEMS = 20;

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Start of the minute / hour of `t` (Unix ms). */
export const minuteOf = (t: number): number => Math.floor(t / MINUTE) * MINUTE;
export const hourOf = (t: number): number => Math.floor(t / HOUR) * HOUR;

/** One point of a time series (a minute, or an hour after the roll-up). */
export interface SeriesPoint {
  /** Start of the interval, Unix ms. */
  t: number;
  /** Interval length, ms (60,000 or 3,600,000). */
  step: number;
  peerBytes: number;
  edgeBytes: number;
  originBytes: number;
  uploaded: number;
  hits: number;
  misses: number;
  fetches: number;
  /** Health counters' growth in the interval (hashFailures, bannedPeers, edgeLaneBytes, deadlineFallbackBytes). */
  hashFailures: number;
  bannedPeers: number;
  edgeLaneBytes: number;
  deadlineFallbackBytes: number;
  /** Highest peers-online seen in the interval. */
  peersOnline: number;
  /** Highest number of active swarm objects seen in the interval. */
  swarms: number;
}

/** One content item in a top list. */
export interface TopItem {
  path: string;
  size: number;
  /** Manifests issued (swarm fetches). */
  fetches: number;
  /** Accepted (bounded) peer-delivered bytes. */
  peerBytes: number;
  /** Edge-measured bytes of this path. */
  edgeBytes: number;
  offload: number;
  peersOnline: number;
}

/** Totals of a site (or of all sites) over a window. */
export interface SiteTotals {
  peerBytes: number;
  edgeBytes: number;
  originBytes: number;
  uploaded: number;
  /** peerBytes / (peerBytes + edgeBytes); 0 when nothing was delivered. */
  offload: number;
  /** Bytes delivered to visitors that the origin did not have to send: peer + edge − origin (≥ 0). */
  originBytesSaved: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses); 0 without requests. */
  cacheHitRatio: number;
  fetches: number;
  /** Claimed peer bytes the bounds refused (what lying or broken clients tried to add). */
  rejectedBytes: number;
  /** Chunks peers sent that failed their hash check (as reported by the receiving peers, clamped). */
  hashFailures: number;
  /** Peers banned by other peers for bad bytes (a peer banned by two counts twice). */
  bannedPeers: number;
  /** Edge bytes served on the edge lane (the edge racing slow peers). */
  edgeLaneBytes: number;
  /** Edge bytes served because a peer missed a chunk deadline. */
  deadlineFallbackBytes: number;
}

/** What one site's aggregator answers (`snapshot()`), and one entry of `/dashboard/data`'s `sites`. */
export interface SiteSnapshot {
  site: string;
  /** Unix ms of the snapshot. */
  now: number;
  /** Totals over the whole kept series. */
  totals: SiteTotals;
  /** Totals over the last 24 h. */
  last24h: SiteTotals;
  /** Gauges now: members online (summed over swarm objects; one browser in two swarms counts twice). */
  peersOnline: number;
  /** Swarm objects with a fresh report and ≥ 1 member. */
  swarmsActive: number;
  /** Oldest first: hour points beyond 24 h, then minute points. */
  series: SeriesPoint[];
  topByBytes: TopItem[];
  topByPeers: TopItem[];
}

/** `GET /dashboard/data`. */
export interface DashboardData {
  /** Schema version of this document. */
  version: 1;
  now: number;
  /** Where `series`, `totals` and `last24h` were read: the SiteStats objects, or Analytics Engine (`?source=analytics`). */
  source: "sqlite" | "analytics";
  /** Whether the Analytics Engine reader is configured (the page then offers it). */
  analytics: boolean;
  /** The sites this token may see. */
  sites: SiteSnapshot[];
  /** Sum over `sites` (series summed per timestamp; top lists merged). */
  overall: Omit<SiteSnapshot, "site"> & { site: "*" };
}

/** Offload ratio of a pair of byte counts. */
export const offloadOf = (peer: number, edge: number): number => (peer + edge === 0 ? 0 : peer / (peer + edge));

/** Edge cache hit ratio of a pair of counts. */
export const hitRatioOf = (hits: number, misses: number): number => (hits + misses === 0 ? 0 : hits / (hits + misses));

/** The counters of {@link SiteTotals}, without what is derived from them. */
export type SiteCounters = Omit<SiteTotals, "offload" | "originBytesSaved" | "cacheHitRatio">;

/**
 * Totals with their derived ratios, computed one way for every reader (the SiteStats objects and
 * Analytics Engine): offload, origin bytes saved (peer + edge − origin, ≥ 0), cache hit ratio.
 */
export function siteTotals(c: SiteCounters): SiteTotals {
  return {
    ...c,
    offload: offloadOf(c.peerBytes, c.edgeBytes),
    originBytesSaved: Math.max(0, c.peerBytes + c.edgeBytes - c.originBytes),
    cacheHitRatio: hitRatioOf(c.hits, c.misses),
  };
}

/** A finite, non-negative, integral counter no larger than {@link MAX_COUNTER}; anything else is 0. */
export function counter(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.min(Math.floor(v), MAX_COUNTER) : 0;
}
