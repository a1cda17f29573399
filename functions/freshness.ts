/**
 * Freshness of stored objects, tracked by the Worker itself. Objects are put into the Cache API
 * with a long `s-maxage` (so a copy survives for stale-if-error) and the origin's own freshness is
 * kept in {@link FRESH_UNTIL}; pure functions with the clock passed in.
 */
import { edgeCacheControl } from "./eligibility";
import { deltaSeconds, parseAge, parseDirectives, parseHttpDate } from "./http-fields";

/** Stored-object header: Unix ms until which the object is fresh per the origin. */
export const FRESH_UNTIL = "x-edgeswarm-fresh-until";
/** Stored-object header: Unix ms when the object was (re)validated with the origin. */
export const STORED_AT = "x-edgeswarm-stored-at";
/** Stored-object header: the origin's original Cache-Control (the stored one is ours). */
export const ORIGIN_CACHE_CONTROL = "x-edgeswarm-origin-cache-control";
/**
 * Stored-object header: the origin's RFC 9213 targeted Cache-Control, if any. Kept under our name:
 * the platform cache must not take retention from it, and it is meant for the edge, not clients.
 */
export const ORIGIN_CDN_CACHE_CONTROL = "x-edgeswarm-origin-cdn-cache-control";

/** Stored-object header: the response's corrected initial age in seconds (RFC 9111 §4.2.3). */
export const INITIAL_AGE = "x-edgeswarm-initial-age";

/**
 * Statuses a cache may store with heuristic freshness (RFC 9111 §4.2.2, RFC 9110 §15.1):
 * "heuristically cacheable". Others are stored only with explicit freshness.
 */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** The directives that govern the edge: the RFC 9213 targeted field when present, else Cache-Control. */
const governing = (h: Headers) => parseDirectives(edgeCacheControl(h));

/**
 * The corrected initial age of a response received at `now` (RFC 9111 §4.2.3: the larger of the
 * origin's `Age` and the apparent age `now − Date`; request and response time are one instant here).
 * @example
 * initialAge(new Headers({ age: "7200, 0" }), Date.now()); // 7200
 */
export function initialAge(headers: Headers, now: number): number {
  const date = parseHttpDate(headers.get("date"));
  const apparent = date === null ? 0 : Math.max(0, Math.floor((now - date) / 1000));
  return Math.max(apparent, parseAge(headers.get("age")));
}

/**
 * Freshness lifetime in seconds per RFC 9111 §4.2.1 for a shared cache, from `CDN-Cache-Control`
 * (RFC 9213) when present, else `Cache-Control`: `s-maxage`, else `max-age`, else `Expires − Date`,
 * else the §4.2.2 heuristic (10 % of the time since Last-Modified, at most a day; heuristically
 * cacheable statuses only). Strict: an invalid or conflicting `max-age`/`s-maxage`, or an `Expires`
 * that is not an HTTP-date, means already stale (§4.2.1, §5.3). `no-cache` means "revalidate every
 * time" (lifetime 0). The corrected initial age ({@link initialAge}) of `ageFrom` — the response just
 * received, which after a 304 is not the one whose fields are merged into `headers` — is subtracted.
 * @example
 * freshnessLifetime(new Headers({ "cache-control": "public, max-age=60" }), Date.now()); // 60
 */
export function freshnessLifetime(headers: Headers, now: number, status = 200, ageFrom: Headers = headers): number {
  const cc = governing(headers);
  if (cc.map.has("no-cache")) return 0;
  const explicit = deltaSeconds(cc, "s-maxage") ?? deltaSeconds(cc, "max-age");
  let lifetime: number;
  if (explicit === "invalid") lifetime = 0;
  else if (explicit !== undefined) lifetime = explicit;
  else if (headers.has("expires")) {
    const expires = parseHttpDate(headers.get("expires"));
    const date = parseHttpDate(headers.get("date")) ?? now;
    lifetime = expires === null ? 0 : Math.max(0, Math.floor((expires - date) / 1000));
  } else {
    const lm = parseHttpDate(headers.get("last-modified"));
    const date = parseHttpDate(headers.get("date")) ?? now;
    lifetime = lm !== null && HEURISTIC_STATUSES.has(status) ? Math.min(86_400, Math.max(0, Math.floor((date - lm) / 10_000))) : 0;
  }
  return Math.max(0, lifetime - initialAge(ageFrom, now));
}

/** Whether a response carries explicit freshness (RFC 9111 §3: storable outside the heuristic statuses only then). */
export function hasExplicitFreshness(headers: Headers): boolean {
  const cc = governing(headers);
  return cc.map.has("s-maxage") || cc.map.has("max-age") || headers.has("expires");
}

