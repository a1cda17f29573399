/**
 * Loading one content item through the edge cache: fresh hit → cache; stale → conditional
 * revalidation; miss → origin, streamed to the caller while a bounded fanout feeds `cache.put`
 * and the manifest hasher (so the first download also yields the manifest). Origin failure with a
 * stored copy → the stale copy (RFC 5861 stale-if-error), unless the origin said `must-revalidate`
 * or `proxy-revalidate`.
 */
import type { Manifest } from "../protocol/manifest";
import { manifestObserver } from "./chunk-hasher";
import type { EdgeConfig } from "./edge-config";
import { OBJECT_ID, clientHeaders, contentKey, manifestKey, revalidatedHeaders, storedHeaders, versionOf } from "./edge-cache";
import { eligibility, type IneligibleReason } from "./eligibility";
import type { FillJoin, FillLead, FillLockFactory } from "./fill-join";
import { dropIfOurs, guardedBody, outcomeObserver, pendingHeaders, pendingKey, promote, type FillOutcome } from "./fill-commit";
import { ORIGIN_CDN_CACHE_CONTROL, isFresh, mayRevalidateInBackground, mayServeStale, onlyIfCached, requestForcesValidation, requestReuse } from "./freshness";
import { HttpError } from "./http-error";
import { fetchOrigin } from "./origin-fetch";
import type { ResolvedPath } from "./route-table";
import { mayStoreStatus, storeStatus } from "./status-cache";
import { fanout, type StreamObserver } from "./stream-fanout";
import { forwardedHeaders, newGeneration, readVaryRecord, sameFields, singleVariant, unsentFields, variantKey, varyFields, varyRecordResponse, type VaryRecord } from "./vary-key";

/** Value of `X-Edgeswarm-Cache`. */
export type CacheStatus = "HIT" | "MISS" | "STALE" | "BYPASS";

/** Platform services, injected so tests and other runtimes can substitute them. */
export interface LoaderDeps {
  cache: Cache;
  cfg: EdgeConfig;
  now: () => number;
  waitUntil: (p: Promise<unknown>) => void;
  /** The per-object fill lock (functions/fill-join.ts); without it every miss fetches alone. */
  fillLock?: FillLockFactory | null;
}

/** A loaded content item: a full-representation response (200) or an origin pass-through. */
export interface Loaded {
  response: Response;
  cache: CacheStatus;
  eligible: boolean;
  /**
   * Why not eligible (set when `eligible` is false): `status` = the origin answered other than 200;
   * `vary` = a stored 200 variant (functions/vary-key.ts): cacheable, not shareable.
   */
  reason?: IneligibleReason;
  /** The cache key the response is stored under (the URL's content key, or its variant key). */
  key?: string;
  /** Id of the stored object version (eligible only). */
  objectId?: string;
  /** On MISS: the manifest being computed as the body passes (null if it could not be). */
  manifest?: Promise<Manifest | null>;
}

/** Bytes each fanout branch may queue: bounded memory whatever the client's speed. */
const BRANCH_BUFFER = 1 << 20;

const emptyBody = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

/** Wraps a stream so the Response carries Content-Length (workerd sends JS streams chunked). */
export function withLength(body: ReadableStream<Uint8Array>, length: number | null): ReadableStream<Uint8Array> {
  if (length === null) return body;
  const fixed = new FixedLengthStream(length);
  // A hand-written pump rather than pipeTo: every promise involved is observed, so a failing source
  // (origin reset mid-body) surfaces only as the errored stream, never as an unhandled rejection.
  const reader = body.getReader();
  const writer = fixed.writable.getWriter();
  writer.closed.catch(() => {});
  (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await writer.write(value);
      }
      await writer.close();
    } catch (e) {
      writer.abort(e).catch(() => {});
      reader.cancel(e).catch(() => {});
    }
  })();
  return fixed.readable as ReadableStream<Uint8Array>;
}

/** Parses a Content-Length header, or null. */
export function contentLength(h: Headers): number | null {
  const v = h.get("content-length");
  if (v === null || !/^\d{1,15}$/.test(v)) return null;
  return Number(v);
}

/**
 * A stored body, checked against its stored length: a short copy (a fill the platform committed
 * although its origin socket dropped) errors the reader and is deleted.
 */
