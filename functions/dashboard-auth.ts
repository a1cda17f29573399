/**
 * Who may read the dashboard. `DASHBOARD_TOKEN` (a secret) sees every site; `DASHBOARD_TOKENS`
 * (optional secret, JSON object `{"/demo/": "<token>", …}`) gives tokens scoped to one route each —
 * a scoped token never sees another route's numbers, nor the sum over all. The token comes as
 * `Authorization: Bearer <token>` (Prometheus, scripts) or `?token=` (the page's URL).
 *
 * Comparison is constant-time: both sides are hashed to SHA-256 (equal lengths, so the length of a
 * configured token does not leak either) and compared with `crypto.subtle.timingSafeEqual`; every
 * configured token is compared, matched or not.
 */
import type { MiddlewareHandler } from "hono";
import type { EdgeVars } from "./edge-context";
import { HttpError } from "./http-error";

/** What a token grants: every site, or the listed ones. */
export type DashboardScope = { all: true } | { all: false; sites: readonly string[] };

/** Longest token accepted from a request (anything longer is refused before hashing). */
const MAX_TOKEN = 512;
const enc = new TextEncoder();
/** workerd's constant-time compare (tsconfig's DOM lib shadows workers-types' `SubtleCrypto`). */
const subtle = crypto.subtle as unknown as SubtleCrypto & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean };

async function digest(s: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", enc.encode(s));
}

/** The dashboard's settings' names (edge-config.ts SETTING_NAMES includes them). */
export const DASHBOARD_SETTING_NAMES = ["DASHBOARD_TOKEN", "DASHBOARD_TOKENS"] as const;

/** A configured token and what it grants. */
export type DashboardToken = readonly [token: string, scope: DashboardScope];

const badConfig = (message: string) => new HttpError(500, "bad-config", message);

/**
 * Parses the configured tokens once (functions/edge-config.ts): `[token, scope]`, the all-sites
 * one first. Malformed DASHBOARD_TOKENS (not a JSON object of non-empty strings, a token longer
 * than a request may present) is `bad-config`.
 * @example
 * configuredTokens({ DASHBOARD_TOKEN: "s3cret", DASHBOARD_TOKENS: '{"/demo/":"t1"}' });
 */
export function configuredTokens(env: { DASHBOARD_TOKEN?: string; DASHBOARD_TOKENS?: string }): DashboardToken[] {
  const out: DashboardToken[] = [];
  const check = (token: string, what: string) => {
    if (token.length > MAX_TOKEN) throw badConfig(`${what} is longer than ${MAX_TOKEN} characters`);
  };
  if (env.DASHBOARD_TOKEN) {
    check(env.DASHBOARD_TOKEN, "DASHBOARD_TOKEN");
    out.push([env.DASHBOARD_TOKEN, { all: true }]);
  }
  if (env.DASHBOARD_TOKENS) {
    let v: unknown;
    try {
      v = JSON.parse(env.DASHBOARD_TOKENS);
    } catch {
      throw badConfig("DASHBOARD_TOKENS is not JSON");
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw badConfig("DASHBOARD_TOKENS must be a JSON object {route: token}");
    for (const [site, token] of Object.entries(v)) {
      if (typeof token !== "string" || token.length === 0) throw badConfig(`DASHBOARD_TOKENS: token for ${site.slice(0, 100)} must be a non-empty string`);
      check(token, `DASHBOARD_TOKENS: token for ${site.slice(0, 100)}`);
      out.push([token, { all: false, sites: [site] }]);
    }
  }
  return out;
}

/**
 * The scope of a presented token, or null (missing, wrong, or nothing configured).
 * @example
 * await scopeOf(configuredTokens({ DASHBOARD_TOKEN: "s3cret" }), "s3cret"); // { all: true }
 */
export async function scopeOf(tokens: readonly DashboardToken[], presented: string | null): Promise<DashboardScope | null> {
  if (!presented || presented.length > MAX_TOKEN) return null;
  const mine = await digest(presented);
  let found: DashboardScope | null = null;
  const sites: string[] = [];
  for (const [token, scope] of tokens) {
    if (!subtle.timingSafeEqual(mine, await digest(token))) continue;
    if (scope.all) found = scope;
    else sites.push(...scope.sites); // one token may be configured for several routes
  }
  return found ?? (sites.length > 0 ? { all: false, sites } : null);
}

/** The token of a request: `Authorization: Bearer …`, else `?token=`. */
export function presentedToken(req: Request): string | null {
  const auth = req.headers.get("authorization");
  const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (m) return m[1]!;
  return new URL(req.url).searchParams.get("token");
}

/** A JSON error in the edge's one shape, `{error: {code, message}}`. */
export function dashboardError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status, headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/**
 * Requires a valid dashboard token; puts its scope on `c.var.dashboardScope`. 401 `unauthorized`
 * (with `WWW-Authenticate: Bearer`) without a token, with a wrong one, or when none is configured.
 * @example
 * dashboardRoutes.use("/data", requireDashboardToken());
 */
export const requireDashboardToken = (): MiddlewareHandler<{ Bindings: Env; Variables: EdgeVars & { dashboardScope: DashboardScope } }> =>
  async function requireDashboardToken(c, next) {
    // Parsed and validated with the rest of the configuration (a malformed value is `bad-config`
    // there), so library users configure it through `edgeswarm({ settings })` too.
    const tokens = c.var.config.dashboardTokens;
    const scope = await scopeOf(tokens, presentedToken(c.req.raw));
    if (!scope) {
      const configured = tokens.length > 0;
      return dashboardError(401, "unauthorized", configured ? "missing or wrong dashboard token" : "no dashboard token is configured on this edge (DASHBOARD_TOKEN)",
        { "www-authenticate": 'Bearer realm="edgeswarm dashboard"' });
    }
    c.set("dashboardScope", scope);
    await next();
  };
