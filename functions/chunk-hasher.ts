/**
 * Incremental chunk hashing for manifests: bytes go in as they stream past, SHA-256 of every
 * `chunkSize` block comes out. Holds at most one chunk (the block being filled); WebCrypto copies
 * its input when `digest` is called, so the block buffer is reused.
 */
import { MAX_CHUNKS, computeRoot, toHex, type Manifest } from "../protocol/manifest";
import { bulkReader } from "./bulk-reader";
import { TruncatedBodyError, type StreamObserver } from "./stream-fanout";

/** Thrown when an object needs more than {@link MAX_CHUNKS} chunks. */
export class TooLargeError extends Error {
  override readonly name = "TooLargeError";
}

/**
 * Hashes a byte stream chunk by chunk.
 * @example
 * const h = new ChunkHasher(256 * 1024);
 * for await (const b of body) await h.update(b);
 * const { chunks, size } = await h.finish();
 */
export class ChunkHasher {
  private readonly block: Uint8Array<ArrayBuffer>;
  private fill = 0;
  private size = 0;
  private readonly chunks: string[] = [];

  constructor(readonly chunkSize: number) {
    this.block = new Uint8Array(chunkSize);
  }

  /** Adds bytes; awaits the digest of every block it completes. */
  async update(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) {
      const n = Math.min(this.chunkSize - this.fill, bytes.byteLength - off);
      this.block.set(bytes.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      this.size += n;
      if (this.fill === this.chunkSize) await this.flush();
    }
  }

  /** Hashes the last (short) block and returns all chunk hashes and the total size. */
  async finish(): Promise<{ chunks: string[]; size: number }> {
    if (this.fill > 0) await this.flush();
    return { chunks: [...this.chunks], size: this.size };
  }

  private async flush(): Promise<void> {
    if (this.chunks.length >= MAX_CHUNKS) throw new TooLargeError(`more than ${MAX_CHUNKS} chunks`);
    this.chunks.push(toHex(await crypto.subtle.digest("SHA-256", this.block.subarray(0, this.fill))));
    this.fill = 0;
  }
}

/** What a manifest needs besides the hashes. */
export type ManifestMeta = Pick<Manifest, "url" | "version" | "type">;

/** Builds a {@link Manifest} from hashing results. */
export async function buildManifest(meta: ManifestMeta, chunkSize: number, hashed: { chunks: string[]; size: number }): Promise<Manifest> {
  return { ...meta, size: hashed.size, chunkSize, chunks: hashed.chunks, root: await computeRoot(hashed.chunks) };
}

/**
 * A {@link StreamObserver} that hashes what passes through a fanout and settles `result` with the
 * manifest (or `null` when the stream failed or was too large — the content itself is unaffected).
 */
export function manifestObserver(meta: ManifestMeta, chunkSize: number): { observer: StreamObserver; result: Promise<Manifest | null> } {
  const hasher = new ChunkHasher(chunkSize);
  let settle!: (m: Manifest | null) => void;
  const result = new Promise<Manifest | null>((r) => (settle = r));
  let broken = false;
  return {
    result,
    observer: {
      async chunk(bytes) {
        if (broken) return;
        try {
          await hasher.update(bytes);
        } catch {
          broken = true; // too large for a manifest: keep streaming the content, just stop hashing
          settle(null);
        }
      },
      async end() {
        if (broken) return;
        try {
          settle(await buildManifest(meta, chunkSize, await hasher.finish()));
        } catch {
          settle(null);
        }
      },
      fail() {
        settle(null);
      },
    },
  };
}

/**
 * Hashes a whole stream (e.g. a cached body) into a manifest, reading it once. With `expectedSize`
 * (the stored Content-Length), a body of any other length throws {@link TruncatedBodyError}: a
 * manifest must never certify a prefix.
 */
export async function hashStream(body: ReadableStream<Uint8Array>, meta: ManifestMeta, chunkSize: number, expectedSize: number | null = null): Promise<Manifest> {
  const hasher = new ChunkHasher(chunkSize);
  const reader = bulkReader(body);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await hasher.update(value);
    }
  } catch (e) {
    reader.cancel(e).catch(() => {});
    throw e;
  }
  const hashed = await hasher.finish();
  if (expectedSize !== null && hashed.size !== expectedSize) throw new TruncatedBodyError(`stored body has ${hashed.size} of ${expectedSize} bytes`);
  return buildManifest(meta, chunkSize, hashed);
}
