/**
 * POST, PUT, PATCH and DELETE on `/c/`: refused (405) unless the route says
 * `"unsafeMethods": "forward"`; then forwarded to the origin URL (same construction as GET, so the
 * same SSRF guarantees) with the client's body and headers, the answer passed through untouched,
 * and — RFC 9111 §4.4 — on a non-error answer the stored copy of the target URI is invalidated, as
 * are those of the `Location` and `Content-Location` URIs when they lie under a configured route
 * (same origin only: another origin's entries are not this one's to invalidate); both fields are
 * pointed at the edge like a GET redirect's.
 */
import { contentKey, ineligibleKey } from "./edge-cache";
import type { EdgeContext } from "./edge-context";
import { HttpError } from "./http-error";
import { fetchOrigin } from "./origin-fetch";
import { edgeLocations, edgePathOf, resolveRoute, type ResolvedPath } from "./route-table";

/** The methods this module handles. */
export const UNSAFE_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;

/** Request headers forwarded with an unsafe method: the request is the client's, not the cache's. */
const FORWARDED = ["accept", "accept-language", "user-agent", "authorization", "cookie", "content-type", "content-length", "if-match", "if-none-match", "if-unmodified-since", "if-modified-since"];

/**
 * Cache entries an unsafe request's answer invalidates: the target, and its Location /
 * Content-Location when they lie under a route and have the target's origin (RFC 9111 §4.4: "MUST
 * NOT … if the origin … differs": one origin may not evict another's entries).
 */
function invalidated(c: EdgeContext, target: ResolvedPath, res: Response): URL[] {
  const out = [target.originUrl];
  for (const field of ["location", "content-location"]) {
    const v = res.headers.get(field);
    if (v === null) continue;
    let url: URL;
    try {
      url = new URL(v, target.originUrl);
    } catch {
      continue;
    }
    if (url.origin !== target.originUrl.origin) continue;
    const edge = edgePathOf(c.var.config.routes, url);
    if (!edge) continue;
    try {
      const q = edge.indexOf("?");
      out.push(resolveRoute(c.var.config.routes, (q < 0 ? edge : edge.slice(0, q)).slice(2), q < 0 ? "" : edge.slice(q)).originUrl);
    } catch {
      // a URL the edge would refuse is not stored either
    }
  }
  return out;
}

/**
 * Forwards an unsafe request (or refuses it with 405), invalidating what its answer changed.
 * @example
 * contentRoutes.on([...UNSAFE_METHODS], "/*", (c) => forwardUnsafe(c, resolveRequest(c, loaderDeps(c))));
 */
export async function forwardUnsafe(c: EdgeContext, target: ResolvedPath): Promise<Response> {
  if (target.route.unsafeMethods !== "forward")
    throw new HttpError(405, "method-not-allowed", `${c.req.method} not allowed on this route`, { allow: "GET, HEAD, OPTIONS" });
  const headers = new Headers();
  for (const k of FORWARDED) {
    const v = c.req.header(k);
    if (v !== undefined) headers.set(k, v);
  }
  const res = await fetchOrigin(target.originUrl, { method: c.req.method, headers, body: c.req.raw.body }, c.var.config.originTimeoutMs);
  // §4.4: "non-error status code" = 2xx or 3xx.
  if (res.status >= 200 && res.status < 400) {
    const cache = (caches as unknown as { default: Cache }).default;
    // Before the response goes out, so a client's next GET cannot see the old copy.
    await Promise.all(invalidated(c, target, res).flatMap((u) => [cache.delete(contentKey(u)), cache.delete(ineligibleKey(u))]));
  }
  const h = new Headers(res.headers);
  h.set("x-edgeswarm-cache", "BYPASS");
  h.set("x-edgeswarm-eligible", "0");
  // A 201's Location, a 303 after a POST: the client follows them through the edge, not to the origin host.
  edgeLocations(h, target.originUrl, c.var.config.routes);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
}
