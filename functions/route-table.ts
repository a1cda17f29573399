/**
 * The route table: URL path prefixes (under `/c/` and `/m/`) mapped to origin base URLs, from the
 * `ROUTES` setting only. The origin a request reaches is always `base + canonical path (+ query)`,
 * re-checked after URL parsing to have exactly the base's origin and that path — nothing in a
 * request (path, query, Host header) can pick a host.
 */
import { HttpError } from "./http-error";
import { canonicalPath, checkRelativePath } from "./safe-path";
import { SWARM_SCOPES, type SwarmScope } from "../protocol/collection";

/**
 * What a route does with a request's query string: `forward` (default, as Cloudflare's standard
 * cache key: part of the cache key and sent to the origin), `ignore` (dropped from both), or an
 * allow-list of parameter names (only those are kept, in the request's order).
 */
export type QueryPolicy = "forward" | "ignore" | readonly string[];

/** What a route does with POST/PUT/PATCH/DELETE on `/c/`: `refuse` (405) or `forward` to the origin. */
export type UnsafeMethods = "refuse" | "forward";

/** One configured route. */
export interface Route {
  /** Path prefix, starts and ends with `/`, e.g. `/demo/`. */
  prefix: string;
  /** Origin base URL, http(s), ends with `/`, no credentials/query/fragment. */
  base: URL;
  query: QueryPolicy;
  unsafeMethods: UnsafeMethods;
  /**
   * How far this route's swarms reach (protocol/collection.ts): `item`, `stream` or `route`;
   * undefined = by content type (`defaultScope`).
   */
  scope?: SwarmScope;
}

/** Routes sorted longest prefix first (so `/demo/big/` wins over `/demo/`). */
export type RouteTable = readonly Route[];

/** A request path resolved against the route table. */
export interface ResolvedPath {
  route: Route;
  /** The route-relative rest, canonically encoded (safe-path.ts `canonicalPath`). */
  rest: string;
  /** The exact URL fetched from the origin (query included per the route's policy). */
  originUrl: URL;
  /** Public path of the content plus its effective query, e.g. `/demo/a.bin?v=2` (without `/c`). */
  path: string;
}

const PREFIX = /^\/(?:[A-Za-z0-9._~-]+\/)+$/;
const PARAM_NAME = /^[A-Za-z0-9._~-]{1,64}$/;

const bad = (message: string) => new HttpError(500, "bad-config", message);

function parseBase(prefix: string, target: unknown): URL {
  let base: URL;
  try {
    base = new URL(String(target));
  } catch {
    throw bad(`ROUTES target for ${prefix} is not a URL`);
  }
  if ((base.protocol !== "http:" && base.protocol !== "https:") || base.username || base.password || base.search || base.hash || !base.pathname.endsWith("/") || String(target) !== base.href)
    throw bad(`ROUTES target for ${prefix} must be a canonical http(s) URL ending in / without credentials, query or fragment`);
  return base;
}

function parseQueryPolicy(prefix: string, v: unknown): QueryPolicy {
  if (v === undefined || v === "forward") return "forward";
  if (v === "ignore") return "ignore";
  if (Array.isArray(v) && v.length <= 64 && v.every((n) => typeof n === "string" && PARAM_NAME.test(n))) return Object.freeze([...v] as string[]);
  throw bad(`ROUTES ${prefix}: query must be "forward", "ignore" or an array of parameter names`);
}

/**
 * Parses the `ROUTES` JSON object: prefix → origin base URL, or prefix → `{origin, query?,
 * unsafeMethods?}`. Throws `HttpError(500, "bad-config")` on any invalid entry.
 * @example
 * parseRouteTable('{"/demo/": "http://127.0.0.1:8788/"}');
 * parseRouteTable('{"/img/": {"origin": "https://o.example/img/", "query": ["w", "h"]}}');
 */
