/**
 * The in-order output of one download: verified chunks arrive in any order (peers in parallel, edge
 * runs, the store) and leave as a `ReadableStream` of exactly the requested bytes, in order. Chunks
 * are cut to the requested byte range (RFC 9110 §14 ranges need not align with chunks).
 *
 * Backpressure: chunks are only enqueued while the stream wants data (`desiredSize > 0`), so a
 * slow reader holds the cursor back, and the scheduler keeps its fetching window behind the cursor.
 */
import { sliceChunk, type ByteSpan } from "./byte-span";

/** What the output tells its owner. */
export interface OrderedOutputHooks {
  /** The reader wants more data and nothing is ready: fetch. */
  onPull(): void;
  /** The reader cancelled the stream. */
  onCancel(): void;
  /** The last chunk was emitted (the stream closes right after). */
  onComplete(): void;
}

/**
 * @example
 * const out = new OrderedOutput({ start: 0, end: size }, chunkSize, 0, chunkCount, hooks);
 * out.put(0, firstChunkBytes);   // emitted at once if the reader wants it
 * return new Response(out.stream);
 */
export class OrderedOutput {
  readonly stream: ReadableStream<Uint8Array>;
  /** Index of the next chunk to emit. */
  cursor: number;
  #ctrl!: ReadableStreamDefaultController<Uint8Array>;
  readonly #held = new Map<number, Uint8Array | readonly Uint8Array[]>();
  #waiters: (() => void)[] = [];
  #pullResolve: (() => void) | null = null;
  /** No more chunks are taken (completed, cancelled, failed). */
  #stopped = false;

  readonly #range: ByteSpan;
  readonly #chunkSize: number;
  readonly #endChunk: number;
  readonly #hooks: OrderedOutputHooks;
  constructor(
    range: ByteSpan,
    chunkSize: number,
    first: number,
    endChunk: number,
    hooks: OrderedOutputHooks,
  ) {
    this.#range = range;
    this.#chunkSize = chunkSize;
    this.#endChunk = endChunk;
    this.#hooks = hooks;
    this.cursor = first;
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#ctrl = c;
      },
      pull: () => {
        if (this.flush() || this.#stopped) return;
        this.#hooks.onPull();
        return new Promise<void>((r) => (this.#pullResolve = r));
      },
      cancel: () => this.#hooks.onCancel(),
    });
  }

  /** True when chunk `i` is waiting to be emitted. */
  has(i: number): boolean {
    return this.#held.has(i);
  }

  /**
   * Takes a verified chunk — whole, or as its parts in order (a peer's DATA payloads, emitted one by
   * one); ignored when already held, already emitted, or stopped. False if ignored.
   */
  put(i: number, bytes: Uint8Array | readonly Uint8Array[]): boolean {
    if (this.#stopped || this.#held.has(i) || i < this.cursor) return false;
    this.#held.set(i, bytes);
    this.flush();
    return true;
  }

  /** Emits held chunks in order while the stream wants data; true if anything was emitted. */
  flush(): boolean {
    let emitted = false;
    while (!this.#stopped && this.#held.has(this.cursor) && (this.#ctrl.desiredSize ?? 0) > 0) {
      const bytes = this.#held.get(this.cursor)!;
      this.#held.delete(this.cursor);
      // No copy: what is held here is the reader's alone — the store keeps another buffer (its own
      // copy, or the assembled chunk while the reader gets the DATA payloads: download.ts#accept),
      // so the reader may keep, change or transfer what it gets (the service worker bridge does).
      if (bytes instanceof Uint8Array) this.#ctrl.enqueue(sliceChunk(bytes, this.cursor, this.#chunkSize, this.#range));
      else this.#enqueueParts(bytes);
      this.cursor++;
      emitted = true;
      if (this.cursor >= this.#endChunk) {
        this.#hooks.onComplete();
        this.stop();
        this.#ctrl.close();
      }
    }
    if (emitted) this.#notify();
    return emitted;
  }

  /** Resolves the next time the cursor moves (or the output stops). */
  moved(): Promise<void> {
    return new Promise<void>((r) => this.#waiters.push(r));
  }

  /** Stops taking chunks and drops held ones; the stream stays open for {@link finish}/{@link error}. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#held.clear();
    this.#notify();
  }

  /** Ends an empty output (nothing to emit) at once. */
  closeEmpty(): void {
    this.stop();
    this.#ctrl.close();
  }

  /** Errors the stream (e.g. the caller aborted). */
  error(reason: unknown): void {
    this.stop();
    this.#ctrl.error(reason);
  }

  /** Finishes the stream with another body's bytes (the plain-edge fallback after a fatal error). */
  async finish(body: ReadableStream<Uint8Array>): Promise<void> {
    this.stop();
    const reader = body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return this.#ctrl.close();
        this.#ctrl.enqueue(value);
      }
    } catch (e) {
      this.#ctrl.error(e);
    }
  }

  /** Chunk `cursor`'s parts, cut to the range like {@link sliceChunk} cuts a whole chunk. */
  #enqueueParts(parts: readonly Uint8Array[]): void {
    const base = this.cursor * this.#chunkSize;
    const from = this.#range.start - base;
    const to = this.#range.end - base;
    let at = 0;
    for (const p of parts) {
      const a = Math.max(0, from - at);
      const b = Math.min(p.length, to - at);
      at += p.length;
      if (b > a) this.#ctrl.enqueue(a === 0 && b === p.length ? p : p.subarray(a, b));
    }
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
    this.#pullResolve?.();
    this.#pullResolve = null;
  }
}
