/**
 * Test helpers for the edge Worker suite: an in-isolate origin (a `fetch` spy that records every
 * outgoing request, so tests can assert hit counts and that no other host was ever contacted),
 * deterministic bytes, and a way to call the Worker and wait for its `waitUntil` work (cache puts).
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { vi } from "vitest";
import worker from "../../functions/index";
import { prng } from "../../demo/deterministic-bytes.mjs";

/** Base URL of the `/assets/` route in vitest.workers.config.ts. */
export const ORIGIN = "https://origin.test/assets/";

/** A recorded origin request. */
export interface OriginCall {
  url: string;
  method: string;
  headers: Headers;
}

/** Handler of the stub origin. `init.signal` is the Worker's abort signal (for timeouts). */
export type OriginHandler = (req: Request, signal: AbortSignal | undefined) => Response | Promise<Response>;

/**
 * Replaces `fetch` in this isolate with `handler`; returns the call log.
 * @example
 * const origin = stubOrigin(() => new Response("hi", { headers: { "cache-control": "public, max-age=60" } }));
 */
export function stubOrigin(handler: OriginHandler) {
  const calls: OriginCall[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input as RequestInfo, init);
    calls.push({ url: req.url, method: req.method, headers: req.headers });
    return handler(req, init?.signal ?? undefined);
  });
  return {
    calls,
    /** Requests to `url` (exact). */
    hits: (url: string) => calls.filter((c) => c.url === url).length,
    /** Every host contacted. */
    hosts: () => [...new Set(calls.map((c) => new URL(c.url).host))],
  };
}

/** A unique asset path under the `/assets/` route, so tests never share cache entries. */
export function uniquePath(ext = "bin"): string {
  return `${crypto.randomUUID()}.${ext}`;
}

/** Deterministic pseudo-random bytes (xorshift32): the demo origin's generator — the same `seed` and offset give the same bytes. */
export { prng };

/** `size` deterministic bytes (sizes that are multiples of 4 keep the PRNG aligned across calls). */
export function bytes(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  prng(seed)(out);
  return out;
}

/** Calls the Worker, reads the whole body, then waits for its waitUntil work (cache writes). */
export async function call(path: string, init?: RequestInit): Promise<{ res: Response; body: Uint8Array }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), env, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body };
}

/** Calls the Worker and returns the response unread, plus a function to await its waitUntil work. */
export async function open(path: string, init?: RequestInit): Promise<{ res: Response; settled: () => Promise<void> }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), env, ctx);
  return { res, settled: () => waitOnExecutionContext(ctx) };
}

/** Lowercase hex SHA-256 of bytes. */
export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** An origin response for a public asset. */
export function asset(body: Uint8Array<ArrayBuffer> | string, headers: Record<string, string> = {}): Response {
  const len = typeof body === "string" ? new TextEncoder().encode(body).byteLength : body.byteLength;
  return new Response(body, {
    headers: { "content-type": "application/octet-stream", "content-length": String(len), "cache-control": "public, max-age=3600", etag: '"v1"', "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT", ...headers },
  });
}

/** Byte equality without vitest's element-by-element deep diff (slow on large arrays). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * `GET /m/…` as the SDK does it: a `202` pending answer (the item was cold: its fill, and hash, ran
 * in the first call's waitUntil) is followed by one more request, whose answer is returned.
 */
export async function callManifest(path: string, init?: RequestInit): Promise<{ res: Response; body: Uint8Array; first: Response }> {
  const first = await call(path, init);
  if (first.res.status !== 202) return { ...first, first: first.res };
  return { ...(await call(path, init)), first: first.res };
}

/** Piece size of {@link generatingOrigin}'s body. */
export const PIECE = 64 * 1024;

/**
 * An origin that generates `size` deterministic bytes (`prng(seed)`) on demand, in 64 KiB pieces
 * pulled one at a time, and counts what it produced and how many bodies it began.
 */
export function generatingOrigin(size: number, seed: number, etag = '"big"') {
  const stats = { produced: 0, bodies: 0 };
  const origin = stubOrigin(() => {
    stats.bodies++;
    const gen = prng(seed);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (sent >= size) return c.close();
          const piece = new Uint8Array(Math.min(PIECE, size - sent));
          gen(piece);
          sent += piece.byteLength;
          stats.produced += piece.byteLength;
          c.enqueue(piece);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { headers: { "content-length": String(size), "content-type": "application/octet-stream", "cache-control": "public, max-age=3600", etag } });
  });
  return { origin, stats };
}
