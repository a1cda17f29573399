/**
 * Piece selection policy — pure functions, no DOM, network or clock, so the internet-scale
 * simulator (`sim/`) imports exactly the policy the SDK runs.
 *
 * Two decisions:
 * - {@link pickChunks}: which missing chunks to ask which peers for. Rarest first (BitTorrent's
 *   rule: spreading rare chunks keeps them alive when their few holders leave), restricted to a
 *   window ahead of the next chunk the reader needs so a stream plays in order, ties broken by
 *   position (nearest to the reader first), at most `free` more requests per peer (K in flight).
 *   Each chunk goes to a browser holder before a supernode holder (issue 6: supernodes spare the
 *   origin, they must not become a second CDN that browsers lean on while browsers could serve).
 * - {@link pickEdgeRun}: which contiguous run of chunks to fetch from the edge with one `Range`
 *   request when peers cannot help — long runs rather than one-chunk dribbles, because each edge
 *   request costs a round trip and an edge cache lookup.
 */

import type { PeerKind } from "../protocol/swarm-protocol";

/** A peer as the picker sees it. */
export interface PickerPeer {
  id: string;
  /** True when the peer holds chunk `index` (and has not refused it to us). */
  has(index: number): boolean;
  /** How many more requests this peer may be given now (K minus its requests in flight). */
  free: number;
  /**
   * What the coordinator said this peer is (`peers` frames). Absent = not known (e.g. a peer that
   * linked to us before any `peers` answer named it): treated as a browser, so an unknown peer is
   * never starved in favour of a supernode.
   */
  kind?: PeerKind;
}

/** One assignment: ask `peerId` for chunk `index`. */
export interface Pick {
  peerId: string;
  index: number;
}

export interface PickInput {
  /** First chunk of the window: the next chunk the reader needs. */
  from: number;
  /** End of the window (exclusive). */
  to: number;
  /** True for chunks that are neither held nor already being fetched. */
  needed(index: number): boolean;
  /** Candidate peers, best-ranked first (proximity order from the coordinator). */
  peers: readonly PickerPeer[];
  /**
   * A supernode is given a chunk that some browser holds (all such browsers busy) only if the
   * chunk lies within this many chunks of `from`, i.e. the reader is about to need it; farther
   * chunks wait for a browser slot. Default: no limit. Chunks no browser holds are not limited.
   */
  supernodeReach?: number;
}

/**
 * Assigns missing chunks of the window to peers, rarest first.
 *
 * Rarity counts every listed peer holding a chunk (busy or not), so a chunk only one peer holds is
 * requested from it before common chunks take its slots. Each chunk goes to a holder with a free
 * slot chosen by, in order: browser before supernode (so a supernode is asked only for chunks no
 * browser with a free slot holds), most free slots (spreads load across peers in parallel), then
 * rank (the earlier-listed peer).
 *
 * @example
 * pickChunks({ from: 0, to: 8, needed: (i) => !held[i], peers: [{ id: "a", has: () => true, free: 4 }] });
 * // → [{ peerId: "a", index: 0 }, …] (4 picks)
 */
export function pickChunks(input: PickInput): Pick[] {
  const { from, to, peers } = input;
  const free = peers.map((p) => Math.max(0, p.free));
  if (!free.some((f) => f > 0)) return [];
  const cands: { index: number; rarity: number }[] = [];
  for (let i = from; i < to; i++) {
    if (!input.needed(i)) continue;
    let rarity = 0;
    for (const p of peers) if (p.has(i)) rarity++;
    if (rarity > 0) cands.push({ index: i, rarity });
  }
  cands.sort((a, b) => a.rarity - b.rarity || a.index - b.index);
  const supernode = peers.map((p) => p.kind === "supernode");
  const reachEnd = from + (input.supernodeReach ?? Infinity);
  const picks: Pick[] = [];
  for (const c of cands) {
    let best = -1;
    for (let k = 0; k < peers.length; k++) {
      if (free[k]! <= 0 || !peers[k]!.has(c.index)) continue;
      if (best < 0 || (supernode[best]! && !supernode[k]!) || (supernode[best] === supernode[k] && free[k]! > free[best]!)) best = k;
    }
    if (best < 0) continue;
    // Overflow to a supernode only near the reader (see `supernodeReach`): otherwise a busy
    // browser's chunks all drain to the supernode and it becomes the second CDN issue 6 rules out.
    if (supernode[best] && c.index >= reachEnd && peers.some((p, k) => !supernode[k] && p.has(c.index))) continue;
    free[best]!--;
    picks.push({ peerId: peers[best]!.id, index: c.index });
    if (!free.some((f) => f > 0)) break;
  }
  return picks;
}

/** Availability of each chunk in `[from, to)`: how many peers hold it. */
export function availability(peers: readonly { has(index: number): boolean }[], from: number, to: number): number[] {
  const out = new Array<number>(Math.max(0, to - from)).fill(0);
  for (const p of peers) for (let i = from; i < to; i++) if (p.has(i)) out[i - from]!++;
  return out;
}

export interface EdgeRunInput {
  /** First chunk to consider (usually the next chunk the reader needs). */
  from: number;
  /** The run must start before this chunk (default `to`): usually the end of the reader's window. */
  startBy?: number;
  /** End of the content or requested range (exclusive). */
  to: number;
  /** True for chunks that are neither held nor being fetched. */
  needed(index: number): boolean;
  /** True for chunks the edge should take now (no peer can serve them, deadline missed, fast start). */
  edgeable(index: number): boolean;
  /** Longest run, in chunks. */
  maxRun: number;
}

/**
 * The first contiguous run of chunks that are needed and edge-eligible, as `[start, end)`, or
 * `null` when there is none. The run starts at the first eligible chunk at or after `from` and
 * stops at the first chunk that is not needed or not eligible, or after `maxRun` chunks.
 *
 * @example
 * pickEdgeRun({ from: 0, to: 100, needed: () => true, edgeable: (i) => i < 40, maxRun: 16 }); // → [0, 16]
 */
export function pickEdgeRun(input: EdgeRunInput): [number, number] | null {
  const startBy = Math.min(input.to, input.startBy ?? input.to);
  let start = input.from;
  while (start < startBy && !(input.needed(start) && input.edgeable(start))) start++;
  if (start >= startBy) return null;
  let end = start + 1;
  while (end < input.to && end - start < input.maxRun && input.needed(end) && input.edgeable(end)) end++;
  return [start, end];
}
