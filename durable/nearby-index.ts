/**
 * A fast path for "any chunk" `want`s in a big swarm: members indexed by ASN, colo and country, so
 * the best-ranked peers are drawn from the requester's own groups instead of keying every member.
 *
 * Why it gives the same answers as `rankPeers` (same distribution; not the same draws for a seeded
 * source): for an "any chunk" want, ranking keys are (tier, class, distance bucket, tie draw), and
 * classes asn, colo and country carry no distance bucket, so each of them is one tie group whose
 * order is a uniform shuffle. With no supernode that could share those classes (tier 0 supernodes
 * rank by class among the browsers), the answer is: every eligible peer of class 0 in random order,
 * then of class 1, … until `max` — and within the class where `max` is reached, a uniform random
 * subset. Drawing that subset by rejection sampling from the group (redraw ineligible, other-class
 * and already-picked members) is uniform by symmetry, also conditioned on succeeding within the
 * attempt budget; whenever it does not succeed, or the classes 0–2 hold fewer than `max` eligible
 * peers, or a supernode is in them, {@link NearbyIndex.sample} returns null and the caller ranks
 * everyone (`rankPeers`), which is exact. Either way the result is uniform within tie groups.
 *
 * Cost: O(max) draws when the requester's group is large (the hot case), O(group) when small.
 */
import type { PeerLocation } from "../protocol/swarm-protocol";
import { type RankCandidate, type RankedPeer, proximityClass, rankedOf } from "./peer-ranking";

/** A group enumerated in full below this size (× the places still open); sampled above it. */
const ENUMERATE_FACTOR = 4;
/** Rejection-sampling draws allowed per open place (plus a constant), before giving up. */
const ATTEMPTS_PER_PLACE = 6;

/** Members of one group, with O(1) add and swap-remove. */
class Group<C> {
  readonly list: C[] = [];
  readonly #pos = new Map<C, number>();

  add(c: C): void {
    this.#pos.set(c, this.list.length);
    this.list.push(c);
  }

  /** Returns whether the group is now empty. */
  remove(c: C): boolean {
    const at = this.#pos.get(c);
    if (at === undefined) return this.list.length === 0;
    const last = this.list.pop()!;
    if (at < this.list.length) {
      this.list[at] = last;
      this.#pos.set(last, at);
    }
    this.#pos.delete(c);
    return this.list.length === 0;
  }
}

type Key = string | number;

/**
 * Members by ASN, colo and country, plus the supernodes (few: checked one by one).
 * @example
 * const idx = new NearbyIndex<LivePeer>();
 * idx.add(peer);
 * const answer = idx.sample(me.peerId, me.location, 10, Math.random) ?? rankPeers({ ... });
 */
export class NearbyIndex<C extends RankCandidate> {
  readonly #groups: [Map<Key, Group<C>>, Map<Key, Group<C>>, Map<Key, Group<C>>] = [new Map(), new Map(), new Map()];
  readonly #supernodes = new Set<C>();

  /** Adds a member (its location and kind must not change while indexed). */
  add(c: C): void {
    const keys = keysOf(c.location);
    for (let i = 0; i < 3; i++) {
      const k = keys[i];
      if (k === undefined) continue;
      let g = this.#groups[i]!.get(k);
      if (!g) this.#groups[i]!.set(k, (g = new Group()));
      g.add(c);
    }
    if (c.kind !== "browser") this.#supernodes.add(c);
  }

  /** Removes a member (the same object that was added). */
  remove(c: C): void {
    const keys = keysOf(c.location);
    for (let i = 0; i < 3; i++) {
      const k = keys[i];
      if (k !== undefined && this.#groups[i]!.get(k)?.remove(c)) this.#groups[i]!.delete(k);
    }
    this.#supernodes.delete(c);
  }

  /** Drops everything and indexes `members`. */
  reset(members: Iterable<C>): void {
    for (const m of this.#groups) m.clear();
    this.#supernodes.clear();
    for (const c of members) this.add(c);
  }

  /**
   * The members of the requester's group of class `cls` (0 asn, 1 colo, 2 country), or undefined
   * (read only; members of a better class are in it too: callers filter by class).
   */
  groupOf(cls: number, from: PeerLocation): readonly C[] | undefined {
    const k = keysOf(from)[cls];
    return k === undefined ? undefined : this.#groups[cls]?.get(k)?.list;
  }

  /**
   * The answer to an "any chunk" want of `max` peers from the requester's ASN / colo / country
   * groups, in rank order; null when only ranking everyone gives it exactly (see the file comment).
   */
  sample(requesterId: string, from: PeerLocation, max: number, random: () => number): RankedPeer<C>[] | null {
    max = Math.floor(max);
    if (!(max >= 1)) return null;
    for (const s of this.#supernodes) if (eligible(s, requesterId) && proximityClass(from, s.location) <= 2) return null;
    const keys = keysOf(from);
    const out: C[] = [];
    for (let cls = 0; cls < 3 && out.length < max; cls++) {
      const k = keys[cls];
      const group = k === undefined ? undefined : this.#groups[cls]!.get(k);
      if (!group) continue;
      const need = max - out.length;
      const list = group.list;
      if (list.length <= ENUMERATE_FACTOR * need + 8) {
        const found: C[] = [];
        for (const c of list) if (inClass(c, requesterId, from, cls)) found.push(c);
        // Partial Fisher–Yates: a uniform random ordered pick of min(need, found) members.
        const take = Math.min(need, found.length);
        for (let i = 0; i < take; i++) {
          const j = i + Math.floor(random() * (found.length - i));
          const t = found[i]!;
          found[i] = found[j]!;
          found[j] = t;
          out.push(found[i]!);
        }
        continue;
      }
      const picked = new Set<C>();
      for (let attempts = ATTEMPTS_PER_PLACE * need + 16; picked.size < need && attempts > 0; attempts--) {
        const c = list[Math.floor(random() * list.length)]!;
        if (!picked.has(c) && inClass(c, requesterId, from, cls)) picked.add(c);
      }
      if (picked.size < need) return null; // too many ineligible members to sample: rank everyone
      for (const c of picked) out.push(c);
    }
    if (out.length < max) return null;
    const ranked: RankedPeer<C>[] = [];
    for (const c of out) ranked.push(rankedOf(from, c));
    return ranked;
  }
}

// Module-level helpers rather than closures in `sample`: the Worker bundle keeps function names
// (esbuild keepNames wraps every named closure in a defineProperty call per creation), and this runs per `want`.

/** Could serve the requester: not the requester, a free upload slot, some chunk. */
function eligible(c: RankCandidate, requesterId: string): boolean {
  return c.peerId !== requesterId && c.uploadSlots > 0 && c.chunks.size > 0;
}

/** Eligible and exactly of proximity class `cls` as seen from `from`. */
function inClass(c: RankCandidate, requesterId: string, from: PeerLocation, cls: number): boolean {
  return eligible(c, requesterId) && proximityClass(from, c.location) === cls;
}

/** Group keys of a location per class (asn, colo, country); undefined = not in any such group. */
function keysOf(l: PeerLocation): [Key | undefined, Key | undefined, Key | undefined] {
  return [l.asn, l.colo, l.country];
}
