/**
 * How objects live in the Cache API: internal cache keys (never the request URL, so query strings,
 * Host headers and route aliases cannot multiply or poison entries) and the header rewrite between
 * what the origin sent, what is stored, and what a client sees.
 */
import { edgeCacheControl, TARGETED_CACHE_CONTROL } from "./eligibility";
import { FRESH_UNTIL, INITIAL_AGE, ORIGIN_CACHE_CONTROL, ORIGIN_CDN_CACHE_CONTROL, STORED_AT, freshnessLifetime, initialAge } from "./freshness";

/** Stored-object header: random id of one stored version; keys its manifest. */
export const OBJECT_ID = "x-edgeswarm-object";
/** Header of a stored Vary record (functions/vary-key.ts): the normalised field list. */
export const VARY_RECORD = "x-edgeswarm-vary-record";
/** Header of a stored Vary record: its generation, part of every variant key. */
export const VARY_GENERATION = "x-edgeswarm-vary-generation";
/**
 * Header of a stored object kept as chunk entries (functions/chunked-storage.ts): `<chunk size>/<size>`.
 * The entry carrying it is the object's head (headers only); its bytes are under {@link chunkKey}.
 */
export const CHUNKED = "x-edgeswarm-chunked";
/**
 * Header of a stored answer whose status may not carry a body (204): Miniflare's Cache API does not
 * store such a response (its put logs "Response with null body status … cannot have a body" and
 * keeps nothing, measured; Cloudflare's not verified), so it is stored as a body-less 200 carrying
 * its real status here (functions/status-cache.ts `restoredStatus` gives it back on every lookup).
 */
export const STORED_STATUS = "x-edgeswarm-status";
/** Host of every internal cache key (never a request's host). */
export const INTERNAL_HOST = "https://edgeswarm.internal";
// An origin cannot set them: a stored response carrying VARY_RECORD would be read as a Vary record.
const INTERNAL = [FRESH_UNTIL, STORED_AT, INITIAL_AGE, ORIGIN_CACHE_CONTROL, ORIGIN_CDN_CACHE_CONTROL, OBJECT_ID, VARY_RECORD, VARY_GENERATION, CHUNKED, STORED_STATUS];
// RFC 9110 §7.6.1 hop-by-hop fields, plus fields a shared cache must not replay.
const NOT_STORED = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "age", "set-cookie", "cf-cache-status", "warning"];

/**
 * The cache key of a content item: derived from the origin URL it was fetched from, query included
 * (the route's query policy already chose which query that is, route-table.ts).
 * @example
 * contentKey(new URL("http://127.0.0.1:8788/a.bin?v=2")); // https://edgeswarm.internal/c/http%3A%2F%2F127.0.0.1%3A8788/a.bin?v=2
 */
export function contentKey(originUrl: URL): string {
  return `${INTERNAL_HOST}/c/${encodeURIComponent(originUrl.origin)}${originUrl.pathname}${originUrl.search}`;
}

/**
 * The origin URL a content key ({@link contentKey}) or variant key (functions/vary-key.ts
 * `variantKey`: `/cv/<generation>.<hash>/…`) was derived from, or null for any other key.
 * @example
 * originUrlOfKey(contentKey(new URL("https://o.test/a.bin?v=1"))); // "https://o.test/a.bin?v=1"
 */
export function originUrlOfKey(key: string): string | null {
  // A partial-fill record ({@link partialKey}) names the same URL as the key it was derived from.
  if (key.startsWith(`${INTERNAL_HOST}/p/`)) key = INTERNAL_HOST + key.slice(INTERNAL_HOST.length + 2);
  const variant = /^\/cv\/[0-9a-f]+\.[0-9a-f]+\//.exec(key.slice(INTERNAL_HOST.length));
  const head = variant ? INTERNAL_HOST + variant[0] : `${INTERNAL_HOST}/c/`;
  if (!key.startsWith(head)) return null;
  const slash = key.indexOf("/", head.length);
  if (slash < 0) return null;
  try {
    return decodeURIComponent(key.slice(head.length, slash)) + key.slice(slash);
  } catch {
    return null;
  }
}

/**
 * The cache key of the "this URL is not peer-eligible" memo. Remembering the verdict for a short
 * while spares the origin a second request per page (the SDK asks `/m/` first, then falls back to
 * `/c/`, which must reach the origin for uncacheable content anyway — RFC 9111 §5.2.2.7).
 */
export function ineligibleKey(originUrl: URL): string {
  return `${INTERNAL_HOST}/x/${encodeURIComponent(originUrl.origin)}${originUrl.pathname}${originUrl.search}`;
}

/** How long an "ineligible" verdict is remembered, in seconds. */
export const INELIGIBLE_MEMO_SECONDS = 60;

/** The cache key of the manifest of one stored object version, per chunk size. */
export function manifestKey(objectId: string, chunkSize: number): string {
  return `${INTERNAL_HOST}/m/${chunkSize}/${encodeURIComponent(objectId)}`;
}

/**
 * The cache key of chunk `index` of a chunked object version (functions/chunked-storage.ts). Keyed
 * by the object id: a purge or a refill that deletes or replaces the head makes every chunk of the
 * old version unreachable at once (they are evicted later, like any unread entry).
 */
export function chunkKey(objectId: string, chunkSize: number, index: number): string {
  return `${INTERNAL_HOST}/k/${chunkSize}/${encodeURIComponent(objectId)}/${index}`;
}

