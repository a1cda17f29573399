/**
 * A bounded tee: one byte stream read once and delivered to N branches, with backpressure from the
 * slowest live branch. `ReadableStream.tee()` backpressures to the *faster* branch and queues
 * without limit for the slower one (whatwg/streams#1233) — with a fast `cache.put` and a slow client
 * that is the whole object in memory, which a 128 MB Worker cannot afford for large assets.
 *
 * Here the source is read only while every live branch wants data, so each branch queues at most
 * `highWaterMark` bytes (plus one source read). A cancelled branch (client went away) stops
 * counting and the others continue. An optional observer sees every chunk before the branches do
 * (the manifest hasher), and may apply backpressure by returning a promise.
 */

import { bulkReader } from "./bulk-reader";

/** Sees each chunk in order, then the end or the failure. */
export interface StreamObserver {
  chunk(bytes: Uint8Array): void | Promise<void>;
  end(): void | Promise<void>;
  fail(reason: unknown): void;
}

/** Options of {@link fanout}. */
export interface FanoutOptions {
  /** Bytes each branch may queue before the source is paused. Default 1 MiB. */
  highWaterMark?: number;
  /** A read from the source that takes longer than this (ms) errors every branch. */
  idleTimeoutMs?: number;
  /**
   * The whole source must have ended within this many ms of the fanout's creation, else every
   * branch errors: an origin dripping one byte per idle period would otherwise hold a fill forever.
   */
  deadlineMs?: number;
  /**
   * The byte count the source announced (Content-Length). A source that ends with any other count
   * errors every branch instead of closing them: a short body is a failed body, never a clean end.
   */
  expectedLength?: number | null;
  observer?: StreamObserver;
}

/** Error raised into the branches when the source stalls past `idleTimeoutMs`. */
export class SourceIdleError extends Error {
  override readonly name = "SourceIdleError";
}

/** Error raised into the branches when the source has not ended by `deadlineMs`. */
export class SourceDeadlineError extends Error {
  override readonly name = "SourceDeadlineError";
}

/** Error raised into the branches when the source ends short of (or past) `expectedLength`. */
export class TruncatedBodyError extends Error {
  override readonly name = "TruncatedBodyError";
}

/**
 * Splits `source` into `count` branches with slowest-branch backpressure.
 * @example
 * const [toClient, toCache] = fanout(originRes.body!, 2, { highWaterMark: 1 << 20 });
 * ctx.waitUntil(caches.default.put(key, new Response(toCache, stored)));
 * return new Response(toClient, originRes);
 */
export function fanout(source: ReadableStream<Uint8Array>, count: number, options: FanoutOptions = {}): ReadableStream<Uint8Array>[] {
  const hwm = options.highWaterMark ?? 1 << 20;
  // Large pieces from a platform stream: every step below runs once per piece (functions/bulk-reader.ts).
  const reader = bulkReader(source);
  const controllers: (ReadableStreamDefaultController<Uint8Array> | null)[] = [];
  let pumping = false;
  let finished = false;
  let total = 0;
  let deadline: ReturnType<typeof setTimeout> | undefined;

  const live = () => controllers.filter((c): c is ReadableStreamDefaultController<Uint8Array> => c !== null);

  const read = (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    if (!options.idleTimeoutMs) return reader.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SourceIdleError(`origin sent nothing for ${options.idleTimeoutMs} ms`)), options.idleTimeoutMs);
    });
    return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
  };

  const fail = (reason: unknown) => {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    options.observer?.fail(reason);
    for (const c of live()) c.error(reason);
    reader.cancel(reason).catch(() => {});
  };

  const pump = async () => {
    if (pumping || finished) return;
    pumping = true;
    try {
      // Read only while every live branch has room: the slowest branch sets the pace.
      while (!finished && live().length > 0 && live().every((c) => (c.desiredSize ?? 0) > 0)) {
        const { done, value } = await read();
        if (finished) return;
        if (done) {
          const expected = options.expectedLength;
          if (expected !== undefined && expected !== null && total !== expected)
            throw new TruncatedBodyError(`source ended at ${total} of ${expected} bytes`);
          finished = true;
          clearTimeout(deadline);
          try {
            await options.observer?.end();
          } catch {
            // The observer's own failure (e.g. a hash error) must not truncate the content.
          }
          for (const c of live()) c.close();
          return;
        }
        if (!value || value.byteLength === 0) continue;
        total += value.byteLength;
        await options.observer?.chunk(value);
        // Consumers may transfer (detach) what they read: each extra branch gets its own copy.
        live().forEach((c, i) => c.enqueue(i === 0 ? value : value.slice()));
      }
    } catch (e) {
      fail(e);
    } finally {
      pumping = false;
    }
  };

  if (options.deadlineMs) {
    const ms = options.deadlineMs;
    deadline = setTimeout(() => fail(new SourceDeadlineError(`source did not end within ${ms} ms`)), ms);
  }

  return Array.from({ length: count }, (_, i) =>
    new ReadableStream<Uint8Array>(
      {
        start(controller) {
          controllers[i] = controller;
        },
        pull() {
          void pump();
        },
        cancel() {
          controllers[i] = null;
          if (live().length === 0) {
            if (!finished) {
              finished = true;
              clearTimeout(deadline);
              options.observer?.fail(new Error("all branches cancelled"));
              reader.cancel("all branches cancelled").catch(() => {});
            }
          } else void pump();
        },
      },
      { highWaterMark: hwm, size: (chunk) => chunk.byteLength },
    ),
  );
}
