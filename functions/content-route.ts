/**
 * `GET|HEAD /c/<route prefix><path>` — content through the edge cache, with conditional requests
 * (304), single ranges (206/416), stale-if-error and pass-through for anything not public.
 */
import { Hono } from "hono";
import { contentRange, parseRange, sliceStream } from "./byte-range";
import { contentKey } from "./edge-cache";
import { localPath, type EdgeContext, type EdgeEnv } from "./edge-context";
import { requestEligibility } from "./eligibility";
import { withCors } from "./cors";
import { HttpError } from "./http-error";
import { parseHttpDate } from "./http-fields";
import { loadContent, type Loaded, type LoaderDeps } from "./content-loader";
import { contentLength, withLength } from "./fill-store";
import { fillLockFor } from "./fill-join";
import { fetchOrigin, originHeaders } from "./origin-fetch";
import { purgeAwareCache } from "./purge";
import { UNSAFE_METHODS, forwardUnsafe } from "./unsafe-methods";
import { edgeLocations, resolveRoute, type ResolvedPath, type RouteTable } from "./route-table";
import { MANIFEST_INLINE_PARAM, MANIFEST_LEAD_PARAM } from "../protocol/manifest";

type Ctx = EdgeContext;

/** Loader dependencies for a request: the default cache (as purges left it), the real clock, the request's waitUntil. */
export function loaderDeps(c: Ctx): LoaderDeps {
  const ctx = c.executionCtx;
  // tsconfig's DOM lib shadows workers-types' `CacheStorage`, which is where `default` lives.
  const cache = (caches as unknown as { default: Cache }).default;
  const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
  return { cache: purgeAwareCache(cache, c.var.config, Date.now, waitUntil), cfg: c.var.config, now: Date.now, waitUntil, fillLock: fillLockFor(c.env, c.req.raw) };
}

/** `/m/`'s own query parameters (the peer key or id, `inline`, `lead`); the rest of the query names the content. */
const EDGE_PARAMS: ReadonlySet<string> = new Set(["key", "peer", MANIFEST_INLINE_PARAM, MANIFEST_LEAD_PARAM]);

function withoutEdgeParams(search: string): string {
  const kept = search.replace(/^\?/, "").split("&").filter((p) => p !== "" && !EDGE_PARAMS.has(p.split("=", 1)[0]!));
  return kept.length ? `?${kept.join("&")}` : "";
}

/**
 * Resolves the raw (still percent-encoded) path after `/c` or `/m`, and its query (on `/m/`, less
 * the edge's own `key`/`peer`). Never reads the Host header.
 */
export function resolveRequest(c: Ctx, deps: LoaderDeps): ResolvedPath {
  const local = localPath(c);
  const search = new URL(c.req.url).search;
  return resolveRoute(deps.cfg.routes, local.slice(2), local.startsWith("/m/") ? withoutEdgeParams(search) : search);
}

const strongless = (t: string) => t.trim().replace(/^W\//, "");

/** RFC 9110 §13.1.2/§13.1.3: If-None-Match (weak comparison) wins over If-Modified-Since. */
export function notModified(req: Headers, res: Headers): boolean {
  const inm = req.get("if-none-match");
  const etag = res.get("etag");
  if (inm !== null) return etag !== null && (inm.trim() === "*" || inm.split(",").some((t) => strongless(t) === strongless(etag)));
  // Strict HTTP-dates (RFC 9110 §13.1.3: a value that is not one is ignored), not Date.parse's dozens of shapes.
  const ims = parseHttpDate(req.get("if-modified-since"));
  const lm = parseHttpDate(res.get("last-modified"));
  return ims !== null && lm !== null && lm <= ims;
}

/**
 * RFC 9110 §13.1.5: a Range applies only when If-Range is absent or still names the stored
 * representation — an entity tag by *strong* comparison (a weak tag, or `W/` of a strong one, never
 * matches: the bytes may differ), a date only when it equals Last-Modified exactly.
 * @example
 * ifRangeHolds('W/"v1"', new Headers({ etag: '"v1"' })); // false → the full 200
 */
export function ifRangeHolds(ifRange: string | null, res: Headers): boolean {
  if (ifRange === null) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith("W/")) {
    const etag = res.get("etag")?.trim();
    return etag !== undefined && !v.startsWith("W/") && !etag.startsWith("W/") && v === etag;
  }
  const lm = res.get("last-modified");
  return lm !== null && parseHttpDate(v) !== null && v === lm.trim();
}

function mark(h: Headers, loaded: Pick<Loaded, "cache" | "eligible">): Headers {
  h.set("x-edgeswarm-cache", loaded.cache);
  h.set("x-edgeswarm-eligible", loaded.eligible ? "1" : "0");
  return h;
}