/** True when a stored object (headers as stored by the edge) is still fresh at `now`. */
export function isFresh(stored: Headers, now: number): boolean {
  const until = Number(stored.get(FRESH_UNTIL));
  return Number.isFinite(until) && now < until;
}

/** Seconds a stored object has been stale at `now` (0 while fresh). */
function staleness(stored: Headers, now: number): number {
  const until = Number(stored.get(FRESH_UNTIL));
  return Number.isFinite(until) ? Math.max(0, (now - until) / 1000) : Number.POSITIVE_INFINITY;
}

const storedDirectives = (stored: Headers) => parseDirectives(stored.get(ORIGIN_CDN_CACHE_CONTROL) ?? stored.get(ORIGIN_CACHE_CONTROL));

/**
 * Whether a stale stored object may be served when the origin fails or cannot be reached.
 * - `stale-if-error=N` (RFC 5861 §4): within N seconds of staleness, whatever else the response says.
 * - Otherwise the edge serves stale on error (RFC 9111 §4.2.4 allows it when the origin is
 *   unreachable) unless the origin forbade reuse without validation: `must-revalidate`,
 *   `proxy-revalidate` (§5.2.2.2, §5.2.2.8), `s-maxage` (which implies proxy-revalidate for a
 *   shared cache, §5.2.2.10) or `no-cache` (§5.2.2.4).
 * @example
 * mayServeStale(new Headers({ [ORIGIN_CACHE_CONTROL]: "max-age=60, must-revalidate" }), Date.now()); // false
 */
export function mayServeStale(stored: Headers, now: number = Date.now()): boolean {
  const cc = storedDirectives(stored);
  const sie = deltaSeconds(cc, "stale-if-error");
  if (typeof sie === "number") return staleness(stored, now) <= sie;
  for (const d of ["must-revalidate", "proxy-revalidate", "s-maxage", "no-cache"]) if (cc.map.has(d)) return false;
  return true;
}

/**
 * Whether a stale stored object may be served at once while it is revalidated in the background:
 * `stale-while-revalidate=N` (RFC 5861 §3) and at most N seconds stale.
 * @example
 * mayRevalidateInBackground(stored, Date.now()); // true within the window
 */
export function mayRevalidateInBackground(stored: Headers, now: number): boolean {
  const swr = deltaSeconds(storedDirectives(stored), "stale-while-revalidate");
  return typeof swr === "number" && staleness(stored, now) <= swr;
}

/** How a request's own Cache-Control lets the edge use a stored response (RFC 9111 §5.2.1). */
export type Reuse = "fresh" | "stale" | "validate";

/**
 * Whether a stored object may answer this request as is: `fresh` (fresh, and the request's
 * `max-age`/`min-fresh` agree), `stale` (stale, but within the request's `max-stale`), or
 * `validate` (ask the origin: stale, or the request said `no-cache`, or is pickier than the object).
 * @example
 * requestReuse(stored, new Headers({ "cache-control": "no-cache" }), Date.now()); // "validate"
 */
export function requestReuse(stored: Headers, req: Headers, now: number): Reuse {
  const cc = parseDirectives(req.get("cache-control"));
  const fresh = isFresh(stored, now);
  if (cc.map.size === 0) return fresh ? "fresh" : "validate";
  if (cc.map.has("no-cache")) return "validate";
  const maxAge = deltaSeconds(cc, "max-age");
  if (maxAge !== undefined) {
    const age = (Number(stored.get(INITIAL_AGE)) || 0) + Math.max(0, (now - (Number(stored.get(STORED_AT)) || 0)) / 1000);
    if (maxAge === "invalid" || age > maxAge) return "validate";
  }
  if (fresh) {
    const minFresh = deltaSeconds(cc, "min-fresh");
    if (minFresh === "invalid") return "validate";
    if (minFresh !== undefined && (Number(stored.get(FRESH_UNTIL)) - now) / 1000 < minFresh) return "validate";
    return "fresh";
  }
  if (cc.map.has("max-stale")) {
    if (cc.map.get("max-stale") === "") return "stale";
    const n = deltaSeconds(cc, "max-stale");
    if (typeof n === "number" && staleness(stored, now) <= n) return "stale";
  }
  return "validate";
}

/** Whether the request asked for validation itself (`no-cache`, `max-age`): no stale-while-revalidate then. */
export function requestForcesValidation(req: Headers): boolean {
  const cc = parseDirectives(req.get("cache-control"));
  return cc.map.has("no-cache") || cc.map.has("max-age");
}

/** Whether the request said `only-if-cached` (RFC 9111 §5.2.1.7: 504 rather than asking the origin). */
export function onlyIfCached(req: Headers): boolean {
  return parseDirectives(req.get("cache-control")).map.has("only-if-cached");
}
