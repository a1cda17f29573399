/**
 * Who waits for news of which chunks: a member whose last `want` named chunks that no member could
 * serve then (no holder with a free slot), or whose "any chunk" `want` found nobody. A `have` (or a
 * `hello` holding chunks) looks up the waiters of exactly the chunks it adds, instead of walking
 * every recent wanter, and `peer-have` goes to the nearest of them (`peer-have.ts`).
 *
 * Why only unserved chunks: a wanter answered with holders of a chunk is connecting to them, and
 * the SDK asks again (≥ every 2 s while it still misses chunks no connected peer has), so a second
 * push about that chunk tells it nothing its next `want` would not. Waiting for a chunk nobody holds
 * is what polling serves badly — the first holder is news. So each wait is answered once: when a
 * chunk gains a holder that can serve it, its waiters are settled (the nearest `fanout` told, the
 * rest find the holder in their next answer), which bounds `peer-have` frames by the waits `want`s
 * registered (each `want` pays for the indices it names), and a `have` costs O(its chunks + their
 * waiters) — nothing in a swarm whose chunks all have holders.
 *
 * Memory only (not hibernation-safe by design, and not needed to be): after a wake nobody waits
 * until they ask again, which the SDK does within its 2 s want period while it misses chunks.
 * Bounded: ≤ {@link MAX_WAITS_PER_PEER} chunks per member, replaced by each `want`, removed on leave.
 */

/** Most chunks one member waits for (the first of its `want`'s unserved ones). */
export const MAX_WAITS_PER_PEER = 256;
/** The key of an "any chunk" wait. */
export const ANY_CHUNK = -1;

/**
 * Waits by chunk and by member (peer id).
 * @example
 * const w = new ChunkWaiters();
 * w.set("peer-a", [3, 9], now);             // its want: 3 and 9 had no holder
 * w.waitersOf([3], now - 30_000);          // ["peer-a"]
 * w.settle([3]);                            // a holder of 3 appeared: nobody waits for 3 any more
 */
export class ChunkWaiters {
  readonly #byChunk = new Map<number, Set<string>>();
  readonly #byPeer = new Map<string, { chunks: Set<number>; at: number }>();

  /** Replaces what `peerId` waits for (empty: nothing). */
  set(peerId: string, chunks: readonly number[], at: number): void {
    this.remove(peerId);
    if (chunks.length === 0) return;
    const mine = new Set<number>();
    for (const c of chunks) {
      if (mine.size >= MAX_WAITS_PER_PEER) break;
      if (mine.has(c)) continue;
      mine.add(c);
      let s = this.#byChunk.get(c);
      if (!s) this.#byChunk.set(c, (s = new Set()));
      s.add(peerId);
    }
    this.#byPeer.set(peerId, { chunks: mine, at });
  }

  /** Forgets `peerId`'s waits (it left, or asked again). */
  remove(peerId: string): void {
    const r = this.#byPeer.get(peerId);
    if (!r) return;
    this.#byPeer.delete(peerId);
    for (const c of r.chunks) {
      const s = this.#byChunk.get(c);
      if (s && s.delete(peerId) && s.size === 0) this.#byChunk.delete(c);
    }
  }

  /** Members waiting for any of `chunks` (and "any chunk" waiters) whose wait began at or after `since`, each once. */
  waitersOf(chunks: readonly number[], since: number): string[] {
    const out = new Set<string>();
    for (const c of chunks) this.#collect(c, since, out);
    this.#collect(ANY_CHUNK, since, out);
    return [...out];
  }

  /** Nobody waits for `chunks` (nor for "any chunk") any more: a holder that can serve them appeared. */
  settle(chunks: readonly number[]): void {
    for (const c of chunks) this.#drop(c);
    this.#drop(ANY_CHUNK);
  }

  // Private methods rather than closures: the Worker bundle keeps function names (esbuild keepNames
  // wraps every named closure in a defineProperty per creation), and these run per `have`.

  #collect(c: number, since: number, out: Set<string>): void {
    const s = this.#byChunk.get(c);
    if (s) for (const id of s) if (this.#byPeer.get(id)!.at >= since) out.add(id);
  }

  #drop(c: number): void {
    const s = this.#byChunk.get(c);
    if (!s) return;
    this.#byChunk.delete(c);
    for (const id of s) {
      const r = this.#byPeer.get(id)!;
      r.chunks.delete(c);
      if (r.chunks.size === 0) this.#byPeer.delete(id);
    }
  }

  /** Members with a wait (tests, stats). */
  get size(): number {
    return this.#byPeer.size;
  }
}

/**
 * The chunks of `wanted` no member other than the requester can serve now (holder counts over
 * members with free slots, the requester's own taken out: `PeerDirectory.holdersFor`).
 */
export function unservedOf(wanted: readonly number[], holders: { all(chunk: number): number }): number[] {
  const out: number[] = [];
  for (const c of wanted) if (holders.all(c) === 0) out.push(c);
  return out;
}
