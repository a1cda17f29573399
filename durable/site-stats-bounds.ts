/**
 * How much of what peers claim the site numbers accept. Peer byte counters are claims (the SDK
 * reports them; the coordinator can only clamp them per peer), so the aggregator bounds each item's
 * cumulative totals by what the edge itself witnessed:
 *
 * - **size × fetches**: every byte a peer received belongs to a download that started with a
 *   manifest the edge issued (`GET /m/`, counted at the edge), and one download receives at most the
 *   item's size. So `fromPeers + fromEdge ≤ budget`, the sum of the sizes of the manifests issued
 *   (size × fetches for one item; for a collection swarm — a stream's segments, a gallery — the sum
 *   over its items, whose sizes differ), over the item's whole life (edge-claimed bytes are taken
 *   first: a liar inflating them only makes offload look worse), and so is `uploaded`.
 * - **rate**: the accepted total grows by at most `peerBytesPerSecond` per online peer per second
 *   since the last acceptance (at least one second's worth), so a burst of lies cannot land in one minute of the series.
 * - **monotone**: accepted totals never decrease (coordinator totals are cumulative), so a repeated,
 *   reordered or lost report never counts twice; claims above the bound are held back, and accepted
 *   later if the bound grows (more fetches arrive, time passes).
 *
 * docs/dashboard.md ("Honest numbers") says what this leaves a lying client. Pure.
 */
import { MAX_COUNTER } from "./site-stats-model";

/** An item's claimed cumulative totals, summed over its coordinator objects. */
export interface ItemClaims {
  fromPeers: number;
  fromEdge: number;
  uploaded: number;
}

/** What the edge witnessed about the item, and time. */
export interface ItemAllowance {
  /**
   * Sum of the sizes of the manifests the edge issued for it, bytes (size × fetches for one item; 0
   * while the edge has not registered it: nothing is accepted).
   */
  budget: number;
  /** Members online across its objects now. */
  peersOnline: number;
  /** Milliseconds since the last acceptance. */
  elapsedMs: number;
  peerBytesPerSecond: number;
}

/** Accepted cumulative totals of an item. */
export interface Accepted {
  peerBytes: number;
  uploaded: number;
}

/**
 * The new accepted totals of an item.
 * @example
 * acceptClaims({ peerBytes: 0, uploaded: 0 }, { fromPeers: 9e9, fromEdge: 0, uploaded: 0 },
 *   { budget: 2 * 1000, peersOnline: 2, elapsedMs: 10_000, peerBytesPerSecond: 1 << 26 });
 * // { peerBytes: 2000, uploaded: 0 }
 */
export function acceptClaims(prev: Accepted, claims: ItemClaims, allow: ItemAllowance): Accepted {
  const budget = Math.min(allow.budget, MAX_COUNTER);
  const edge = Math.min(claims.fromEdge, budget);
  const peerTarget = Math.min(claims.fromPeers, budget - edge);
  const upTarget = Math.min(claims.uploaded, budget);
  // At least one second's worth per acceptance: reports are themselves throttled (one per object per
  // 10 s), and two arriving in the same millisecond must not starve each other.
  const step = allow.peerBytesPerSecond * Math.max(1, allow.peersOnline) * (Math.max(1000, allow.elapsedMs) / 1000);
  const grow = (from: number, to: number) => Math.max(from, Math.min(to, Math.floor(from + step)));
  return { peerBytes: grow(prev.peerBytes, peerTarget), uploaded: grow(prev.uploaded, upTarget) };
}
