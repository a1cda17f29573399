/**
 * What the mesh knows of its links' chunks: per content root, each peer's bitfield (BEP 3 bit
 * order) as HAVE frames and the coordinator told it, and the roots this instance downloads now —
 * the ones every link is asked about (`PeerMesh.interest`). Bounded by the roots we download,
 * hold or were told of by a swarm we are in: a question about anything else leaves nothing here.
 */
import { bitSet } from "../protocol/chunk-bitfield";

/** True when bitfield `bits` has all of chunks 0..count-1 (BEP 3 bit order). */
export function holdsAll(bits: Uint8Array, count: number): boolean {
  const full = count >> 3;
  if (bits.length < Math.ceil(count / 8)) return false;
  for (let i = 0; i < full; i++) if (bits[i] !== 0xff) return false;
  const mask = (0xff << (8 - (count & 7))) & 0xff;
  return (count & 7) === 0 || (bits[full]! & mask) === mask;
}

/**
 * @example
 * const av = new PeerAvailability();
 * const end = av.want(root, 40); // a download of root starts
 * av.set(root, "peer-b", bits);
 * av.get(root, "peer-b"); // bits
 * end();
 */
export class PeerAvailability {
  /** root → peerId → bitfield. */
  readonly #bits = new Map<string, Map<string, Uint8Array>>();
  /** Roots downloading now → chunk count and how many downloads of it run. */
  readonly #wanted = new Map<string, { count: number; n: number }>();

  /** What `peerId` holds of `root`, if told. */
  get(root: string, peerId: string): Uint8Array | undefined {
    return this.#bits.get(root)?.get(peerId);
  }

  /** Peers whose chunks of `root` we know. */
  peers(root: string): IterableIterator<string> {
    return (this.#bits.get(root) ?? new Map<string, Uint8Array>()).keys();
  }

  /** Whether `root` is ours to track: we know who holds some of it, or we download it now. */
  tracks(root: string): boolean {
    return this.#bits.has(root) || this.#wanted.has(root);
  }

  /** Replaces what `peerId` holds of `root`. */
  set(root: string, peerId: string, bits: Uint8Array): void {
    let m = this.#bits.get(root);
    if (!m) this.#bits.set(root, (m = new Map()));
    m.set(peerId, bits);
  }

  /** Adds chunks `peerId` completed (of `count`). */
  add(root: string, peerId: string, chunks: readonly number[], count: number): void {
    let bits = this.get(root, peerId);
    if (!bits || bits.length < Math.ceil(count / 8)) {
      const grown = new Uint8Array(Math.ceil(count / 8));
      if (bits) grown.set(bits.subarray(0, grown.length));
      bits = grown;
    }
    for (const i of chunks) if (i < count) bitSet(bits, i);
    this.set(root, peerId, bits);
  }

  /** `peerId` is gone from `root`'s swarm (or, without `root`, from every swarm: its link closed). */
  drop(peerId: string, root?: string): void {
    if (root !== undefined) this.#bits.get(root)?.delete(peerId);
    else for (const m of this.#bits.values()) m.delete(peerId);
  }

  /** Forgets `root` (its swarm dropped it). */
  forget(root: string): void {
    this.#bits.delete(root);
  }

  /** A download of `root` (`count` chunks) starts; returns its end (idempotent). */
  want(root: string, count: number): () => void {
    const w = this.#wanted.get(root) ?? { count, n: 0 };
    w.n++;
    this.#wanted.set(root, w);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--w.n === 0 && this.#wanted.get(root) === w) this.#wanted.delete(root);
    };
  }

  /** Roots downloading now, with their chunk counts. */
  wanted(): IterableIterator<[string, { count: number }]> {
    return this.#wanted.entries();
  }
}