function storedBody(deps: LoaderDeps, key: string, stored: Response): ReadableStream<Uint8Array> | null {
  const id = stored.headers.get(OBJECT_ID) ?? "";
  return guardedBody(stored.body, contentLength(stored.headers), () => {
    console.warn("edge:short-copy", key);
    deps.waitUntil(dropIfOurs(deps.cache, key, id).catch(() => {}));
  });
}

/** Shareable unless the response has one variant per value of a forwarded field (functions/vary-key.ts). */
const shareable = (h: Headers): Pick<Loaded, "eligible" | "reason"> => (singleVariant(h) ? { eligible: true } : { eligible: false, reason: "vary" });

function fromCache(deps: LoaderDeps, key: string, stored: Response, status: CacheStatus, now: number): Loaded {
  // A stored non-200 (functions/status-cache.ts) is answered as stored, never shared.
  if (stored.status !== 200) {
    return { response: new Response(stored.body, { status: stored.status, headers: clientHeaders(stored.headers, now) }), cache: status, eligible: false, reason: "status", key };
  }
  return {
    response: new Response(storedBody(deps, key, stored), { status: 200, headers: clientHeaders(stored.headers, now) }),
    cache: status,
    ...shareable(stored.headers),
    objectId: stored.headers.get(OBJECT_ID) ?? undefined,
    key,
  };
}

/**
 * The stored response for a request: the URL's primary entry, or — when that is a Vary record — the
 * variant selected by the request's forwarded values (RFC 9111 §4.1), read with a second lookup.
 */
async function lookup(cache: Cache, target: ResolvedPath, client: Headers): Promise<{ key: string; stored?: Response; record: VaryRecord | null }> {
  const primary = contentKey(target.originUrl);
  const stored = await cache.match(primary);
  const record = stored ? readVaryRecord(stored) : null;
  if (!record) return { key: primary, stored, record };
  stored?.body?.cancel().catch(() => {});
  const key = await variantKey(target.originUrl, record, forwardedHeaders(client, record.fields));
  return { key, stored: await cache.match(key), record };
}

/** Options of {@link loadContent}. */
export interface LoadOptions {
  /**
   * Called on a cache miss (no stored copy at all), just before the origin is asked; may throw to
   * answer without asking it. Hits and revalidations never call it, so it costs nothing on the hot path.
   */
  beforeOrigin?: () => Promise<void>;
  /** A background revalidation (stale-while-revalidate): go to the origin even within the window. */
  revalidating?: boolean;
}

/**
 * Loads `target` (always the full GET representation; ranges and conditionals are the caller's).
 * `clientReq` supplies pass-through headers; requests with credentials never reach this function.
 * @example
 * const loaded = await loadContent(deps, resolved, request.headers);
 * loaded.response.headers.get("content-length");
 */
export async function loadContent(deps: LoaderDeps, target: ResolvedPath, clientHeadersIn: Headers, opts: LoadOptions = {}): Promise<Loaded> {
  const { cache, cfg } = deps;
  const { key, stored, record } = await lookup(cache, target, clientHeadersIn);
  // The request's own Cache-Control has its say (RFC 9111 §5.2.1): no-cache, max-age, min-fresh, max-stale.
  const reuse = stored && !opts.revalidating ? requestReuse(stored.headers, clientHeadersIn, deps.now()) : "validate";
  if (stored && reuse !== "validate") return fromCache(deps, key, stored, reuse === "fresh" ? "HIT" : "STALE", deps.now());
  if (onlyIfCached(clientHeadersIn)) {
    stored?.body?.cancel().catch(() => {});
    throw new HttpError(504, "not-cached", "only-if-cached: no usable stored response");
  }
  if (stored && !opts.revalidating && !requestForcesValidation(clientHeadersIn) && mayRevalidateInBackground(stored.headers, deps.now())) {
    // RFC 5861 §3: answer with the stale copy now, revalidate after the response (one origin request).
    deps.waitUntil(loadContent(deps, target, clientHeadersIn, { revalidating: true }).then((l) => l.response.body?.cancel(), (e) => console.warn("edge:swr", e)));
    return fromCache(deps, key, stored, "STALE", deps.now());
  }
  if (!stored) await opts.beforeOrigin?.();
  // A cold miss takes the object's fill lock: join a fill in progress, or lead one (or go alone).
  const acquire = () => deps.fillLock!(key, { waitMs: cfg.originTimeoutMs + 1000, relayMaxBytes: cfg.fill.relayMaxBytes }).acquire();
  let lock = stored || !deps.fillLock ? null : await acquire();
  if (lock?.role === "cached") {
    // A fill of this object just ended and its copy is committed: a HIT, no second origin request.
    const filled = await cache.match(key);
    // (A Vary record written meanwhile is not the object: functions/vary-key.ts.)
    if (filled && !readVaryRecord(filled)) return fromCache(deps, key, filled, "HIT", deps.now());
    filled?.body?.cancel().catch(() => {});
    lock = await acquire(); // the copy is gone (purged, or the commit failed): fill it again
    if (lock.role === "cached") lock = null;
  }
  if (lock?.role === "join") return joined(deps, lock);
  const lead = lock?.role === "lead" ? lock : null;
  try {
    const loaded = await fromOrigin(deps, target, key, stored, clientHeadersIn, lead, record);
    // Only a stored 200 MISS under the lock's key (storeAndStream) takes the lead over; anything else frees the lock.
    if (lead && (loaded.cache !== "MISS" || !(loaded.eligible || loaded.reason === "vary") || loaded.key !== key)) deps.waitUntil(lead.abandon(`origin answered ${loaded.response.status}`));
    return loaded;
  } catch (e) {
    if (lead) deps.waitUntil(lead.abandon("origin failed"));
    throw e;
  }
}

