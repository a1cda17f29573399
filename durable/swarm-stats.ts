/**
 * Figures of a swarm object (`stats()` RPC) and their sum over the sub-shards of one shard (the
 * Worker's `GET /swarm/<root>/stats`). Pure: no platform imports.
 */
import { ChunkBits, MAX_TRACKED_CHUNKS } from "./chunk-bits";
import type { LivePeer } from "./peer-directory";

/** Byte counters, cumulative (peers that left included). */
export interface ByteTotals {
  fromPeers: number;
  fromEdge: number;
  uploaded: number;
}

/** What `stats()` returns (and `GET /swarm/<root>/stats` serves). */
export interface SwarmStats {
  root: string;
  shard: string;
  peersOnline: number;
  browsers: number;
  supernodes: number;
  /** Distinct chunk indices held by online peers. */
  chunksHeld: number;
  /** Sum over online peers of chunks held. */
  chunkCopies: number;
  bytes: ByteTotals;
  /** fromPeers / (fromPeers + fromEdge); 0 when nothing was transferred. */
  offload: number;
}

/** What the figures read of a member (an item-swarm member, or one member's holding of one item). */
export type Holding = Pick<LivePeer, "kind" | "chunks">;

/** The union of the members' bitfields (bit i set: some online member holds chunk i). */
export function heldUnion(peers: Iterable<Holding>): Uint8Array {
  const union = new Uint8Array(MAX_TRACKED_CHUNKS / 8);
  let end = 0;
  for (const p of peers) {
    const b = p.chunks.bytes;
    for (let i = 0; i < b.length; i++) union[i]! |= b[i]!;
    end = Math.max(end, b.length);
  }
  return union.subarray(0, end);
}

/**
 * One object's figures from its members and stored byte totals.
 * @example
 * summarize({ root, shard: "EU" }, dir.peers.values(), store.totals());
 */
export function summarize(identity: { root: string; shard: string }, peers: Iterable<Holding>, bytes: ByteTotals): SwarmStats {
  let browsers = 0, supernodes = 0, chunkCopies = 0;
  const members = [...peers];
  for (const p of members) {
    if (p.kind === "supernode") supernodes++;
    else browsers++;
    chunkCopies += p.chunks.size;
  }
  const chunksHeld = new ChunkBits(heldUnion(members)).size;
  return { ...identity, peersOnline: browsers + supernodes, browsers, supernodes, chunksHeld, chunkCopies, bytes, offload: offloadOf(bytes) };
}

const offloadOf = (b: ByteTotals): number => (b.fromPeers + b.fromEdge === 0 ? 0 : b.fromPeers / (b.fromPeers + b.fromEdge));

/**
 * Sums the figures of several sub-shards of one shard: counts and bytes add up; `chunksHeld` is
 * the size of the union of their held-chunk bitfields (`unions`, one per part); offload is
 * recomputed from the summed bytes.
 * @example
 * mergeStats([s0, s1], [u0, u1], { root, shard: "EU" });
 */
export function mergeStats(parts: readonly SwarmStats[], unions: readonly Uint8Array[], identity: { root: string; shard: string }): SwarmStats {
  const bytes: ByteTotals = { fromPeers: 0, fromEdge: 0, uploaded: 0 };
  let peersOnline = 0, browsers = 0, supernodes = 0, chunkCopies = 0;
  for (const s of parts) {
    peersOnline += s.peersOnline;
    browsers += s.browsers;
    supernodes += s.supernodes;
    chunkCopies += s.chunkCopies;
    bytes.fromPeers += s.bytes.fromPeers;
    bytes.fromEdge += s.bytes.fromEdge;
    bytes.uploaded += s.bytes.uploaded;
  }
  const union = new Uint8Array(Math.max(0, ...unions.map((u) => u.length)));
  for (const u of unions) for (let i = 0; i < u.length; i++) union[i]! |= u[i]!;
  return { ...identity, peersOnline, browsers, supernodes, chunksHeld: new ChunkBits(union).size, chunkCopies, bytes, offload: offloadOf(bytes) };
}
