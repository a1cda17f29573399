/**
 * The route table: URL path prefixes (under `/c/` and `/m/`) mapped to origin base URLs, from the
 * `ROUTES` var only. The origin a request reaches is always `base + rest`, re-checked after URL
 * parsing to still be under `base` — nothing in a request (path, query, Host header) can pick a host.
 */
import { HttpError } from "./http-error";
import { checkRelativePath, normalizePercentEncoding } from "./safe-path";

/** One configured route. */
export interface Route {
  /** Path prefix, starts and ends with `/`, e.g. `/demo/`. */
  prefix: string;
  /** Origin base URL, http(s), ends with `/`, no credentials/query/fragment. */
  base: URL;
}

/** Routes sorted longest prefix first (so `/demo/big/` wins over `/demo/`). */
export type RouteTable = readonly Route[];

/** A request path resolved against the route table. */
export interface ResolvedPath {
  route: Route;
  /** The route-relative rest, raw (percent-encoded as received). */
  rest: string;
  /** The exact URL fetched from the origin. */
  originUrl: URL;
  /** Public path of the content, e.g. `/demo/a.bin` (without `/c`). */
  path: string;
}

const PREFIX = /^\/(?:[A-Za-z0-9._~-]+\/)+$/;

/**
 * Parses the `ROUTES` JSON object. Throws `HttpError(500, "bad-config")` on any invalid entry.
 * @example
 * parseRouteTable('{"/demo/": "http://127.0.0.1:8788/"}');
 */
export function parseRouteTable(raw: string | undefined): RouteTable {
  let v: unknown;
  try {
    v = JSON.parse(raw ?? "");
  } catch {
    throw new HttpError(500, "bad-config", "ROUTES is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new HttpError(500, "bad-config", "ROUTES must be an object");
  const routes: Route[] = [];
  for (const [prefix, target] of Object.entries(v)) {
    if (!PREFIX.test(prefix) || prefix.split("/").some((s) => s === "." || s === ".."))
      throw new HttpError(500, "bad-config", `ROUTES prefix ${JSON.stringify(prefix)} must look like /name/`);
    let base: URL;
    try {
      base = new URL(String(target));
    } catch {
      throw new HttpError(500, "bad-config", `ROUTES target for ${prefix} is not a URL`);
    }
    if ((base.protocol !== "http:" && base.protocol !== "https:") || base.username || base.password || base.search || base.hash || !base.pathname.endsWith("/") || String(target) !== base.href)
      throw new HttpError(500, "bad-config", `ROUTES target for ${prefix} must be a canonical http(s) URL ending in / without credentials, query or fragment`);
    routes.push({ prefix, base });
  }
  return routes.sort((a, b) => b.prefix.length - a.prefix.length);
}

/**
 * Resolves a public content path (`/demo/a/b.bin`, raw) to its route and origin URL.
 * Throws 404 `no-route` when no prefix matches, 400/414 for unsafe paths.
 */
export function resolveRoute(table: RouteTable, path: string): ResolvedPath {
  const route = table.find((r) => path.startsWith(r.prefix));
  if (!route) throw new HttpError(404, "no-route", "no route for this path");
  const rest = normalizePercentEncoding(checkRelativePath(path.slice(route.prefix.length)));
  const originUrl = new URL(route.base.href + rest);
  // Defence in depth: whatever the checks above missed, the parsed URL must stay under the base.
  if (originUrl.origin !== route.base.origin || !originUrl.pathname.startsWith(route.base.pathname) || originUrl.search || originUrl.hash)
    throw new HttpError(400, "bad-path", "path escapes its route");
  return { route, rest, originUrl, path: route.prefix + rest };
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
