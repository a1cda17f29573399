/**
 * Cold items (the edge has not hashed them yet, `/m/` answered 202 pending): the page streams the
 * item from `/c/` at once, and a copy of those bytes is kept aside so that, once the manifest
 * exists, they can be verified chunk by chunk against it and seeded — the first visitor of an item
 * neither waits for the edge's hash nor downloads it twice to share it.
 */
import { DEFAULTS } from "./defaults";
import type { Manifest, ManifestResponse } from "../protocol/manifest";
import type { ChunkStoreLike } from "./chunk-store";
import type { ManifestAnswer } from "./edge-client";

/** What serving a cold item needs from the SDK instance. */
export interface ColdContext {
  /** The plain edge fetch of the request (`/c/`, headers as given), or the item `/m/` sent inline. */
  plain(): Promise<Response>;
  /** The page's signal: aborting it errors the body (an inline item was not fetched with it). */
  signal?: AbortSignal | null;
  /** `Retry-After` of the pending answer, seconds. */
  retryAfter: number;
  /** The request asked for a range: pass the edge's answer through, keep nothing. */
  hasRange: boolean;
  /** Largest body kept aside to seed, bytes (`DEFAULTS.coldCopyMaxBytes`). */
  maxCopyBytes: number;
  /** How long the kept copy waits for the manifest, ms (default `DEFAULTS.coldSeedWaitMs`). */
  seedWaitMs?: number;
  closed(): boolean;
  /** Asks `/m/` again (not from the cache). */
  manifest(): Promise<ManifestAnswer>;
  store: Promise<Pick<ChunkStoreLike, "put">>;
  /** Chunk verification against its SHA-256 (hex). */
  verify(bytes: Uint8Array, sha256: string): Promise<boolean>;
  /** Joins the item's swarm (seeding what the store holds). */
  join(mr: ManifestResponse): Promise<unknown>;
  /**
   * Counts content bytes the page reads from the edge's answer (`piece` = their ordinal in the
   * stream: no manifest, so no chunk index yet) — cold bytes are edge bytes in `stats()`.
   */
  counted?(piece: number, bytes: number): void;
  /** The edge answered the whole item (200 with a length) of `size` bytes, before any is counted. */
  begin?(size: number): void;
}

/**
 * Serves a cold item: the edge's `/c/` response at once (Range and all, as a plain fetch). A full 200
 * body is kept aside (up to `maxCopyBytes`); once it is complete `/m/` is asked again (then after
 * `retryAfter` seconds, doubling, while it is pending, for up to `DEFAULTS.coldSeedWaitMs`), and with the manifest the kept bytes are verified chunk by
 * chunk, stored, and the swarm joined — this first visitor seeds what it downloaded once.
 *
 * @example
 * return serveCold({ plain, retryAfter: 2, hasRange: false, closed, manifest, store, join });
 */
export async function serveCold(c: ColdContext): Promise<Response> {
  const res = await c.plain();
  if ((res.status !== 200 && res.status !== 206) || !res.body) return res;
  let body: ReadableStream<Uint8Array> = res.body;
  const length = Number(res.headers.get("content-length") ?? NaN);
  if (res.status === 200 && Number.isSafeInteger(length)) c.begin?.(length);
  if (res.status === 200 && !c.hasRange) {
    const { page, copy } = keepCopy(body, c.maxCopyBytes);
    void copy.then((bytes) => bytes && seedLater(c, bytes));
    body = page;
  }
  return new Response(countedBody(body, c.counted, c.signal), { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** `body`, reporting each piece the page reads, and erroring with the signal's reason on abort. */
function countedBody(body: ReadableStream<Uint8Array>, counted?: (piece: number, bytes: number) => void, signal?: AbortSignal | null): ReadableStream<Uint8Array> {
  let piece = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      // Errors the page's side even with bytes still queued, as fetch() does (Fetch §4.6: an aborted
      // fetch errors its body); the pipe then cancels the source.
      start: (out) => signal?.addEventListener("abort", () => out.error(signal.reason), { once: true }),
      transform(bytes, out) {
        counted?.(piece++, bytes.length);
        out.enqueue(bytes);
      },
    }),
  );
}

async function seedLater(c: ColdContext, bytes: Uint8Array): Promise<void> {
  const giveUpAt = Date.now() + (c.seedWaitMs ?? DEFAULTS.coldSeedWaitMs);
  // First ask at once: the whole body has arrived, so the edge's fill (which the hashing rides on)
  // has ended and the manifest is usually there — a live segment's next viewers are asking for it
  // now. Then after `retryAfter`, doubling (each wait ≤ 8 s), while it is pending and time is left.
  for (let wait = 0, step = Math.max(0.25, Math.min(c.retryAfter, 8)) * 1000; !c.closed(); step = Math.min(step * 2, 8_000)) {
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (c.closed()) return;
    const mr = await c.manifest();
    if (!mr || mr === "ineligible" || c.closed()) return;
    if ("pending" in mr) {
      if (Date.now() + step > giveUpAt) return;
      wait = step;
      continue;
    }
    const stored = await seedVerified(await c.store, mr.manifest, bytes, c.verify);
    if (stored && !c.closed()) await c.join(mr);
    return;
  }
}

/**
 * Splits `body` in two: the page's stream, and a promise of the whole body's bytes (`null` when it
 * exceeds `maxBytes`, fails, or the page cancels before the end — nothing partial is ever seeded).
 *
 * @example
 * const { page, copy } = keepCopy(res.body, 64 << 20);
 * return new Response(page, res); // copy resolves once the page has read it all
 */
export function keepCopy(body: ReadableStream<Uint8Array>, maxBytes: number): { page: ReadableStream<Uint8Array>; copy: Promise<Uint8Array | null> } {
  const [page, side] = body.tee();
  const copy = (async () => {
    const reader = side.getReader();
    const parts: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > maxBytes) {
          await reader.cancel().catch(() => {});
          return null;
        }
        parts.push(value);
      }
    } catch {
      return null;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  })();
  return { page, copy };
}

/**
 * Stores every chunk of `bytes` (the whole item) that matches `manifest`; returns how many. A size
 * mismatch (the item changed between the stream and the manifest) stores nothing.
 *
 * @example
 * await seedVerified(store, manifest, bytes, verify); // e.g. 41
 */
export async function seedVerified(
  store: Pick<ChunkStoreLike, "put">,
  m: Manifest,
  bytes: Uint8Array,
  verify: (bytes: Uint8Array, sha256: string) => Promise<boolean>,
): Promise<number> {
  if (bytes.length !== m.size) return 0;
  const info = { root: m.root, url: m.url, size: m.size, chunkSize: m.chunkSize, type: m.type };
  let stored = 0;
  for (let i = 0; i < m.chunks.length; i++) {
    // Chunk i is bytes [i·chunkSize, min((i+1)·chunkSize, size)) (protocol/manifest.ts chunkRange;
    // not imported, so this lazily loaded module shares no code chunk with the first-load script).
    const chunk = bytes.subarray(i * m.chunkSize, Math.min((i + 1) * m.chunkSize, m.size));
    if (!(await verify(chunk, m.chunks[i]!))) continue;
    if (await store.put(info, i, chunk.slice())) stored++;
  }
  return stored;
}
