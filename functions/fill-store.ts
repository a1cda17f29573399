/**
 * Storing a whole object (below `CHUNKED_STORAGE_MIN_BYTES`, or of unknown length) while it streams
 * to the client: a bounded fanout feeds the client, `cache.put` (under a pending key, promoted after
 * a clean end: functions/fill-commit.ts), the manifest hasher and — as a fill's leader — the fill
 * lock's relay. Also the body-length helpers every serving path uses.
 */
import type { Manifest } from "../protocol/manifest";
import { manifestObserver } from "./chunk-hasher";
import type { Loaded, LoaderDeps } from "./content-loader";
import { clientHeaders, manifestKey, storedHeaders, versionOf } from "./edge-cache";
import type { FillLead } from "./fill-join";
import { outcomeObserver, pendingHeaders, pendingKey, promote, type FillOutcome } from "./fill-commit";
import type { ResolvedPath } from "./route-table";
import { withLength } from "./native-stream";
import { fanout, type StreamObserver } from "./stream-fanout";

export { withLength };

/** Bytes each fanout branch may queue: bounded memory whatever the client's speed. */
const BRANCH_BUFFER = 1 << 20;

const emptyBody = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

/** Parses a Content-Length header, or null. */
export function contentLength(h: Headers): number | null {
  const v = h.get("content-length");
  if (v === null || !/^\d{1,15}$/.test(v)) return null;
  return Number(v);
}

/**
 * workerd's fetch() decodes a `gzip`/`br` body but keeps `Content-Encoding` and the *encoded*
 * `Content-Length` (measured with miniflare: 100000 bytes read, `content-length: 133`). Stored as
 * is, the length check would fail every put and break the client's stream; the edge serves and
 * hashes the identity bytes it holds, so both headers go.
 */
export function decoded(res: Response): Response {
  const ce = res.headers.get("content-encoding");
  if (ce === null || ce === "identity") return res;
  const h = new Headers(res.headers);
  h.delete("content-encoding");
  h.delete("content-length");
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
}

/** A variant peers never share needs no manifest: its bytes pass unhashed. */
const NOT_HASHED: { observer: StreamObserver; result: Promise<Manifest | null> } = {
  observer: { chunk() {}, end() {}, fail() {} },
  result: Promise.resolve(null),
};

export function storeAndStream(deps: LoaderDeps, key: string, target: ResolvedPath, res: Response, lead: FillLead | null, shared: boolean): Loaded {
  const { cache, cfg } = deps;
  const now = deps.now();
  const objectId = crypto.randomUUID();
  const stored = storedHeaders(res.headers, now, cfg.staleKeepSeconds, objectId);
  const length = contentLength(res.headers);
  const hashing = shared
    ? manifestObserver(
      { url: `/c${target.path}`, version: versionOf(res.headers), type: res.headers.get("content-type") ?? "application/octet-stream" },
      cfg.chunkSize,
    )
    : NOT_HASHED;
  const counted = outcomeObserver(hashing.observer);
  const { outcome } = counted;
  // The lock learns of a clean end before any branch closes (the fanout awaits `end`), so the
  // leader's client cannot ask again before the lock knows the fill ended: that next miss then
  // waits for the committed copy instead of joining or refetching.
  const observer: StreamObserver = lead
    ? {
        chunk: (bytes) => counted.observer.chunk(bytes),
        fail: (reason) => counted.observer.fail(reason),
        async end() {
          try {
            await counted.observer.end();
          } finally {
            const o = await outcome;
            if (o.clean) await lead.end(o.size);
          }
        },
      }
    : counted.observer;
  const [toClient, toCache, toLock] = fanout(res.body ?? emptyBody(), lead ? 3 : 2, {
    highWaterMark: BRANCH_BUFFER,
    idleTimeoutMs: cfg.originTimeoutMs,
    deadlineMs: cfg.fill.deadlineMs,
    expectedLength: length,
    observer,
  }) as [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>, ReadableStream<Uint8Array>?];
  if (lead && toLock) {
    // Misses that arrive meanwhile stream from the lock's copy; they learn the end only from `end`.
    deps.waitUntil(lead.feed(stored, length, toLock));
    deps.waitUntil(outcome.then((o) => (o.clean ? undefined : lead.abandon(String(o.reason)))));
  }
  // A clean end is the only proof of a complete body: the manifest is published only with it.
  const manifest = Promise.all([hashing.result, outcome]).then(([m, o]) => (o.clean ? m : null));
  deps.waitUntil(
    commit(cache, key, objectId, stored, length, toCache, outcome, manifest, cfg.staleKeepSeconds, cfg.chunkSize)
      .catch((e) => console.warn("edge:store", key, e))
      .finally(() => lead?.release()),
  );
  return {
    response: new Response(withLength(toClient, length), { status: 200, headers: clientHeaders(stored, now) }),
    cache: "MISS",
    ...(shared ? { eligible: true } : { eligible: false, reason: "vary" }),
    objectId,
    manifest,
    key,
  };
}

/**
 * Stores one fill: under a pending key first, promoted to its real key (with its length) only after
 * the origin body ended cleanly (`functions/fill-commit.ts` says why); a failed fill's pending copy
 * is deleted at once. The manifest is stored last, only for a committed object.
 */
async function commit(
  cache: Cache, key: string, objectId: string, stored: Headers, length: number | null, body: ReadableStream<Uint8Array>,
  outcome: Promise<FillOutcome>, manifest: Promise<Manifest | null>, keepSeconds: number, chunkSize: number,
): Promise<void> {
  const putKey = pendingKey(objectId);
  const put = await cache.put(putKey, new Response(withLength(body, length), { status: 200, headers: pendingHeaders(stored) })).then(
    () => true,
    () => false,
  );
  const end = await outcome;
  if (!put || !end.clean) {
    await cache.delete(putKey);
    if (!end.clean) console.warn("edge:fill-failed", key, String(end.reason));
    return;
  }
  if (!(await promote(cache, putKey, key, end.size, stored))) return;
  const m = await manifest;
  if (m) await cache.put(manifestKey(objectId, chunkSize), manifestResponse(m, keepSeconds));
}

/** How a manifest is stored in the Cache API. */
export function manifestResponse(m: Manifest, keepSeconds: number): Response {
  return new Response(JSON.stringify(m), {
    headers: { "content-type": "application/json", "cache-control": `public, s-maxage=${Math.max(60, keepSeconds)}` },
  });
}

