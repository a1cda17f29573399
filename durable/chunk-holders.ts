/**
 * Per-chunk holder counts of a swarm: for each chunk index, how many members could serve it now
 * (a free upload slot), of any kind and of kind browser. The ranking's "sole source" and coverage
 * questions ("does any eligible browser hold chunk i?") become O(1) lookups instead of a scan of
 * every member per chunk — the scan that let two silent sockets claiming every chunk make each
 * honest `want` cost O(chunks × members) (issue 11). Updates cost O(chunks of the member changed),
 * paid once per join/leave/`have`/slot change, and bounded by the item's real chunk count.
 *
 * Kept by the member index (`peer-directory.ts`) for an item swarm, and per item by the item index
 * of a collection swarm (`collection-items.ts`), each in step with every change it makes.
 */
import type { PeerKind } from "../protocol/swarm-protocol";
import type { ChunkSet, HolderCounts } from "./peer-ranking";

/** What counting needs of a member. */
export interface HolderView {
  kind: PeerKind;
  uploadSlots: number;
  chunks: ChunkSet;
}

/**
 * Holder counts, grown on demand to the highest index seen.
 * @example
 * const h = new ChunkHolders();
 * h.addPeer(peer); h.all(3); h.browsers(3);
 */
export class ChunkHolders {
  #all = new Uint32Array(64);
  #browsers = new Uint32Array(64);

  /** Members with free slots holding `chunk`. */
  all(chunk: number): number {
    return this.#all[chunk] ?? 0;
  }

  /** Browsers with free slots holding `chunk`. */
  browsers(chunk: number): number {
    return this.#browsers[chunk] ?? 0;
  }

  /** Whether `p` is counted at all (the ranking's eligibility: a free slot). */
  static counts(p: HolderView): boolean {
    return p.uploadSlots > 0;
  }

  /** Counts every chunk of `p` (when it is counted). */
  addPeer(p: HolderView): void {
    if (ChunkHolders.counts(p)) this.#apply(p.kind, p.chunks, 1);
  }

  /** Uncounts every chunk of `p` (when it was counted). */
  removePeer(p: HolderView): void {
    if (ChunkHolders.counts(p)) this.#apply(p.kind, p.chunks, -1);
  }

  /** Counts chunks newly added to a counted member. */
  addChunks(p: HolderView, chunks: Iterable<number>): void {
    if (ChunkHolders.counts(p)) this.#apply(p.kind, chunks, 1);
  }

  /**
   * The counts as the ranking of `requester`'s `want` needs them: over the other holders (its own
   * contribution taken out, when it is counted).
   */
  except(requester: HolderView | undefined): HolderCounts {
    return requester === undefined || !ChunkHolders.counts(requester) ? this : new HoldersExcept(this, requester);
  }

  /** Forgets everything (the member index is rebuilt). */
  reset(): void {
    this.#all = new Uint32Array(64);
    this.#browsers = new Uint32Array(64);
  }

  #apply(kind: PeerKind, chunks: Iterable<number>, d: 1 | -1): void {
    const browser = kind === "browser";
    for (const i of chunks) {
      if (i >= this.#all.length) this.#grow(i + 1);
      this.#all[i]! += d;
      if (browser) this.#browsers[i]! += d;
    }
  }

  #grow(min: number): void {
    let n = this.#all.length;
    while (n < min) n *= 2;
    const a = new Uint32Array(n), b = new Uint32Array(n);
    a.set(this.#all);
    b.set(this.#browsers);
    this.#all = a;
    this.#browsers = b;
  }
}

/** Holder counts with one counted member's own chunks taken out (a class, not closures: see nearby-index.ts on keepNames). */
class HoldersExcept implements HolderCounts {
  readonly #h: ChunkHolders;
  readonly #mine: ChunkSet;
  readonly #browser: boolean;

  constructor(h: ChunkHolders, requester: HolderView) {
    this.#h = h;
    this.#mine = requester.chunks;
    this.#browser = requester.kind === "browser";
  }

  all(i: number): number {
    return this.#h.all(i) - (this.#mine.has(i) ? 1 : 0);
  }

  browsers(i: number): number {
    return this.#h.browsers(i) - (this.#browser && this.#mine.has(i) ? 1 : 0);
  }
}
