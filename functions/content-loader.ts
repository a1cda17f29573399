/**
 * Loading one content item through the edge cache: fresh hit → cache; stale → conditional
 * revalidation; miss → origin, streamed to the caller while a bounded fanout feeds `cache.put`
 * and the manifest hasher (so the first download also yields the manifest). Origin failure with a
 * stored copy → the stale copy (RFC 5861 stale-if-error), unless the origin said `must-revalidate`
 * or `proxy-revalidate`.
 */
import type { Manifest } from "../protocol/manifest";
import { chunkedFill, readPartial, resumeHeaders, resumes, type PartialFill } from "./chunked-fill";
import { chunkedBody, chunkedObject, tickGate, type ChunkSource } from "./chunked-storage";
import type { EdgeConfig } from "./edge-config";
import { OBJECT_ID, clientHeaders, contentKey, partialKey, revalidatedHeaders } from "./edge-cache";
import { eligibility, type IneligibleReason } from "./eligibility";
import type { FillJoin, FillLead, FillLockFactory } from "./fill-join";
import { WholeCopies, dropIfOurs, guardedBody } from "./fill-commit";
import { contentLength, decoded, storeAndStream, withLength } from "./fill-store";
import { ORIGIN_CDN_CACHE_CONTROL, mayRevalidateInBackground, mayServeStale, onlyIfCached, requestForcesValidation, requestReuse } from "./freshness";
import { HttpError } from "./http-error";
import { fetchOrigin } from "./origin-fetch";
import type { ResolvedPath } from "./route-table";
import { mayStoreStatus, restoredStatus, storeStatus } from "./status-cache";
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
  /**
   * A stored chunked object (functions/chunked-storage.ts): bytes `[start, end]` read from only the
   * chunks they lie in. Its `response.body` is read lazily, chunk by chunk, and carries no length.
   */
  ranged?: (start: number, end: number) => ReadableStream<Uint8Array>;
  /**
   * On MISS, when it is not the whole object: the bytes this request had the origin send (a joined
   * fill: 0, the leader fetched them; a resumed fill: the rest).
   */
  originBytes?: number;
}

export { contentLength, manifestResponse, withLength } from "./fill-store";

/** Copies read whole in this isolate (functions/fill-commit.ts says why their hits skip the guard). */
const wholeCopies = new WholeCopies();

/**
 * A stored body, checked against its stored length: a short copy (a fill the platform committed
 * although its origin socket dropped) errors the reader and is deleted. A copy this isolate has
 * already read whole is passed through as the cache gave it.
 */
function storedBody(deps: LoaderDeps, key: string, stored: Response): ReadableStream<Uint8Array> | null {
  const id = stored.headers.get(OBJECT_ID) ?? "";
  const length = contentLength(stored.headers);
  const whole = length === null ? null : WholeCopies.keyOf(stored.headers, length);
  if (whole !== null && wholeCopies.has(whole)) return stored.body;
  return guardedBody(stored.body, length, () => {
    console.warn("edge:short-copy", key);
    deps.waitUntil(dropIfOurs(deps.cache, key, id).catch(() => {}));
  }, () => {
    if (whole !== null) wholeCopies.add(whole);
  });
}

/** Shareable unless the response has one variant per value of a forwarded field (functions/vary-key.ts). */
const shareable = (h: Headers): Pick<Loaded, "eligible" | "reason"> => (singleVariant(h) ? { eligible: true } : { eligible: false, reason: "vary" });

/**
 * A stored 200's body as served: a whole entry checked against its stored length, or a chunked
 * object's chunks read on demand (`headers` gets its length; `ranged` reads only a range's chunks).
 */
function served(deps: LoaderDeps, key: string, stored: Response, src: ChunkSource, headers: Headers): Pick<Loaded, "ranged"> & { body: ReadableStream<Uint8Array> | null } {
  const object = chunkedObject(key, stored.headers);
  if (!object) return { body: storedBody(deps, key, stored) };
  stored.body?.cancel().catch(() => {});
  headers.set("content-length", String(object.layout.size));
  return { body: chunkedBody(src, object, 0, object.layout.size - 1), ranged: (start, end) => chunkedBody(src, object, start, end) };
}

/** How a chunked object's missing chunk is fetched again: this request's origin URL and forwarded fields. */
function chunkSource(deps: LoaderDeps, target: ResolvedPath, forwarded: Headers): ChunkSource {
  return { cache: deps.cache, waitUntil: deps.waitUntil, originUrl: target.originUrl, originHeaders: forwarded, timeoutMs: deps.cfg.originTimeoutMs };
}

