/**
 * Reading a platform byte stream (an origin `fetch` body, a cached body, a Durable Object request
 * body) in large pieces, where the JavaScript work is per piece.
 *
 * Platform quirk this exists for: workerd's default reader of a native byte stream hands out 4 KiB
 * chunks (2,049–2,113 reads for an 8 MiB origin body, measured in Miniflare), and every JS hop after
 * it — the fanout, its idle timer, the hasher, the branch pumps, the fill relay — then runs ~2,000
 * times per 8 MiB. A BYOB `read(view)` fills the view with whatever the socket has buffered, up to
 * its size, and still resolves as soon as *any* byte is there (min 1): the same body in 33 reads of
 * 256 KiB, while a dripping origin's single byte arrives at once (docs/edge.md "Local development").
 * So there is no trade-off against first-byte latency or the idle timeout, unlike `readAtLeast`.
 */

/** Bytes asked of each read: the size of the pieces on a fast source. */
export const BULK_READ_BYTES = 256 * 1024;

/** The reader half a consumer needs: `read`, `cancel`, `releaseLock`, as on a default reader. */
export interface BulkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}

/**
 * A reader of `stream` in pieces of up to `size` bytes when it is a byte stream (BYOB), else its
 * default reader (a JS-built stream: its chunks are whatever its producer enqueued).
 * Each piece is its own buffer (consumers may queue or transfer it), except that a short piece —
 * under a quarter of `size`, e.g. a slow origin's trickle — is copied out so that the queues behind
 * it hold its bytes, not a mostly empty `size`-byte buffer; that buffer serves the next read.
 * @example
 * const reader = bulkReader(res.body!);
 * for (let r = await reader.read(); !r.done; r = await reader.read()) use(r.value);
 */
export function bulkReader(stream: ReadableStream<Uint8Array>, size = BULK_READ_BYTES): BulkReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    return stream.getReader(); // not a byte stream
  }
  let spare: ArrayBuffer | null = null;
  return {
    async read() {
      const view = new Uint8Array(spare ?? new ArrayBuffer(size));
      spare = null;
      const r = await byob.read(view);
      const value = r.value;
      if (r.done || !value) return { done: true, value: undefined };
      if (value.byteLength >= size / 4) return { done: false, value };
      spare = value.buffer as ArrayBuffer; // transferred back to us by the read
      return { done: false, value: value.slice() };
    },
    cancel: (reason) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
}