/** A fill in progress, joined: its bytes from the first on, streamed as the leader reads them. */
function joined(deps: LoaderDeps, j: FillJoin): Loaded {
  return {
    response: new Response(withLength(j.body, j.length), { status: 200, headers: clientHeaders(j.headers, deps.now()) }),
    cache: "MISS",
    ...shareable(j.headers),
    objectId: j.headers.get(OBJECT_ID) ?? undefined,
  };
}

async function fromOrigin(
  deps: LoaderDeps, target: ResolvedPath, key: string, stored: Response | undefined, clientHeadersIn: Headers, lead: FillLead | null, record: VaryRecord | null,
): Promise<Loaded> {
  const { cache, cfg } = deps;
  // The origin gets the client's values of the fields the URL last varied on (functions/vary-key.ts).
  let sent = forwardedHeaders(clientHeadersIn, record?.fields);
  const headers = new Headers(sent);
  if (stored?.status === 200) {
    const etag = stored.headers.get("etag");
    const lm = stored.headers.get("last-modified");
    if (etag) headers.set("if-none-match", etag);
    else if (lm) headers.set("if-modified-since", lm);
  }
  let res: Response;
  try {
    res = await fetchOrigin(target.originUrl, { method: "GET", headers }, cfg.originTimeoutMs);
    const unsent = res.status === 304 || res.status >= 500 ? [] : unsentFields(asList(varyFields(res.headers)), clientHeadersIn, sent);
    if (unsent.length > 0) {
      // The origin chose by a field this client sent but the edge did not forward (the URL's Vary was
      // not known yet): its answer is another client's variant. Ask once more, with those fields.
      res.body?.cancel().catch(() => {});
      sent = forwardedHeaders(clientHeadersIn, [...(record?.fields ?? []), ...unsent]);
      res = await fetchOrigin(target.originUrl, { method: "GET", headers: new Headers(sent) }, cfg.originTimeoutMs);
    }
  } catch (e) {
    if (stored && mayServeStale(stored.headers, deps.now())) return fromCache(deps, key, stored, "STALE", deps.now());
    stored?.body?.cancel().catch(() => {});
    throw e;
  }
  if (mayStoreStatus(res.status, res.headers)) {
    stored?.body?.cancel().catch(() => {});
    const at = await storeKeyFor(deps, target, res.headers, sent, record);
    const response = await storeStatus(cache, at, res, deps.now(), cfg.staleKeepSeconds, deps.waitUntil);
    return { response, cache: "MISS", eligible: false, reason: "status", key: at };
  }
  if (res.status >= 500) {
    if (stored && mayServeStale(stored.headers, deps.now())) {
      res.body?.cancel().catch(() => {});
      return fromCache(deps, key, stored, "STALE", deps.now());
    }
    stored?.body?.cancel().catch(() => {});
    // The origin's own answer (status, body) reaches the client: the edge's JSON errors are only
    // for its own failures (timeout, unreachable origin). Not stored (functions/eligibility.ts).
    return { response: res, cache: "BYPASS", eligible: false, reason: "status" };
  }
  if (res.status === 304 && stored) {
    const now = deps.now();
    const refreshed = revalidatedHeaders(stored.headers, res.headers, now, cfg.staleKeepSeconds);
    const seen = clientHeaders(refreshed, now);
    const vary = res.headers.get("vary");
    if (vary !== null) seen.set("vary", vary);
    const check = new Headers(seen);
    const targeted = refreshed.get(ORIGIN_CDN_CACHE_CONTROL);
    if (targeted !== null) check.set("cdn-cache-control", targeted);
    const verdict = eligibility("GET", clientHeadersIn, 200, check);
    if (!verdict.eligible && verdict.reason !== "vary") {
      // The 304 made the stored response private/no-store (RFC 9111 §4.3.4: its fields replace the
      // stored ones). The bytes are still current for this requester, but no longer for the cache.
      deps.waitUntil(cache.delete(key).catch(() => false));
      return { response: new Response(stored.body, { status: 200, headers: seen }), cache: "BYPASS", eligible: false, reason: verdict.reason };
    }
    // Re-store the same bytes with the new freshness: a second cache read, streamed, off the hot path.
    deps.waitUntil(
      (async () => {
        const again = await cache.match(key);
        if (again) await cache.put(key, new Response(again.body, { status: 200, headers: refreshed }));
      })().catch((e) => console.warn("edge:revalidate", e)),
    );
    return { response: new Response(storedBody(deps, key, stored), { status: 200, headers: seen }), cache: "HIT", ...shareable(check), objectId: refreshed.get(OBJECT_ID) ?? undefined, key };
  }
  stored?.body?.cancel().catch(() => {});
  if (res.status === 304) {
    res.body?.cancel().catch(() => {});
    throw new HttpError(502, "origin-error", "origin answered 304 to an unconditional request");
  }
  const verdict = eligibility("GET", clientHeadersIn, res.status, res.headers);
  if (!verdict.eligible && verdict.reason !== "vary") {
    // The object is gone or no longer public: forget our copy so it is never served stale.
    if (stored) deps.waitUntil(cache.delete(key).catch(() => false));
    return { response: res, cache: "BYPASS", eligible: false, reason: verdict.reason };
  }
  const at = await storeKeyFor(deps, target, res.headers, sent, record);
  // Joiners of this fill asked for the lock's key: only a response stored under it may feed them.
  return storeAndStream(deps, at, target, decoded(res), at === key ? lead : null, verdict.eligible);
}

