/**
 * Committing a fill to the Cache API so that only a complete body is ever served as complete.
 *
 * Platform quirk this module exists for: when the origin socket drops mid-body, `cache.put` can
 * resolve and keep the prefix it had read (a stub that throws a JavaScript `Error` makes `put`
 * reject instead — only a real socket shows it). So the edge never trusts `put`: it counts the
 * bytes itself (the fanout's `expectedLength`, then {@link FillOutcome}). A fill is put under a
 * pending key that is never served, and copied to its real key (with its now known length) only
 * after the origin body ended cleanly; a failed fill's pending entry is deleted at once. Even a put
 * that resolved is not proof of visibility order (measured: a failed fill's prefix could still
 * appear under its key after a delete), so nothing short is ever put under a servable key. A hit
 * whose stored body ends short of its stored Content-Length (the copy step failing) errors instead
 * of ending cleanly, and is deleted.
 */
import { OBJECT_ID } from "./edge-cache";
import { STORED_AT } from "./freshness";
import { TruncatedBodyError, type StreamObserver } from "./stream-fanout";

const INTERNAL_HOST = "https://edgeswarm.internal";

/** Cache key of a body while it is being filled (never served). */
export function pendingKey(objectId: string): string {
  return `${INTERNAL_HOST}/pending/${encodeURIComponent(objectId)}`;
}

/** How a fill's origin body ended: cleanly with `size` bytes, or not. */
export type FillOutcome = { clean: true; size: number } | { clean: false; reason: unknown };

/**
 * Wraps an observer to also learn how the stream ended. `outcome` settles when the fanout has seen
 * the end or the failure (before its branches close or error).
 */
export function outcomeObserver(inner: StreamObserver): { observer: StreamObserver; outcome: Promise<FillOutcome> } {
  let settle!: (o: FillOutcome) => void;
  const outcome = new Promise<FillOutcome>((r) => (settle = r));
  let size = 0;
  return {
    outcome,
    observer: {
      chunk(bytes) {
        size += bytes.byteLength;
        return inner.chunk(bytes);
      },
      async end() {
        try {
          await inner.end();
        } finally {
          settle({ clean: true, size });
        }
      },
      fail(reason) {
        settle({ clean: false, reason });
        inner.fail(reason);
      },
    },
  };
}

/** Deletes `key` if it still holds object version `objectId` (not a newer fill's copy). */
export async function dropIfOurs(cache: Cache, key: string, objectId: string): Promise<void> {
  const held = await cache.match(key);
  if (!held) return;
  held.body?.cancel().catch(() => {});
  if (held.headers.get(OBJECT_ID) === objectId) await cache.delete(key);
}

/**
 * How long a pending entry may outlive its fill if the Worker dies before deleting it (seconds):
 * it is never served, this only bounds the space it takes.
 */
export const PENDING_KEEP_SECONDS = 3600;

/** Headers of a pending entry: the stored headers, kept only {@link PENDING_KEEP_SECONDS}. */
export function pendingHeaders(stored: Headers): Headers {
  const h = new Headers(stored);
  h.set("cache-control", `public, s-maxage=${PENDING_KEEP_SECONDS}`);
  return h;
}

/**
 * Copies the complete body stored under `from` to `to` with `headers` and `Content-Length: size`,
 * then deletes `from`. Skipped (and `from` dropped) if `from` is gone or does not hold exactly
 * `size` bytes.
 */
export async function promote(cache: Cache, from: string, to: string, size: number, headers: Headers): Promise<boolean> {
  const held = await cache.match(from);
  if (!held) return false;
  const h = new Headers(headers);
  h.set("content-length", String(size));
  const fixed = new FixedLengthStream(size);
  const copied = held.body ? held.body.pipeTo(fixed.writable) : fixed.writable.close();
  try {
    await Promise.all([cache.put(to, new Response(fixed.readable, { status: 200, headers: h })), copied]);
    return true;
  } catch {
    await cache.delete(to).catch(() => false);
    return false;
  } finally {
    await cache.delete(from).catch(() => false);
  }
}

/**
 * A stored body checked against its stored Content-Length: a copy that ends short errors the
 * reader (never a clean short end) and `onShort` runs (to delete it). The check is a counter per
 * read (not per byte); the length is kept with a FixedLengthStream (workerd sends a plain JS
 * stream chunked). Measured: a FixedLengthStream fed too few bytes errors its reader but resolves
 * `close()`, so it cannot tell the edge itself that the copy was short.
 */
export function guardedBody(body: ReadableStream<Uint8Array> | null, length: number | null, onShort: () => void, onWhole: () => void = () => {}): ReadableStream<Uint8Array> | null {
  if (body === null || length === null) return body;
  let seen = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      seen += chunk.byteLength;
      c.enqueue(chunk);
    },
    flush(c) {
      if (seen === length) return onWhole();
      onShort();
      c.error(new TruncatedBodyError(`stored body has ${seen} of ${length} bytes`));
    },
  });
  const fixed = new FixedLengthStream(length);
  body.pipeThrough(counter).pipeTo(fixed.writable).catch(() => {});
  return fixed.readable as ReadableStream<Uint8Array>;
}

/** Most stored copies {@link WholeCopies} remembers per isolate (least recently seen forgotten first). */
const MAX_WHOLE_COPIES = 4096;

/**
 * Stored copies this isolate has read to their full stored length, by object id, store time and
 * length: their later hits pass the cache's body through untouched instead of through
 * {@link guardedBody}. Why: the guard is a JS hop per chunk — measured in Miniflare, ~114 ms of CPU
 * per 8 MiB hit against ~2 ms for the native pass-through, which saturated `npm start`'s one workerd
 * thread under a few tabs of hits. A copy seen whole cannot turn short under the same identity: a
 * short entry is only ever a put of its own that failed (a new object id, or a refresh with a new
 * store time), and that one is guarded on its first hit here.
 */
export class WholeCopies {
  readonly #seen = new Map<string, true>();

  /** The identity of the stored copy behind `headers`, or null (not an object version the edge made). */
  static keyOf(headers: Headers, length: number): string | null {
    const id = headers.get(OBJECT_ID);
    return id === null ? null : `${id} ${headers.get(STORED_AT) ?? ""} ${length}`;
  }

  has(key: string): boolean {
    if (!this.#seen.has(key)) return false;
    this.#seen.delete(key); // most recent last
    this.#seen.set(key, true);
    return true;
  }

  add(key: string): void {
    this.#seen.delete(key);
    this.#seen.set(key, true);
    if (this.#seen.size > MAX_WHOLE_COPIES) this.#seen.delete(this.#seen.keys().next().value!);
  }
}
