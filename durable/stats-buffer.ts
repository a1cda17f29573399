/**
 * Batches the peers' `stats` frames in memory and writes them to SQLite in one go, instead of an
 * upsert per frame. Safe to lose only in a narrow window, by construction: counters are cumulative
 * and merged with max() per field (idempotent), so a peer's next frame restores whatever a lost batch
 * held; the coordinator flushes on the alarm it arms for `statsFlushMs` after the first buffered frame
 * (workerd evicts a hibernatable object only after ~10 s without events, so the alarm comes first),
 * and before answering `stats()`.
 */
import type { ByteCounters, SwarmStore } from "./swarm-store";

/**
 * A `stats` frame's counters clamped to what one peer could have moved: `fromPeers` and `fromEdge`
 * each at most `maxDownloadCopies` copies of the item (`size`, from the join token), `uploaded` at
 * most one copy plus `maxPeerBytesPerSecond` for the time its socket has been connected. So one
 * lying peer moves the swarm's offload by no more than an honest peer's download could.
 * @example
 * clampCounters({ fromPeers: Number.MAX_SAFE_INTEGER, fromEdge: 0, uploaded: 0 }, 1e6, 10_000, limits).fromPeers; // 2e6
 */
export function clampCounters(c: ByteCounters, size: number, connectedMs: number, limits: { maxDownloadCopies: number; maxPeerBytesPerSecond: number }): ByteCounters {
  const down = size * limits.maxDownloadCopies;
  const up = size + (Math.max(0, connectedMs) / 1000) * limits.maxPeerBytesPerSecond;
  return { fromPeers: Math.min(c.fromPeers, down), fromEdge: Math.min(c.fromEdge, down), uploaded: Math.floor(Math.min(c.uploaded, up)) };
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
  #pending = new Map<string, { c: ByteCounters; at: number }>();

  constructor(store: SwarmStore) {
    this.#store = store;
  }

  /** Buffers one frame; returns true when the buffer was empty (the caller arranges a flush). */
  add(peerId: string, c: ByteCounters, now: number): boolean {
    const wasEmpty = this.#pending.size === 0;
    const p = this.#pending.get(peerId);
    if (!p) this.#pending.set(peerId, { c: { fromPeers: c.fromPeers, fromEdge: c.fromEdge, uploaded: c.uploaded }, at: now });
    else {
      p.c.fromPeers = Math.max(p.c.fromPeers, c.fromPeers);
      p.c.fromEdge = Math.max(p.c.fromEdge, c.fromEdge);
      p.c.uploaded = Math.max(p.c.uploaded, c.uploaded);
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