function fromCache(deps: LoaderDeps, key: string, stored: Response, status: CacheStatus, now: number, src: ChunkSource): Loaded {
  // A stored non-200 (functions/status-cache.ts) is answered as stored, never shared.
  if (stored.status !== 200) {
    return { response: new Response(stored.body, { status: stored.status, headers: clientHeaders(stored.headers, now) }), cache: status, eligible: false, reason: "status", key };
  }
  const headers = clientHeaders(stored.headers, now);
  const { body, ranged } = served(deps, key, stored, src, headers);
  return {
    response: new Response(body, { status: 200, headers }),
    ranged,
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
  if (!record) return { key: primary, stored: restoredStatus(stored), record };
  stored?.body?.cancel().catch(() => {});
  const key = await variantKey(target.originUrl, record, forwardedHeaders(client, record.fields));
  return { key, stored: restoredStatus(await cache.match(key)), record };
}

/** Keys whose stale-while-revalidate background revalidation runs in this isolate now. */
const revalidating = new Set<string>();

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
  const src = chunkSource(deps, target, forwardedHeaders(clientHeadersIn, record?.fields));
  // The request's own Cache-Control has its say (RFC 9111 §5.2.1): no-cache, max-age, min-fresh, max-stale.
  const reuse = stored && !opts.revalidating ? requestReuse(stored.headers, clientHeadersIn, deps.now()) : "validate";
  if (stored && reuse !== "validate") return fromCache(deps, key, stored, reuse === "fresh" ? "HIT" : "STALE", deps.now(), src);
  if (onlyIfCached(clientHeadersIn)) {
    stored?.body?.cancel().catch(() => {});
    throw new HttpError(504, "not-cached", "only-if-cached: no usable stored response");
  }
  if (stored && !opts.revalidating && !requestForcesValidation(clientHeadersIn) && mayRevalidateInBackground(stored.headers, deps.now())) {
    // RFC 5861 §3: answer with the stale copy now, revalidate after the response — one origin
    // request for all the stale requests that arrive while it runs (in this isolate).
    if (!revalidating.has(key)) {
      revalidating.add(key);
      deps.waitUntil(
        loadContent(deps, target, clientHeadersIn, { revalidating: true })
          .then((l) => l.response.body?.cancel(), (e) => console.warn("edge:swr", e))
          .finally(() => revalidating.delete(key)),
      );
    }
    return fromCache(deps, key, stored, "STALE", deps.now(), src);
  }
  if (!stored) await opts.beforeOrigin?.();
  // A cold miss takes the object's fill lock: join a fill in progress, or lead one (or go alone).
  const acquire = () => deps.fillLock!(key, { waitMs: cfg.originTimeoutMs + 1000, relayMaxBytes: cfg.fill.relayMaxBytes }).acquire();
  let lock = stored || !deps.fillLock ? null : await acquire();
  if (lock?.role === "cached") {
    // A fill of this object just ended and its copy is committed: a HIT, no second origin request.
    const filled = restoredStatus(await cache.match(key));
    // (A Vary record written meanwhile is not the object: functions/vary-key.ts.)
    if (filled && !readVaryRecord(filled)) return fromCache(deps, key, filled, "HIT", deps.now(), src);
    filled?.body?.cancel().catch(() => {});
    lock = await acquire(); // the copy is gone (purged, or the commit failed): fill it again
    if (lock.role === "cached") lock = null;
  }
  if (lock?.role === "join") return joined(deps, key, lock, src);
  const lead = lock?.role === "lead" ? lock : null;
  try {
    const loaded = await fromOrigin(deps, target, key, stored, clientHeadersIn, lead, record, src);
    // Only a stored 200 MISS under the lock's key (storeAndStream) takes the lead over; anything else frees the lock.
    if (lead && (loaded.cache !== "MISS" || !(loaded.eligible || loaded.reason === "vary") || loaded.key !== key)) deps.waitUntil(lead.abandon(`origin answered ${loaded.response.status}`));
    return loaded;
  } catch (e) {
    if (lead) deps.waitUntil(lead.abandon("origin failed"));
    throw e;
  }
}

/**
 * A fill in progress, joined: its bytes from the first on, streamed as the leader reads them — or,
 * for a chunked fill, read from the cache chunk by chunk as the lock reports each one stored.
 */
