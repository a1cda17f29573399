/**
 * A fast path for `want`s that name chunks (what the SDK sends: the chunks it misses) in a big
 * swarm: the answer is drawn from the requester's ASN / colo / country groups (`nearby-index.ts`)
 * in rank order, keeping `rankPeers`' coverage rule, instead of keying every member.
 *
 * Why it gives the same answers as `rankPeers` (same distribution; not the same draws for a seeded
 * source). For an explicit want, `rankPeers` orders the eligible members (holding a wanted chunk, a
 * free slot, not the requester) by (tier, class, distance bucket, tie draw), then keeps coverage:
 * pass 1 walks that order and picks each member adding a wanted chunk nobody picked covers, until
 * `max` are picked or every coverable chunk (some eligible member holds it) is covered; pass 2 fills
 * up with the unpicked in rank order; the answer is the picks in rank order.
 * - Tiers: when every coverable chunk has a browser holder (holder counts, `chunk-holders.ts`), no
 *   supernode is a sole source, so all supernodes rank after all browsers; otherwise → null.
 * - Classes asn, colo and country carry no distance bucket: each is one tie group, uniformly
 *   shuffled. Drawing a group's members without replacement (enumerated and shuffled when small,
 *   rejection-sampled when big) visits them in such a shuffled order, so the draws of classes 0, 1,
 *   2 in turn are a prefix of the rank order.
 * - Passes 1 and 2 run on that prefix as they would on the whole order, and the result is final as
 *   soon as pass 1 has `max` picks, or every coverable chunk is covered and picks + unpicked drawn
 *   ≥ `max` (nothing later in the order could be picked by pass 1 or come earlier in pass 2).
 * Otherwise (a rare chunk's holder is farther away, too few near members, the draw budget runs out)
 * it returns null and the caller ranks everyone, which is exact.
 *
 * Cost: O(draws) ≈ O(max + chunks to cover) when the requester's group is big; O(group) when small.
 */
import type { PeerLocation } from "../protocol/swarm-protocol";
import type { NearbyIndex } from "./nearby-index";
import { type HolderCounts, type RankCandidate, type RankedPeer, proximityClass, rankedOf } from "./peer-ranking";

/** A group enumerated in full below this many members; sampled above it. */
const ENUMERATE_BELOW = 64;
/** Rejection-sampling draws allowed per `want` (plus per open place), before giving up. */
const DRAW_BUDGET = 256;
const DRAWS_PER_PLACE = 8;

/** Reused per call (one `want` at a time per isolate). */
const drawn = new Set<unknown>();

/**
 * The wanted chunks and the coverable chunks no visited member covers yet ("open"), as bitfield
 * bytes of the same layout as `ChunkBits`: a member holding `bytes` is then tested and applied a
 * byte (8 chunks) at a time, not with one `has` per open chunk (that loop was a third of a `want`'s
 * CPU at 4,000 members: docs/coordinator.md, "Costs"). Module-level scratch, grown, never shrunk.
 */
let wantBits = new Uint8Array(16);
let openBits = new Uint8Array(16);
/** Byte offset of both (the lowest wanted chunk's byte), bytes in use, and bits set in `openBits`. */
let maskLo = 0;
let maskLen = 0;
let openCount = 0;
/**
 * Whether the masks are dense enough to walk byte by byte: a `want` naming chunks 0 and 60,000 would
 * otherwise cost 7,500 bytes per visited member; such a sparse list is tested chunk by chunk.
 */
let bytewise = true;
/** The wanted list of the call (chunk-by-chunk tests). */
let wantedNow: readonly number[] = [];

function resetMasks(wanted: readonly number[]): void {
  let lo = Infinity, hi = 0;
  for (const i of wanted) (i < lo && (lo = i), i > hi && (hi = i));
  maskLo = lo >> 3;
  maskLen = (hi >> 3) - maskLo + 1;
  bytewise = maskLen <= 2 * wanted.length + 8;
  wantedNow = wanted;
  if (wantBits.length < maskLen) {
    wantBits = new Uint8Array(2 * maskLen);
    openBits = new Uint8Array(2 * maskLen);
  }
  wantBits.fill(0, 0, maskLen);
  openBits.fill(0, 0, maskLen);
  openCount = 0;
  for (const i of wanted) wantBits[(i >> 3) - maskLo]! |= 0x80 >> (i & 7);
}

function openChunk(i: number): void {
  const k = (i >> 3) - maskLo, m = 0x80 >> (i & 7);
  if ((openBits[k]! & m) === 0) (openBits[k]! |= m, openCount++);
}

/** Bits set in a byte. */
function popcount8(v: number): number {
  v = v - ((v >> 1) & 0x55);
  v = (v & 0x33) + ((v >> 2) & 0x33);
  return (v + (v >> 4)) & 0x0f;
}

/** Whether `c` holds a wanted chunk (a byte at a time when its set has bytes). */
function holdsWanted(c: RankCandidate): boolean {
  const b = c.chunks.bytes;
  if (b !== undefined && bytewise) {
    const n = Math.min(maskLen, b.length - maskLo);
    for (let k = 0; k < n; k++) if ((wantBits[k]! & b[k + maskLo]!) !== 0) return true;
    return false;
  }
  for (const i of wantedNow) if (c.chunks.has(i)) return true;
  return false;
}