/**
 * An origin response passed through untouched but for our two markers (no CORS: not public), and a
 * Location / Content-Location under a configured route pointed at its edge URL.
 */
function passThrough(res: Response, method: string, target: ResolvedPath, table: RouteTable, cors = false, cache: Loaded["cache"] = "BYPASS"): Response {
  const h = mark(new Headers(res.headers), { cache, eligible: false });
  // An origin error for a credential-less request stays readable cross-origin, like the edge's own.
  if (cors) withCors(h);
  edgeLocations(h, target.originUrl, table);
  if (method === "HEAD") res.body?.cancel().catch(() => {});
  return new Response(method === "HEAD" ? null : res.body, { status: res.status, statusText: res.statusText, headers: h });
}

async function answer(deps: LoaderDeps, loaded: Loaded, target: ResolvedPath, method: string, req: Headers): Promise<Response> {
  const res = loaded.response;
  const h = withCors(mark(new Headers(res.headers), loaded));
  edgeLocations(h, target.originUrl, deps.cfg.routes);
  const drop = () => res.body?.cancel().catch(() => {});
  if (notModified(req, h)) {
    drop();
    h.delete("content-length");
    return new Response(null, { status: 304, headers: h });
  }
  const size = contentLength(h);
  // RFC 9110 §14.2: range handling is defined for GET only; a HEAD ignores Range (200 either way,
  // satisfiable or not), so it describes exactly what the GET without Range would send.
  const rangeApplies = method === "GET" && size !== null && ifRangeHolds(req.get("if-range"), h);
  const range = rangeApplies ? parseRange(req.get("range"), size) : null;
  if (range === "unsatisfiable") {
    drop();
    throw new HttpError(416, "range-not-satisfiable", "range not satisfiable", {
      "content-range": contentRange({ size: size! }),
      ...Object.fromEntries(withCors(mark(new Headers(), loaded))),
    });
  }
  if (method === "HEAD") {
    drop();
    return new Response(null, { status: 200, headers: h });
  }
  // A chunked object's lazily read body carries no length of its own.
  if (!range) return new Response(loaded.ranged ? withLength(res.body!, size) : res.body, { status: 200, headers: h });

  h.set("content-range", contentRange(range));
  h.set("content-length", String(range.end - range.start + 1));
  if (loaded.ranged) {
    // A chunked object (functions/chunked-storage.ts): only the chunks the range lies in are read.
    drop();
    return new Response(withLength(loaded.ranged(range.start, range.end), range.end - range.start + 1), { status: 206, headers: h });
  }
  if (loaded.cache !== "MISS") {
    // Served by the Cache API itself (it answers single ranges with 206 on workerd), so a range
    // near the end of a large object does not read through everything before it.
    const ranged = await deps.cache.match(new Request(loaded.key ?? contentKey(target.originUrl), { headers: { range: `bytes=${range.start}-${range.end}` } }));
    if (ranged?.status === 206 && ranged.headers.get("content-range") === contentRange(range)) {
      drop();
      return new Response(ranged.body, { status: 206, headers: h });
    }
    ranged?.body?.cancel().catch(() => {});
  }
  // MISS (or the entry vanished meanwhile): cut the range out of the streaming body.
  return new Response(withLength(sliceStream(res.body!, range.start, range.end), range.end - range.start + 1), { status: 206, headers: h });
}

/**
 * The `/c/` routes.
 * @example
 * app.route("/c", contentRoutes);
 */
export const contentRoutes = new Hono<EdgeEnv>();

contentRoutes.on(["GET", "HEAD"], "/*", async function content(c) {
  const deps = loaderDeps(c);
  const target = resolveRequest(c, deps);
  const method = c.req.method;
  const req = c.req.raw.headers;
  if (!requestEligibility(method, req).eligible) {
    // Credentials on the request: straight to the origin and back, never near the cache.
    return passThrough(await fetchOrigin(target.originUrl, { method: method as "GET" | "HEAD", headers: originHeaders(req, true) }, deps.cfg.originTimeoutMs), method, target, deps.cfg.routes);
  }
  const loaded = await loadContent(deps, target, req);
  if (loaded.originBytes !== undefined) c.set("originBytes", loaded.originBytes);
  // Not shareable: an origin status (stored when RFC 9111 allows, functions/status-cache.ts) or
  // private content. A stored variant (`vary`, functions/vary-key.ts) is public: ranges, 304s, CORS.
  if (!loaded.eligible && loaded.reason !== "vary") return passThrough(loaded.response, method, target, deps.cfg.routes, loaded.reason === "status", loaded.cache);
  return answer(deps, loaded, target, method, req);
});

// RFC 9111 §4.4: unsafe methods reach the origin only where the route allows it, and invalidate.
contentRoutes.on([...UNSAFE_METHODS], "/*", (c) => forwardUnsafe(c, resolveRequest(c, loaderDeps(c))));
