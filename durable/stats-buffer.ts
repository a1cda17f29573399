/**
 * Batches the peers' `stats` frames in memory and writes them to SQLite in one go, instead of an
 * upsert per frame. Safe to lose only in a narrow window, by construction: counters are cumulative
 * and merged with max() per field (idempotent), so a peer's next frame restores whatever a lost batch
 * held; the coordinator flushes on the alarm it arms for `statsFlushMs` after the first buffered frame
 * (workerd evicts a hibernatable object only after ~10 s without events, so the alarm comes first),
 * and before answering `stats()`.
 */
import { HEALTH_COUNTERS, type HealthCounters } from "../protocol/swarm-protocol";
import type { ByteCounters, SwarmStore } from "./swarm-store";

/** What one peer's `stats` frame carries, after clamping (health counters 0 when an old client sent none). */
export type PeerCounters = ByteCounters & HealthCounters;

/**
 * A `stats` frame's counters clamped to what one peer could have moved: `fromPeers` and `fromEdge`
 * each at most `maxDownloadCopies` copies of the item (`size`, from the join token), `uploaded` at
 * most one copy plus `maxPeerBytesPerSecond` for the time its socket has been connected. So one
 * lying peer moves the swarm's offload by no more than an honest peer's download could.
 * @example
 * clampCounters({ fromPeers: Number.MAX_SAFE_INTEGER, fromEdge: 0, uploaded: 0 }, { size: 1e6, chunks: 4 }, 10_000, limits).fromPeers; // 2e6
 */
export function clampCounters(
  c: ByteCounters & Partial<HealthCounters>, item: { size: number; chunks: number }, connectedMs: number,
  limits: { maxDownloadCopies: number; maxPeerBytesPerSecond: number },
): PeerCounters {
  const down = item.size * limits.maxDownloadCopies;
  const up = item.size + (Math.max(0, connectedMs) / 1000) * limits.maxPeerBytesPerSecond;
  const fromEdge = Math.min(c.fromEdge, down);
  const hashFailures = Math.min(c.hashFailures ?? 0, item.chunks * limits.maxDownloadCopies);
  return {
    fromPeers: Math.min(c.fromPeers, down), fromEdge, uploaded: Math.floor(Math.min(c.uploaded, up)),
    hashFailures, bannedPeers: Math.min(c.bannedPeers ?? 0, hashFailures),
    edgeLaneBytes: Math.min(c.edgeLaneBytes ?? 0, fromEdge), deadlineFallbackBytes: Math.min(c.deadlineFallbackBytes ?? 0, fromEdge),
  };
}

/**
 * Pending counters per peer (max per field), written by {@link flush}.
 * @example
 * const buf = new StatsBuffer(store);
 * if (buf.add(peerId, { fromPeers: 10, fromEdge: 5, uploaded: 0 }, now)) armFlushAlarm();
 * buf.flush();
 */
export class StatsBuffer {
  readonly #store: SwarmStore;
  #pending = new Map<string, { c: PeerCounters; at: number }>();

  constructor(store: SwarmStore) {
    this.#store = store;
  }

  /** Buffers one frame; returns true when the buffer was empty (the caller arranges a flush). */
  add(peerId: string, c: PeerCounters, now: number): boolean {
    const wasEmpty = this.#pending.size === 0;
    const p = this.#pending.get(peerId);
    if (!p) this.#pending.set(peerId, { c: { ...c }, at: now });
    else {
      for (const k of ["fromPeers", "fromEdge", "uploaded", ...HEALTH_COUNTERS] as const) p.c[k] = Math.max(p.c[k], c[k]);
      p.at = now;
    }
    return wasEmpty;
  }

  /** Writes every buffered peer's counters (one upsert each; one implicit transaction per event). */
  flush(): void {
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [peerId, p] of pending) this.#store.recordStats(peerId, p.c, p.at);
  }
}