/**
 * The cache key of the record of an interrupted chunked fill of the object stored under `key` (a
 * content or variant key): the chunks it completed, so the next fill resumes after them. Derived
 * from `key` under `/p`, so {@link originUrlOfKey} (hence prefix purges) sees its URL.
 * @example
 * partialKey(contentKey(new URL("https://o.test/a.bin"))); // https://edgeswarm.internal/p/c/https%3A%2F%2Fo.test/a.bin
 */
export function partialKey(key: string): string {
  return `${INTERNAL_HOST}/p${key.slice(INTERNAL_HOST.length)}`;
}

/**
 * Headers to store with an origin response. The Cache API decides retention from Cache-Control,
 * so the stored one is ours (`s-maxage` = origin freshness + `staleKeepSeconds`) and the origin's is
 * kept aside; freshness is tracked in {@link FRESH_UNTIL}, the age the response arrived with in
 * {@link INITIAL_AGE} (RFC 9111 §4.2.3). `received` is the response just received (after a 304,
 * the 304, whose fields were merged into `origin`).
 */
export function storedHeaders(origin: Headers, now: number, staleKeepSeconds: number, objectId: string, status = 200, received: Headers = origin): Headers {
  const h = new Headers(origin);
  // RFC 9110 §7.6.1: fields named in Connection are hop-by-hop too.
  for (const k of (origin.get("connection") ?? "").split(",")) if (k.trim()) h.delete(k.trim());
  // The origin cannot set our internal fields (e.g. a fake origin Cache-Control shown to clients).
  for (const k of [...NOT_STORED, ...INTERNAL, ...TARGETED_CACHE_CONTROL]) h.delete(k);
  const lifetime = freshnessLifetime(origin, now, status, received);
  const cc = origin.get("cache-control");
  if (cc !== null) h.set(ORIGIN_CACHE_CONTROL, cc);
  const targeted = edgeCacheControl(origin);
  if (targeted !== cc && targeted !== null) h.set(ORIGIN_CDN_CACHE_CONTROL, targeted);
  h.set("cache-control", `public, s-maxage=${Math.max(1, lifetime + staleKeepSeconds)}`);
  h.set(FRESH_UNTIL, String(now + lifetime * 1000));
  h.set(STORED_AT, String(now));
  h.set(INITIAL_AGE, String(initialAge(received, now)));
  h.set(OBJECT_ID, objectId);
  return h;
}

/**
 * Fields a 304 does not replace (RFC 9111 §3.2): Content-Length, and the fields the stored body
 * depends on (its encoding and range) — the body stays the stored one.
 */
const NOT_UPDATED = ["content-length", "content-encoding", "content-range", "transfer-encoding"];

/**
 * Stored headers after a 304 revalidation: RFC 9111 §3.2/§4.3.4 — every field of the 304 replaces
 * the stored one (validators, freshness, Content-Type, custom fields …) except those the stored
 * body depends on and those never stored; the body (and its object id, hence its manifest) stay.
 */
export function revalidatedHeaders(stored: Headers, notModified: Headers, now: number, staleKeepSeconds: number, status = 200): Headers {
  const merged = new Headers(stored);
  const origCc = stored.get(ORIGIN_CACHE_CONTROL);
  if (origCc !== null) merged.set("cache-control", origCc);
  else merged.delete("cache-control");
  const origTargeted = stored.get(ORIGIN_CDN_CACHE_CONTROL);
  if (origTargeted !== null) merged.set("cdn-cache-control", origTargeted);
  const skip = new Set([...NOT_UPDATED, ...NOT_STORED, ...INTERNAL]);
  for (const k of (notModified.get("connection") ?? "").split(",")) if (k.trim()) skip.add(k.trim().toLowerCase());
  for (const [k, v] of notModified) if (!skip.has(k)) merged.set(k, v);
  merged.delete(ORIGIN_CACHE_CONTROL);
  merged.delete(ORIGIN_CDN_CACHE_CONTROL);
  const h = storedHeaders(merged, now, staleKeepSeconds, stored.get(OBJECT_ID) ?? crypto.randomUUID(), status, notModified);
  // The body's layout stays with the body (a chunked object's head keeps naming its chunks).
  const layout = stored.get(CHUNKED);
  if (layout !== null) h.set(CHUNKED, layout);
  return h;
}

/**
 * What a client sees of a stored object: the origin's Cache-Control back, internals removed, and
 * `Age` = the age it arrived with + the time it has been stored (RFC 9111 §4.2.3, §5.1).
 */
export function clientHeaders(stored: Headers, now: number): Headers {
  const h = new Headers(stored);
  const cc = stored.get(ORIGIN_CACHE_CONTROL);
  if (cc !== null) h.set("cache-control", cc);
  else h.delete("cache-control");
  const storedAt = Number(stored.get(STORED_AT));
  const initial = Number(stored.get(INITIAL_AGE)) || 0;
  for (const k of [...INTERNAL, ...NOT_STORED, "content-range"]) h.delete(k);
  if (Number.isFinite(storedAt) && storedAt > 0) h.set("age", String(initial + Math.max(0, Math.floor((now - storedAt) / 1000))));
  h.set("accept-ranges", "bytes");
  return h;
}

/** The version string of a stored object (ETag, else Last-Modified, else ""). */
export function versionOf(headers: Headers): string {
  return headers.get("etag") ?? headers.get("last-modified") ?? "";
}