function joined(deps: LoaderDeps, key: string, j: FillJoin, src: ChunkSource): Loaded {
  const headers = clientHeaders(j.headers, deps.now());
  const object = chunkedObject(key, j.headers);
  let body = j.body;
  let length = j.length;
  if (object) {
    length = object.layout.size;
    headers.set("content-length", String(length));
    body = chunkedBody(src, object, 0, length - 1, tickGate(j.body));
  }
  return {
    response: new Response(withLength(body, length), { status: 200, headers }),
    cache: "MISS",
    originBytes: 0,
    ...shareable(j.headers),
    objectId: j.headers.get(OBJECT_ID) ?? undefined,
  };
}

async function fromOrigin(
  deps: LoaderDeps, target: ResolvedPath, key: string, stored: Response | undefined, clientHeadersIn: Headers, lead: FillLead | null, record: VaryRecord | null, src: ChunkSource,
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
  // A cold miss whose last fill was cut resumes after the chunks it stored (functions/chunked-fill.ts).
  const partial = stored ? null : await readPartial(cache, key, cfg.chunkSize);
  try {
    if (partial) {
      const tried = await fetchOrigin(target.originUrl, { method: "GET", headers: resumeHeaders(partial, headers) }, cfg.originTimeoutMs);
      const resumed = resumeWith(deps, key, target, tried, partial, lead, { ...src, originHeaders: sent }, clientHeadersIn);
      if (resumed) return resumed;
      deps.waitUntil(cache.delete(partialKey(key)).catch(() => false));
      // A 200: the object changed since (If-Range failed), fill it from scratch with this answer.
      if (tried.status === 200) res = tried;
      else {
        tried.body?.cancel().catch(() => {});
        res = await fetchOrigin(target.originUrl, { method: "GET", headers }, cfg.originTimeoutMs);
      }
    } else res = await fetchOrigin(target.originUrl, { method: "GET", headers }, cfg.originTimeoutMs);
    const unsent = res.status === 304 || res.status >= 500 ? [] : unsentFields(asList(varyFields(res.headers)), clientHeadersIn, sent);
    if (unsent.length > 0) {
      // The origin chose by a field this client sent but the edge did not forward (the URL's Vary was
      // not known yet): its answer is another client's variant. Ask once more, with those fields.
      res.body?.cancel().catch(() => {});
      sent = forwardedHeaders(clientHeadersIn, [...(record?.fields ?? []), ...unsent]);
      res = await fetchOrigin(target.originUrl, { method: "GET", headers: new Headers(sent) }, cfg.originTimeoutMs);
    }
  } catch (e) {
    if (stored && mayServeStale(stored.headers, deps.now())) return fromCache(deps, key, stored, "STALE", deps.now(), src);
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
      return fromCache(deps, key, stored, "STALE", deps.now(), src);
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
      return { response: new Response(served(deps, key, stored, src, seen).body, { status: 200, headers: seen }), cache: "BYPASS", eligible: false, reason: verdict.reason };
    }
    // Re-store the same bytes with the new freshness: a second cache read, streamed, off the hot path.
    deps.waitUntil(
      (async () => {
        const again = await cache.match(key);
        if (again) await cache.put(key, new Response(again.body, { status: 200, headers: refreshed }));
      })().catch((e) => console.warn("edge:revalidate", e)),
    );
    const { body, ranged } = served(deps, key, stored, src, seen);
    return { response: new Response(body, { status: 200, headers: seen }), ranged, cache: "HIT", ...shareable(check), objectId: refreshed.get(OBJECT_ID) ?? undefined, key };
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
  const feeds = at === key ? lead : null;
  const body = decoded(res);
  const length = contentLength(body.headers);
  if (length !== null && length >= cfg.fill.chunkedMinBytes) {
    return chunkedFill({ deps, key: at, path: target.path, src: { ...src, originHeaders: sent }, lead: feeds, shared: verdict.eligible }, body);
  }
  return storeAndStream(deps, at, target, body, feeds, verdict.eligible);
}

/**
 * The origin's answer to a resuming request, if it is the rest of the object the cut fill stored
 * the start of (a 206 of exactly the missing bytes, still publicly cacheable): that fill, continued.
 */
function resumeWith(
  deps: LoaderDeps, key: string, target: ResolvedPath, res: Response, partial: PartialFill, lead: FillLead | null, src: ChunkSource, client: Headers,
): Loaded | null {
  if (!resumes(res, partial)) return null;
  const verdict = eligibility("GET", client, 200, res.headers);
  if (!verdict.eligible && verdict.reason !== "vary") return null;
  return chunkedFill({ deps, key, path: target.path, src, lead, shared: shareable(partial.object.head).eligible, resume: partial }, res);
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

