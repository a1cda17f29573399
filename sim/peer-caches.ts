/**
 * What each simulated peer holds: complete copies of items within its storage quota, evicted in the
 * order they were stored when a new item needs room. A supernode's pinned items count as held; they
 * are never evicted.
 */

/**
 * Every peer's held items.
 * @example
 * const caches = new PeerCaches(quota, itemSize);
 * caches.store(peer, item, (old) => leave(old, peer)); // evicted items leave their swarms
 * if (caches.has(peer, item)) serveLocally();
 */
export class PeerCaches {
  /** Per peer, items held, oldest first. */
  readonly held: number[][];
  /** Per peer, bytes held. */
  readonly used: Float64Array;
  /** `peer × items + item` of every complete copy (the hot-path membership test). */
  readonly #holds = new Set<number>();
  readonly #quota: ArrayLike<number>;
  readonly #itemSize: readonly number[];

  /**
   * @param quota bytes each peer may hold
   * @param itemSize bytes of each item (its index)
   */
  constructor(quota: ArrayLike<number>, itemSize: readonly number[]) {
    this.#quota = quota;
    this.#itemSize = itemSize;
    this.held = Array.from({ length: quota.length }, () => []);
    this.used = new Float64Array(quota.length);
  }

  /** Whether `peer` holds all of `item`. */
  has(peer: number, item: number): boolean {
    return this.#holds.has(peer * this.#itemSize.length + item);
  }

  /**
   * Keeps a downloaded `item`, evicting `peer`'s oldest items until it fits (`evicted` is called for
   * each); an item larger than the whole quota is not kept.
   */
  store(peer: number, item: number, evicted: (old: number) => void): void {
    const size = this.#itemSize[item] as number;
    const quota = this.#quota[peer] as number;
    if (size > quota) return;
    const list = this.held[peer] as number[];
    while ((this.used[peer] as number) + size > quota && list.length) {
      const old = list.shift() as number;
      this.used[peer]! -= this.#itemSize[old] as number;
      this.#holds.delete(peer * this.#itemSize.length + old);
      evicted(old);
    }
    list.push(item);
    this.used[peer]! += size;
    this.#holds.add(peer * this.#itemSize.length + item);
  }

  /** Pins `item` on a supernode: held for the whole run, outside any quota. */
  pin(peer: number, item: number): void {
    this.held[peer]!.push(item);
    this.#holds.add(peer * this.#itemSize.length + item);
  }
}
