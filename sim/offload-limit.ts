/**
 * The trace-based theoretical offload limit: the best any peer-assisted scheme could do on a given
 * trace of sessions and requests, whatever the bandwidth.
 *
 * Rule: a request for item i by a peer in swarm shard s is served without the edge iff, at that
 * instant, some online peer of shard s holds i (the requester itself included — a repeat view is a
 * browser-cache hit and is reported separately as `localHits`). Otherwise the item "leaves the
 * edge" once more. After a request the requester holds i, bounded by its storage quota (LRU). A
 * holder keeps its store while offline and counts again when it comes back online.
 *
 * This module is the reference: small, obviously-correct, Map/Set based. The capacity preset runs
 * the same rule on typed arrays at a million peers (`capacity-model.ts`) and the tests check the two
 * agree on the same trace.
 */

/** One event of a trace, in time order. */
export type TraceEvent =
  | { t: number; type: "on"; peer: number }
  | { t: number; type: "off"; peer: number }
  | { t: number; type: "request"; peer: number; item: number };

/** What the trace needs to know about peers and items. */
export interface TraceWorld {
  /** Swarm shard of each peer (e.g. its continent). */
  shardOf: (peer: number) => number;
  /** Item size in bytes (default 1: request-weighted). */
  sizeOf?: (item: number) => number;
  /** Storage quota of a peer in bytes (default unbounded). */
  quotaOf?: (peer: number) => number;
}

/** Outcome of {@link offloadLimit}. */
export interface OffloadLimit {
  requests: number;
  /** Requests that had to leave the edge (no online holder in the shard). */
  edgeRequests: number;
  /** Requests an online peer of the shard (other than the requester) could serve. */
  peerRequests: number;
  /** Requests for an item the requester already held (browser cache). */
  localHits: number;
  requestedBytes: number;
  edgeBytes: number;
  /** 1 - edgeBytes / requestedBytes: the share of bytes that never left the edge. */
  offload: number;
}

/**
 * Computes the theoretical offload limit of a trace.
 * @example
 * offloadLimit([
 *   { t: 0, type: "on", peer: 1 }, { t: 0, type: "on", peer: 2 },
 *   { t: 1, type: "request", peer: 1, item: 7 },   // edge
 *   { t: 2, type: "request", peer: 2, item: 7 },   // peer 1 holds it
 * ], { shardOf: () => 0 }).offload; // 0.5
 */
export function offloadLimit(trace: Iterable<TraceEvent>, world: TraceWorld): OffloadLimit {
  const size = world.sizeOf ?? (() => 1);
  const quota = world.quotaOf ?? (() => Infinity);
  const online = new Set<number>();
  const held = new Map<number, Map<number, number>>(); // peer → item → bytes, insertion order = LRU
  const used = new Map<number, number>();
  const holders = new Map<string, number>(); // `${shard}:${item}` → online holders
  const key = (peer: number, item: number) => `${world.shardOf(peer)}:${item}`;
  const bump = (k: string, d: number) => holders.set(k, (holders.get(k) ?? 0) + d);
  const out: OffloadLimit = { requests: 0, edgeRequests: 0, peerRequests: 0, localHits: 0, requestedBytes: 0, edgeBytes: 0, offload: 0 };
  let lastT = -Infinity;

  for (const e of trace) {
    if (e.t < lastT) throw new RangeError(`trace not in time order at t=${e.t}`);
    lastT = e.t;
    const mine = held.get(e.peer) ?? new Map<number, number>();
    held.set(e.peer, mine);
    if (e.type === "on") {
      if (online.has(e.peer)) continue;
      online.add(e.peer);
      for (const item of mine.keys()) bump(key(e.peer, item), +1);
    } else if (e.type === "off") {
      if (!online.delete(e.peer)) continue;
      for (const item of mine.keys()) bump(key(e.peer, item), -1);
    } else {
      if (!online.has(e.peer)) throw new RangeError(`request by offline peer ${e.peer} at t=${e.t}`);
      const bytes = size(e.item);
      out.requests++;
      out.requestedBytes += bytes;
      if (mine.has(e.item)) {
        out.localHits++;
        mine.delete(e.item); // LRU touch: move to the most recent end
        mine.set(e.item, bytes);
        continue;
      }
      const k = key(e.peer, e.item);
      if ((holders.get(k) ?? 0) > 0) out.peerRequests++;
      else {
        out.edgeRequests++;
        out.edgeBytes += bytes;
      }
      if (bytes > quota(e.peer)) continue; // cannot store it at all
      let u = (used.get(e.peer) ?? 0) + bytes;
      for (const [old, b] of mine) {
        if (u <= quota(e.peer)) break;
        mine.delete(old);
        bump(key(e.peer, old), -1);
        u -= b;
      }
      mine.set(e.item, bytes);
      used.set(e.peer, u);
      bump(k, +1);
    }
  }
  out.offload = out.requestedBytes === 0 ? 0 : 1 - out.edgeBytes / out.requestedBytes;
  return out;
}
