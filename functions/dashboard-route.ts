/**
 * The operator's dashboard, mounted at `/dashboard`:
 * - `GET /dashboard?token=…` — the page (charts: offload over time, bytes by source, peers online;
 *   the top content table), polling `/dashboard/data` while open;
 * - `GET /dashboard/data[?window=15m|1h|6h|24h|7d|30d|90d][&site=<route>][&source=sqlite|analytics]` —
 *   the numbers as JSON (`DashboardData`, docs/dashboard.md), the series and totals from the SiteStats
 *   objects or, when its reader is configured, from Analytics Engine (`dashboard-analytics.ts`);
 * - `GET /dashboard/metrics[?site=<route>]` — the same in the Prometheus text format;
 * - `GET /dashboard/app.js`, `/dashboard/app.css` — the page's bundle (uPlot included; built by
 *   scripts/build-dashboard.mjs), public: code, no data.
 *
 * Every data-bearing path needs a dashboard token (`dashboard-auth.ts`): 401 without or with a wrong
 * one; a route-scoped token sees its route only (403 `forbidden-site` for another's `?site=`).
 */
import { type Context, Hono } from "hono";
import { siteObjectName } from "../durable/site-stats";
import type { SiteSnapshot } from "../durable/site-stats-model";
import { type DashboardScope, dashboardError, requireDashboardToken } from "./dashboard-auth";
import { AnalyticsUnavailable, analyticsReadConfig, readAnalytics } from "./dashboard-analytics";
import { DEFAULT_WINDOW, WINDOWS, dashboardData } from "./dashboard-data";
import { edgeCounters } from "./dashboard-edge-counters";
import type { EdgeVars } from "./edge-context";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "./dashboard-metrics";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./generated/dashboard-bundle";

type DashEnv = { Bindings: Env; Variables: EdgeVars & { dashboardScope: DashboardScope } };

/**
 * The `/dashboard` sub-app.
 * @example
 * app.route("/dashboard", dashboardRoutes);
 */
export const dashboardRoutes = new Hono<DashEnv>();

const NO_STORE = { "cache-control": "no-store" };

dashboardRoutes.get("/app.js", (c) => c.body(DASHBOARD_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=300" }));
dashboardRoutes.get("/app.css", (c) => c.body(DASHBOARD_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=300" }));

dashboardRoutes.use("/", requireDashboardToken());
dashboardRoutes.use("/data", requireDashboardToken());
dashboardRoutes.use("/metrics", requireDashboardToken());

/** The page with its own path filled in (`%BASE%`: `/dashboard` under the edge's mount path). */
const pageFor = (mount: string) => DASHBOARD_HTML.replaceAll("%BASE%", `${mount}/dashboard`);

dashboardRoutes.get("/", (c) =>
  c.body(pageFor(c.var.mount), 200, {
    "content-type": "text/html; charset=utf-8", ...NO_STORE,
    // The token is in this page's URL: never send it on as a Referer; nothing but our own files runs.
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
  }));

/** The sites a request reads: `?site=` (which the scope must include), else every site in scope. */
function sitesFor(configured: string[], scope: DashboardScope, wanted: string | undefined): string[] | Response {
  const visible = scope.all ? configured : configured.filter((s) => scope.sites.includes(s));
  if (wanted === undefined) return visible;
  if (!configured.includes(wanted)) return dashboardError(404, "no-site", `no configured route ${JSON.stringify(wanted.slice(0, 64))}`);
  if (!visible.includes(wanted)) return dashboardError(403, "forbidden-site", "this token does not grant that route");
  return [wanted];
}

async function snapshots(ns: Env["SITE_STATS"], sites: string[], since: number): Promise<SiteSnapshot[]> {
  // What this isolate counted but has not sent yet goes first, so the page sees its own traffic.
  await edgeCounters.flush(ns).catch((err: unknown) => console.warn("dashboard:flush", err));
  return Promise.all(sites.map((site) => ns.get(ns.idFromName(siteObjectName(site))).snapshot(site, since)));
}

/** The aggregator namespace and the sites of this request, or the error to answer. */
function target(c: Context<DashEnv>): { ns: Env["SITE_STATS"]; sites: string[] } | Response {
  const ns = c.env.SITE_STATS as Env["SITE_STATS"] | undefined;
  // A Worker that mounts the edge library without binding the aggregator has no numbers to show.
  if (!ns) return dashboardError(503, "dashboard-unavailable", "no SiteStats Durable Object bound as SITE_STATS (wrangler.toml)");
  const sites = sitesFor(c.var.config.routes.map((r) => r.prefix), c.var.dashboardScope, c.req.query("site"));
  return sites instanceof Response ? sites : { ns, sites };
}

dashboardRoutes.get("/data", async function dashboardDataRoute(c) {
  const w = c.req.query("window") ?? DEFAULT_WINDOW;
  const span = WINDOWS[w];
  if (span === undefined) return dashboardError(400, "bad-window", `window must be one of ${Object.keys(WINDOWS).join(", ")}`);
  const source = c.req.query("source") ?? "sqlite";
  if (source !== "sqlite" && source !== "analytics") return dashboardError(400, "bad-source", "source must be sqlite or analytics");
  const ae = analyticsReadConfig(c.env);
  if (source === "analytics" && !ae) return dashboardError(400, "no-analytics", "the Analytics Engine reader is not configured (DASHBOARD_ANALYTICS_ACCOUNT_ID, _API_TOKEN, _DATASET)");
  const t = target(c);
  if (t instanceof Response) return t;
  const now = Date.now();
  let snaps = await snapshots(t.ns, t.sites, now - span);
  if (source === "analytics") {
    // Series and totals from the dataset; gauges, top content and claims held back are live state, the objects'.
    try {
      snaps = await Promise.all(snaps.map(async (s) => ({ ...s, ...(await readAnalytics(ae!, s.site, now - span, now, s.totals.rejectedBytes, (i, init) => fetch(i, init))) })));
    } catch (err) {
      if (err instanceof AnalyticsUnavailable) return dashboardError(502, "analytics-unavailable", err.message);
      throw err;
    }
  }
  return c.json(dashboardData(snaps, now, { source, analytics: ae !== null }), 200, NO_STORE);
});

dashboardRoutes.get("/metrics", async function dashboardMetrics(c) {
  const t = target(c);
  if (t instanceof Response) return t;
  // The series is not needed here: ask for the shortest window.
  const snaps = await snapshots(t.ns, t.sites, Date.now());
  return c.body(prometheusText(snaps), 200, { "content-type": PROMETHEUS_CONTENT_TYPE, ...NO_STORE });
});