/** Clears the open chunks `c` holds; returns whether there were any. */
function coverOpen(c: RankCandidate): boolean {
  if (openCount === 0) return false;
  const b = c.chunks.bytes;
  let adds = false;
  if (b !== undefined && bytewise) {
    const n = Math.min(maskLen, b.length - maskLo);
    for (let k = 0; k < n; k++) {
      const x = openBits[k]! & b[k + maskLo]!;
      if (x === 0) continue;
      openBits[k] = openBits[k]! ^ x;
      openCount -= popcount8(x);
      adds = true;
    }
    return adds;
  }
  for (const i of wantedNow) {
    const k = (i >> 3) - maskLo, m = 0x80 >> (i & 7);
    if ((openBits[k]! & m) !== 0 && c.chunks.has(i)) {
      openBits[k] = openBits[k]! & ~m;
      openCount--;
      adds = true;
    }
  }
  return adds;
}

/**
 * The passes' state over the draws so far. Module-level functions over it rather than closures in
 * {@link sampleWanted}: the Worker bundle keeps function names (esbuild keepNames wraps every named
 * closure in a defineProperty per creation), and this runs per `want`.
 */
interface Walk<C> {
  /** Eligible members in draw (= rank) order, and whether pass 1 picked each. */
  seq: C[];
  picked: boolean[];
  picks: number;
  max: number;
}

function finished(w: Walk<unknown>): boolean {
  return w.picks >= w.max || (openCount === 0 && w.seq.length >= w.max);
}

function visit<C extends RankCandidate>(w: Walk<C>, c: C): void {
  const adds = coverOpen(c);
  w.seq.push(c);
  w.picked.push(adds);
  if (adds) w.picks++;
}

/**
 * The answer to a `want` naming `wanted` chunks from the requester's groups, in rank order; null
 * when only ranking everyone gives it exactly (see the file comment).
 * @example
 * const answer = sampleWanted(dir.nearby, me.peerId, me.location, [3, 7], 10, Math.random, dir.holdersFor(me)) ?? rankPeers({ ... });
 */
export function sampleWanted<C extends RankCandidate>(
  nearby: NearbyIndex<C>, requesterId: string, from: PeerLocation, wanted: readonly number[], max: number, random: () => number, holders: HolderCounts,
): RankedPeer<C>[] | null {
  max = Math.floor(max);
  if (!(max >= 1) || wanted.length === 0) return null;
  // Coverable chunks; any held by supernodes alone makes a supernode a sole source: rank everyone.
  resetMasks(wanted);
  for (const i of wanted) {
    if (holders.all(i) === 0) continue;
    if (holders.browsers(i) === 0) return null;
    openChunk(i);
  }
  const w: Walk<C> = { seq: [], picked: [], picks: 0, max };
  let budget = DRAW_BUDGET + DRAWS_PER_PLACE * max;
  drawn.clear();
  try {
    for (let cls = 0; cls < 3 && !finished(w); cls++) {
      const list = nearby.groupOf(cls, from);
      if (!list || list.length === 0) continue;
      if (list.length < ENUMERATE_BELOW) {
        const found: C[] = [];
        for (const c of list) if (qualifies(c, requesterId, from, cls)) found.push(c);
        // Lazy Fisher–Yates: a uniformly shuffled order, drawn only as far as needed.
        for (let k = 0; k < found.length && !finished(w); k++) {
          const j = k + Math.floor(random() * (found.length - k));
          const t = found[k]!;
          found[k] = found[j]!;
          found[j] = t;
          visit(w, found[k]!);
        }
        continue;
      }
      // A big group: distinct members in order of first draw are a uniformly shuffled order. It is
      // never exhausted this way, so the answer must be final within it (or the budget runs out).
      while (!finished(w)) {
        if (--budget < 0) return null;
        const c = list[Math.floor(random() * list.length)]!;
        if (drawn.has(c)) continue;
        drawn.add(c);
        if (qualifies(c, requesterId, from, cls)) visit(w, c);
      }
    }
    if (!finished(w)) return null;
    // Pass 1's picks, and pass 2's fill with the earliest unpicked, in rank order.
    const out: RankedPeer<C>[] = [];
    let fill = w.picks >= max ? 0 : max - w.picks;
    for (let k = 0; k < w.seq.length && out.length < max; k++) {
      if (w.picked[k]) out.push(rankedOf(from, w.seq[k]!));
      else if (fill > 0) (fill--, out.push(rankedOf(from, w.seq[k]!)));
    }
    return out;
  } finally {
    drawn.clear();
    wantedNow = [];
  }
}

/** An eligible browser of exactly class `cls`: supernodes rank after every browser here. */
function qualifies(c: RankCandidate, requesterId: string, from: PeerLocation, cls: number): boolean {
  if (c.kind !== "browser" || c.peerId === requesterId || !(c.uploadSlots > 0) || proximityClass(from, c.location) !== cls) return false;
  return holdsWanted(c);
}
