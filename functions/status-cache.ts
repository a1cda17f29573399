/**
 * Storing answers other than 200 (RFC 9111 §3, §4.2.2): the statuses a cache may reuse — 203, 204,
 * 300, 301, 308, 404, 405, 410, 414, 501 — are stored when the origin allows it, so a 404 with
 * `max-age` or a permanent redirect is answered by the edge instead of reaching the origin each
 * time. They are never shared between peers (only full 200s are: functions/eligibility.ts), never
 * hashed into manifests, and their bodies are small by construction: only bodies with a known length
 * up to {@link MAX_STORED_BODY} are stored (a large error page streams through uncached).
 */
import { STORED_STATUS, clientHeaders, storedHeaders } from "./edge-cache";
import { parseCacheControl, edgeCacheControl } from "./eligibility";
import { hasExplicitFreshness } from "./freshness";
import { varyFields } from "./vary-key";

/** The non-200 statuses a shared cache may store (RFC 9110 §15.1: heuristically cacheable, 200 aside). */
export const STORABLE_STATUSES: ReadonlySet<number> = new Set([203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/**
 * Storable statuses that may not carry a body (RFC 9110 §15.3.5): stored as a body-less 200 marked
 * with {@link STORED_STATUS}, because Miniflare's Cache API keeps no response of a null-body status.
 */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([204]);

/** Largest non-200 body the edge stores, bytes. */
export const MAX_STORED_BODY = 64 * 1024;

/**
 * Whether a non-200 origin answer to a credential-less GET may be stored: a storable status, no
 * `no-store`/`private` (either field), no `Set-Cookie`, no `Vary: *`, a body of known small length,
 * and freshness explicit or — for these heuristically cacheable statuses — from Last-Modified.
 * @example
 * mayStoreStatus(404, new Headers({ "cache-control": "public, max-age=60", "content-length": "9" })); // true
 */
export function mayStoreStatus(status: number, h: Headers): boolean {
  if (!STORABLE_STATUSES.has(status)) return false;
  const general = parseCacheControl(h.get("cache-control"));
  const targeted = parseCacheControl(edgeCacheControl(h));
  for (const d of ["no-store", "private"]) if (general.has(d) || targeted.has(d)) return false;
  if (h.has("set-cookie")) return false;
  if (varyFields(h) === "*") return false;
  const len = h.get("content-length");
  if (!NULL_BODY_STATUSES.has(status) && (len === null || !/^\d+$/.test(len) || Number(len) > MAX_STORED_BODY)) return false;
  return hasExplicitFreshness(h) || h.has("last-modified") || targeted.has("public");
}

/**
 * Stores a non-200 answer and returns what the client gets now: the same status, body and headers.
 * The body is read whole first (it is at most {@link MAX_STORED_BODY}).
 */
export async function storeStatus(
  cache: Cache, key: string, res: Response, now: number, staleKeepSeconds: number, waitUntil: (p: Promise<unknown>) => void,
): Promise<Response> {
  const stored = storedHeaders(res.headers, now, staleKeepSeconds, crypto.randomUUID(), res.status);
  if (NULL_BODY_STATUSES.has(res.status)) {
    res.body?.cancel().catch(() => {});
    const marked = new Headers(stored);
    marked.set(STORED_STATUS, String(res.status));
    marked.delete("content-length");
    waitUntil(cache.put(key, new Response(null, { status: 200, headers: marked })).catch((e) => console.warn("edge:store-status", key, e)));
    return new Response(null, { status: res.status, statusText: res.statusText, headers: clientHeaders(stored, now) });
  }
  const body = await res.arrayBuffer();
  waitUntil(cache.put(key, new Response(body, { status: res.status, headers: stored })).catch((e) => console.warn("edge:store-status", key, e)));
  return new Response(body, { status: res.status, statusText: res.statusText, headers: clientHeaders(stored, now) });
}

/**
 * A stored entry as the loader sees it: one stored under {@link STORED_STATUS} gets its real
 * (null-body) status back; anything else is returned as is.
 * @example
 * const stored = restoredStatus(await cache.match(key)); // a stored 204 is a 204 again
 */
export function restoredStatus(res: Response | undefined): Response | undefined {
  const status = Number(res?.headers.get(STORED_STATUS));
  if (!res || !NULL_BODY_STATUSES.has(status)) return res;
  res.body?.cancel().catch(() => {});
  return new Response(null, { status, headers: res.headers });
}
