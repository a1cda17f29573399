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

/** The configured tokens: `[token, scope]`, the all-sites one first. Malformed JSON is a config error. */
export function configuredTokens(env: Pick<Env, "DASHBOARD_TOKEN" | "DASHBOARD_TOKENS">): [string, DashboardScope][] {
  const out: [string, DashboardScope][] = [];
  if (env.DASHBOARD_TOKEN) out.push([env.DASHBOARD_TOKEN, { all: true }]);
  if (env.DASHBOARD_TOKENS) {
    const v: unknown = JSON.parse(env.DASHBOARD_TOKENS);
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("DASHBOARD_TOKENS must be a JSON object {route: token}");
    for (const [site, token] of Object.entries(v)) {
      if (typeof token !== "string" || token.length === 0) throw new Error(`DASHBOARD_TOKENS: token for ${site} must be a non-empty string`);
      out.push([token, { all: false, sites: [site] }]);
    }
  }
  return out;
}

/**
 * The scope of a presented token, or null (missing, wrong, or nothing configured).
 * @example
 * await scopeOf({ DASHBOARD_TOKEN: "s3cret" }, "s3cret"); // { all: true }
 */
export async function scopeOf(env: Pick<Env, "DASHBOARD_TOKEN" | "DASHBOARD_TOKENS">, presented: string | null): Promise<DashboardScope | null> {
  if (!presented || presented.length > MAX_TOKEN) return null;
  const mine = await digest(presented);
  let found: DashboardScope | null = null;
  const sites: string[] = [];
  for (const [token, scope] of configuredTokens(env)) {
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
export const requireDashboardToken = (): MiddlewareHandler<{ Bindings: Env; Variables: { dashboardScope: DashboardScope } }> =>
  async function requireDashboardToken(c, next) {
    let scope: DashboardScope | null;
    try {
      scope = await scopeOf(c.env, presentedToken(c.req.raw));
    } catch (err) {
      console.error("dashboard: bad token configuration", err);
      return dashboardError(500, "bad-config", "DASHBOARD_TOKENS is malformed");
    }
    if (!scope) {
      const configured = Boolean(c.env.DASHBOARD_TOKEN || c.env.DASHBOARD_TOKENS);
      return dashboardError(401, "unauthorized", configured ? "missing or wrong dashboard token" : "no dashboard token is configured on this edge (DASHBOARD_TOKEN)",
        { "www-authenticate": 'Bearer realm="edgeswarm dashboard"' });
    }
    c.set("dashboardScope", scope);
    await next();
  };