export function parseRouteTable(raw: string | undefined): RouteTable {
  let v: unknown;
  try {
    v = JSON.parse(raw ?? "");
  } catch {
    throw bad("ROUTES is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad("ROUTES must be an object");
  const routes: Route[] = [];
  for (const [prefix, target] of Object.entries(v)) {
    if (!PREFIX.test(prefix) || prefix.split("/").some((s) => s === "." || s === ".."))
      throw bad(`ROUTES prefix ${JSON.stringify(prefix)} must look like /name/`);
    if (typeof target === "object" && target !== null && !Array.isArray(target)) {
      const o = target as Record<string, unknown>;
      const extra = Object.keys(o).filter((k) => k !== "origin" && k !== "query" && k !== "unsafeMethods" && k !== "scope");
      if (extra.length) throw bad(`ROUTES ${prefix}: unknown field ${extra[0]} (known: origin, query, unsafeMethods, scope)`);
      if (o.scope !== undefined && !(SWARM_SCOPES as readonly unknown[]).includes(o.scope))
        throw bad(`ROUTES ${prefix}: scope must be one of ${SWARM_SCOPES.join(", ")}`);
      if (o.unsafeMethods !== undefined && o.unsafeMethods !== "refuse" && o.unsafeMethods !== "forward")
        throw bad(`ROUTES ${prefix}: unsafeMethods must be "refuse" or "forward"`);
      routes.push({
        prefix, base: parseBase(prefix, o.origin), query: parseQueryPolicy(prefix, o.query), unsafeMethods: (o.unsafeMethods as UnsafeMethods | undefined) ?? "refuse",
        ...(o.scope !== undefined ? { scope: o.scope as SwarmScope } : {}),
      });
    } else {
      routes.push({ prefix, base: parseBase(prefix, target), query: "forward", unsafeMethods: "refuse" });
    }
  }
  return routes.sort((a, b) => b.prefix.length - a.prefix.length);
}

function nameOf(part: string): string {
  const raw = part.split("=", 1)[0]!.replace(/\+/g, " ");
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The query a route keeps of a request's raw `search` (with or without `?`): "" or `?…`. Parts are
 * kept as the client encoded them (the URL parser already escaped what a query may not hold), empty
 * parts dropped.
 * @example
 * effectiveQuery("?v=2&utm=x", ["v"]); // "?v=2"
 */
export function effectiveQuery(search: string, policy: QueryPolicy): string {
  if (policy === "ignore") return "";
  const parts = search.replace(/^\?/, "").split("&").filter((p) => p !== "");
  const kept = policy === "forward" ? parts : parts.filter((p) => policy.includes(nameOf(p)));
  return kept.length ? `?${kept.join("&")}` : "";
}

/**
 * Resolves a public content path (`/demo/a/b.bin`, raw) and the request's query to its route and
 * origin URL. Throws 404 `no-route` when no prefix matches, 400/414 for unsafe paths.
 * @example
 * resolveRoute(table, "/demo/logo@2x.png", "?v=2").originUrl.href; // "http://127.0.0.1:8788/logo@2x.png?v=2"
 */
export function resolveRoute(table: RouteTable, path: string, search = ""): ResolvedPath {
  const route = table.find((r) => path.startsWith(r.prefix));
  if (!route) throw new HttpError(404, "no-route", "no route for this path");
  const rest = canonicalPath(checkRelativePath(path.slice(route.prefix.length)));
  const query = effectiveQuery(search, route.query);
  const originUrl = new URL(route.base.href + rest + query);
  // By construction the parsed URL is the base plus exactly this path: anything else (a URL parser
  // that still found a way to reinterpret it) is refused rather than fetched.
  if (originUrl.origin !== route.base.origin || originUrl.pathname !== route.base.pathname + rest || originUrl.hash)
    throw new HttpError(400, "bad-path", "path escapes its route");
  return { route, rest, originUrl, path: route.prefix + rest + query };
}

/**
 * The edge path (`/c<prefix><rest>`, plus the URL's query and fragment) of an origin URL that lies
 * under a configured route base, or null. Used to rewrite origin redirects (RFC 9110 §10.2.2:
 * `Location` may be relative to the request URL, here the origin URL) so clients keep coming
 * through the edge instead of being sent to the origin host.
 * @example
 * edgePathOf(table, new URL("http://127.0.0.1:8788/a/b.bin")); // "/c/demo/a/b.bin"
 */
export function edgePathOf(table: RouteTable, url: URL): string | null {
  let best: Route | undefined;
  for (const r of table) {
    if (url.origin === r.base.origin && url.pathname.startsWith(r.base.pathname) && (!best || r.base.pathname.length > best.base.pathname.length)) best = r;
  }
  if (!best) return null;
  try {
    const rest = checkRelativePath(url.pathname.slice(best.base.pathname.length));
    return `/c${best.prefix}${rest}${url.search}${url.hash}`;
  } catch {
    return null; // a path the edge would refuse: leave the redirect as the origin sent it
  }
}

/** Response fields holding a URI reference the origin resolves against its own URL (RFC 9110 §10.2.2, §8.7). */
const URI_FIELDS = ["location", "content-location"] as const;

/**
 * Points `Location` and `Content-Location` of an origin answer at the edge: a reference that
 * resolves (against `originUrl`, the URL the edge fetched) to a URL under a configured route base
 * becomes its edge path (`/c<prefix><rest>`), so clients keep coming through the edge and never
 * learn the origin host; anything else (another host, a path the edge would refuse, not a URL) is
 * left as sent. Changes `h` in place.
 * @example
 * edgeLocations(h, new URL("http://127.0.0.1:8788/form"), table); // location "/x" → "/c/demo/x"
 */
export function edgeLocations(h: Headers, originUrl: URL, table: RouteTable): void {
  for (const field of URI_FIELDS) {
    const v = h.get(field);
    if (v === null) continue;
    let url: URL;
    try {
      url = new URL(v, originUrl);
    } catch {
      continue; // not a URL: passed on unchanged
    }
    const edge = edgePathOf(table, url);
    if (edge) h.set(field, edge);
  }
}
