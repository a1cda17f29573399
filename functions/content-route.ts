/**
 * `GET|HEAD /c/<route prefix><path>` — content through the edge cache, with conditional requests
 * (304), single ranges (206/416), stale-if-error and pass-through for anything not public.
 */
import { Hono, type Context } from "hono";
import { contentRange, parseRange, sliceStream } from "./byte-range";
import { contentKey } from "./edge-cache";
import { edgeConfig } from "./edge-config";
import { requestEligibility } from "./eligibility";
import { withCors } from "./cors";
import { HttpError } from "./http-error";
import { contentLength, loadContent, withLength, type Loaded, type LoaderDeps } from "./content-loader";
import { fillLockFor } from "./fill-join";
import { fetchOrigin, originHeaders } from "./origin-fetch";
import { edgePathOf, resolveRoute, type ResolvedPath, type RouteTable } from "./route-table";

type Ctx = Context<{ Bindings: Env }>;

/** Loader dependencies for a request: the default cache, the real clock, the request's waitUntil. */
export function loaderDeps(c: Ctx): LoaderDeps {
  const ctx = c.executionCtx;
  // tsconfig's DOM lib shadows workers-types' `CacheStorage`, which is where `default` lives.
  const cache = (caches as unknown as { default: Cache }).default;
  return { cache, cfg: edgeConfig(c.env), now: Date.now, waitUntil: (p) => ctx.waitUntil(p), fillLock: fillLockFor(c.env, c.req.raw) };
}

/** Resolves the raw (still percent-encoded) path after `/c` or `/m`. Never reads the Host header. */
export function resolveRequest(c: Ctx, deps: LoaderDeps): ResolvedPath {
  const path = new URL(c.req.url).pathname.slice(2);
  return resolveRoute(deps.cfg.routes, path);
}

const strongless = (t: string) => t.trim().replace(/^W\//, "");

/** RFC 9110 §13.1.2/§13.1.3: If-None-Match (weak comparison) wins over If-Modified-Since. */
export function notModified(req: Headers, res: Headers): boolean {
  const inm = req.get("if-none-match");
  const etag = res.get("etag");
  if (inm !== null) return etag !== null && (inm.trim() === "*" || inm.split(",").some((t) => strongless(t) === strongless(etag)));
  const ims = Date.parse(req.get("if-modified-since") ?? "");
  const lm = Date.parse(res.get("last-modified") ?? "");
  return Number.isFinite(ims) && Number.isFinite(lm) && lm <= ims;
}

function mark(h: Headers, loaded: Pick<Loaded, "cache" | "eligible">): Headers {
  h.set("x-edgeswarm-cache", loaded.cache);
  h.set("x-edgeswarm-eligible", loaded.eligible ? "1" : "0");
  return h;
}

/**
 * An origin response passed through untouched but for our two markers (no CORS: not public), and a
 * redirect to a URL under a configured route pointed at its edge URL.
 */
function passThrough(res: Response, method: string, target: ResolvedPath, table: RouteTable): Response {
  const h = mark(new Headers(res.headers), { cache: "BYPASS", eligible: false });
  const location = res.status >= 300 && res.status < 400 ? h.get("location") : null;
  if (location !== null) {
    let url: URL | null = null;
    try {
      url = new URL(location, target.originUrl);
    } catch {
      // not a URL: pass it on unchanged
    }
    const edge = url && edgePathOf(table, url);
    if (edge) h.set("location", edge);
  }
  if (method === "HEAD") res.body?.cancel().catch(() => {});
  return new Response(method === "HEAD" ? null : res.body, { status: res.status, statusText: res.statusText, headers: h });
}

async function answer(deps: LoaderDeps, loaded: Loaded, target: ResolvedPath, method: string, req: Headers): Promise<Response> {
  const res = loaded.response;
  const h = withCors(mark(new Headers(res.headers), loaded));
  const drop = () => res.body?.cancel().catch(() => {});
  if (notModified(req, h)) {
    drop();
    h.delete("content-length");
    return new Response(null, { status: 304, headers: h });
  }
  const size = contentLength(h);
  const ifRange = req.get("if-range");
  const rangeApplies = size !== null && (ifRange === null || strongless(ifRange) === strongless(h.get("etag") ?? "") || ifRange === h.get("last-modified"));
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
  if (!range) return new Response(res.body, { status: 200, headers: h });

  h.set("content-range", contentRange(range));
  h.set("content-length", String(range.end - range.start + 1));
  if (loaded.cache !== "MISS") {
    // Served by the Cache API itself (it answers single ranges with 206 on workerd), so a range
    // near the end of a large object does not read through everything before it.
    const ranged = await deps.cache.match(new Request(contentKey(target.originUrl), { headers: { range: `bytes=${range.start}-${range.end}` } }));
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
export const contentRoutes = new Hono<{ Bindings: Env }>();

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
  if (!loaded.eligible) return passThrough(loaded.response, method, target, deps.cfg.routes);
  return answer(deps, loaded, target, method, req);
});