const asList = (fields: string[] | "*"): string[] => (fields === "*" ? [] : fields);

/**
 * Where a response is stored: the URL's content key when it has a single variant; else its variant
 * key, under the URL's Vary record — kept when it names the same fields, else replaced by a new one
 * (a new generation: variants of another Vary list are never matched again).
 */
async function storeKeyFor(deps: LoaderDeps, target: ResolvedPath, h: Headers, sent: Headers, record: VaryRecord | null): Promise<string> {
  const fields = asList(varyFields(h));
  if (singleVariant(h)) return contentKey(target.originUrl);
  const primary = contentKey(target.originUrl);
  if (record && sameFields(record.fields, fields)) return variantKey(target.originUrl, record, sent);
  // A concurrent fill of another variant may have just written the record: adopt it rather than
  // orphan its variant (a remaining race only costs an orphaned variant one more miss).
  const again = await deps.cache.match(primary);
  const latest = again ? readVaryRecord(again) : null;
  again?.body?.cancel().catch(() => {});
  if (latest && sameFields(latest.fields, fields)) return variantKey(target.originUrl, latest, sent);
  const current = { fields, generation: newGeneration() };
  deps.waitUntil(deps.cache.put(primary, varyRecordResponse(current, deps.now())).catch((e) => console.warn("edge:vary-record", e)));
  return variantKey(target.originUrl, current, sent);
}

/**
 * workerd's fetch() decodes a `gzip`/`br` body but keeps `Content-Encoding` and the *encoded*
 * `Content-Length` (measured with miniflare: 100000 bytes read, `content-length: 133`). Stored as
 * is, the length check would fail every put and break the client's stream; the edge serves and
 * hashes the identity bytes it holds, so both headers go.
 */
function decoded(res: Response): Response {
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

function storeAndStream(deps: LoaderDeps, key: string, target: ResolvedPath, res: Response, lead: FillLead | null, shared: boolean): Loaded {
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
