/**
 * Freshness of stored objects, tracked by the Worker itself. Objects are put into the Cache API
 * with a long `s-maxage` (so a copy survives for stale-if-error) and the origin's own freshness is
 * kept in {@link FRESH_UNTIL}; pure functions with the clock passed in.
 */
import { edgeCacheControl, parseCacheControl } from "./eligibility";

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

/**
 * Freshness lifetime in seconds per RFC 9111 §4.2.1 for a shared cache, from `CDN-Cache-Control`
 * (RFC 9213) when present, else `Cache-Control`: `s-maxage`, else `max-age`,
 * else `Expires − Date`, else the §4.2.2 heuristic (10 % of the time since Last-Modified, at most a
 * day). `no-cache` means "revalidate every time" (lifetime 0). The origin's `Age` is subtracted.
 * @example
 * freshnessLifetime(new Headers({ "cache-control": "public, max-age=60" }), Date.now()); // 60
 */
export function freshnessLifetime(headers: Headers, now: number): number {
  const cc = parseCacheControl(edgeCacheControl(headers));
  const age = Math.max(0, Number(headers.get("age")) || 0);
  if (cc.has("no-cache")) return 0;
  const num = (k: string): number | undefined => {
    const v = cc.get(k);
    if (v === undefined) return undefined;
    const n = Number.parseInt(v, 10);
    return Number.isFinite(n) && n >= 0 ? n : 0;
  };
  let lifetime = num("s-maxage") ?? num("max-age");
  if (lifetime === undefined) {
    const expires = Date.parse(headers.get("expires") ?? "");
    const date = Date.parse(headers.get("date") ?? "") || now;
    if (headers.has("expires")) lifetime = Number.isFinite(expires) ? Math.max(0, Math.floor((expires - date) / 1000)) : 0;
    else {
      const lm = Date.parse(headers.get("last-modified") ?? "");
      lifetime = Number.isFinite(lm) ? Math.min(86_400, Math.max(0, Math.floor((date - lm) / 10_000))) : 0;
    }
  }
  return Math.max(0, lifetime - age);
}

/** True when a stored object (headers as stored by the edge) is still fresh at `now`. */
export function isFresh(stored: Headers, now: number): boolean {
  const until = Number(stored.get(FRESH_UNTIL));
  return Number.isFinite(until) && now < until;
}

/**
 * Whether a stale stored object may be served when the origin fails (stale-if-error). Not when the
 * origin said `must-revalidate` or `proxy-revalidate`: RFC 9111 §5.2.2.2/§5.2.2.8 forbid a shared
 * cache to reuse such a response once stale without successful validation.
 * @example
 * mayServeStale(new Headers({ [ORIGIN_CACHE_CONTROL]: "max-age=60, must-revalidate" })); // false
 */
export function mayServeStale(stored: Headers): boolean {
  const cc = parseCacheControl(stored.get(ORIGIN_CDN_CACHE_CONTROL) ?? stored.get(ORIGIN_CACHE_CONTROL));
  return !cc.has("must-revalidate") && !cc.has("proxy-revalidate");
}
