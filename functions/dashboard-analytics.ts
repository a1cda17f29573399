/**
 * The dashboard's second reader: the site series and totals from Workers Analytics Engine (what the
 * aggregators wrote there, `durable/site-stats-analytics.ts`) through its SQL API — for production
 * sites whose operators want the dataset's 3-month retention, or to check one store against the
 * other. `GET /dashboard/data?source=analytics` uses it; the default reads the SiteStats objects.
 *
 * The SQL API is an HTTP API of the account (`POST /client/v4/accounts/<id>/analytics_engine/sql`,
 * `Authorization: Bearer <API token with Account Analytics: Read>`), not a binding: a Worker needs
 * the account id and a token (developers.cloudflare.com/analytics/analytics-engine/worker-querying).
 * Settings (Worker env; the token is a secret): `DASHBOARD_ANALYTICS_ACCOUNT_ID`,
 * `DASHBOARD_ANALYTICS_API_TOKEN`, `DASHBOARD_ANALYTICS_DATASET` (the dataset name wrangler.toml
 * binds as `DASHBOARD_ANALYTICS`), optional `DASHBOARD_ANALYTICS_SQL_URL` (another endpoint).
 *
 * Counters are summed weighted by `_sample_interval` (Analytics Engine samples busy indexes); gauges
 * take the interval's max. Two queries per site: the series, and the totals split at 24 h ago.
 */
import { ANALYTICS_KINDS, type AnalyticsKind } from "../durable/site-stats-analytics";
import { type SeriesPoint, type SiteTotals, siteTotals } from "../durable/site-stats-model";
import { HttpError } from "./http-error";

/** Where and how the reader queries. */
export interface AnalyticsReadConfig {
  /** The SQL API's URL. */
  url: string;
  apiToken: string;
  /** Dataset (table) name: letters, digits, underscores. */
  dataset: string;
}

/** The reader's settings' names (Worker env). */
export const ANALYTICS_READ_SETTINGS = ["DASHBOARD_ANALYTICS_ACCOUNT_ID", "DASHBOARD_ANALYTICS_API_TOKEN", "DASHBOARD_ANALYTICS_DATASET", "DASHBOARD_ANALYTICS_SQL_URL"] as const;

type ReadEnv = Partial<Record<(typeof ANALYTICS_READ_SETTINGS)[number], string>>;

/**
 * The reader's configuration, or null when none of its settings is set. Some but not all, a dataset
 * name that is not an identifier, an account id that is not 32 hex digits: `bad-config`.
 * @example
 * analyticsReadConfig({ DASHBOARD_ANALYTICS_ACCOUNT_ID: "0123…", DASHBOARD_ANALYTICS_API_TOKEN: "…", DASHBOARD_ANALYTICS_DATASET: "edgeswarm_site_stats" });
 */
export function analyticsReadConfig(env: ReadEnv): AnalyticsReadConfig | null {
  const account = env.DASHBOARD_ANALYTICS_ACCOUNT_ID, token = env.DASHBOARD_ANALYTICS_API_TOKEN, dataset = env.DASHBOARD_ANALYTICS_DATASET;
  if (!account && !token && !dataset) return null;
  const bad = (m: string) => new HttpError(500, "bad-config", m);
  if (!account || !token || !dataset) throw bad("DASHBOARD_ANALYTICS_ACCOUNT_ID, DASHBOARD_ANALYTICS_API_TOKEN and DASHBOARD_ANALYTICS_DATASET go together");
  if (!/^[0-9a-f]{32}$/i.test(account)) throw bad("DASHBOARD_ANALYTICS_ACCOUNT_ID must be a 32-hex-digit account id");
  // Interpolated into SQL as the table name: an identifier, nothing else.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(dataset)) throw bad("DASHBOARD_ANALYTICS_DATASET must be a dataset name (letters, digits, _)");
  const url = env.DASHBOARD_ANALYTICS_SQL_URL || `https://api.cloudflare.com/client/v4/accounts/${account}/analytics_engine/sql`;
  if (!/^https?:\/\//.test(url)) throw bad("DASHBOARD_ANALYTICS_SQL_URL must be an http(s) URL");
  return { url, apiToken: token, dataset };
}

/** A string literal of the SQL API's dialect (ClickHouse: backslash and quote escaped). */
const literal = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const DOUBLES = 6; // the widest kind (edge)
const sums = Array.from({ length: DOUBLES }, (_, i) => `sum(_sample_interval * double${i + 1}) AS d${i + 1}`).join(", ");

/**
 * The series query: per interval of `stepMs` starting at or after `since` (as the objects' series),
 * per kind, the weighted sums and the gauges' max.
 * @example
 * seriesQuery("edgeswarm_site_stats", "/demo/", Date.now() - 3_600_000, 60_000);
 */
export function seriesQuery(dataset: string, site: string, since: number, stepMs: number): string {
  const step = Math.round(stepMs / 1000);
  return `SELECT intDiv(toUnixTimestamp(timestamp), ${step}) * ${step} AS t, blob2 AS kind, ${sums}, max(double1) AS m1, max(double2) AS m2
FROM ${dataset} WHERE index1 = ${literal(site)} AND timestamp >= toDateTime(${(Math.ceil(since / stepMs) * stepMs) / 1000})
GROUP BY t, kind ORDER BY t FORMAT JSON`;
}

/** The totals query: weighted sums per kind, split into before / from `recentSince` (`recent` 0 / 1). */
export function totalsQuery(dataset: string, site: string, recentSince: number): string {
  return `SELECT blob2 AS kind, if(toUnixTimestamp(timestamp) >= ${Math.floor(recentSince / 1000)}, 1, 0) AS recent, ${sums}
FROM ${dataset} WHERE index1 = ${literal(site)}
GROUP BY kind, recent FORMAT JSON`;
}

/** The SQL API failed or answered something else than rows (the route answers 502 `analytics-unavailable`). */
export class AnalyticsUnavailable extends Error {
  override readonly name = "AnalyticsUnavailable";
}

type Row = Record<string, unknown>;
/** A number of a JSON row (the SQL API sends 64-bit integers as strings). */
const num = (v: unknown): number => {
  const n = typeof v === "string" ? Number(v) : typeof v === "number" ? v : 0;
  return Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
};
const fields = (kind: AnalyticsKind, r: Row, prefix = "d") => Object.fromEntries(ANALYTICS_KINDS[kind].map((f, i) => [f, num(r[`${prefix}${i + 1}`])]));
const isKind = (k: unknown): k is AnalyticsKind => typeof k === "string" && Object.hasOwn(ANALYTICS_KINDS, k);

async function query(cfg: AnalyticsReadConfig, sql: string, fetchFn: typeof fetch): Promise<Row[]> {
  let res: Response;
  try {
    res = await fetchFn(cfg.url, { method: "POST", headers: { authorization: `Bearer ${cfg.apiToken}` }, body: sql, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new AnalyticsUnavailable(`Analytics Engine SQL API: ${String(err).slice(0, 200)}`);
  }
  const text = await res.text();
  if (!res.ok) throw new AnalyticsUnavailable(`Analytics Engine SQL API answered ${res.status}: ${text.slice(0, 200)}`);
  const body = (() => {
    try {
      return JSON.parse(text) as { data?: unknown };
    } catch {
      return null;
    }
  })();
  if (!body || !Array.isArray(body.data)) throw new AnalyticsUnavailable("Analytics Engine SQL API: not a FORMAT JSON answer");
  return body.data as Row[];
}

const zeroPoint = (t: number, step: number): SeriesPoint => ({
  t, step, peerBytes: 0, edgeBytes: 0, originBytes: 0, uploaded: 0, hits: 0, misses: 0, fetches: 0,
  hashFailures: 0, bannedPeers: 0, edgeLaneBytes: 0, deadlineFallbackBytes: 0, peersOnline: 0, swarms: 0,
});

/** Adds a counter of the layout to a point (`other`, the edge's non-hit non-miss answers, has no field there). */
function add(p: SeriesPoint, field: string, v: number): void {
  const q = p as unknown as Record<string, number>;
  if (field !== "other" && field in q) q[field] = q[field]! + v;
}

/** Series points from the series query's rows (one point per interval with any row). */
export function seriesOf(rows: Row[], stepMs: number): SeriesPoint[] {
  const points = new Map<number, SeriesPoint>();
  for (const r of rows) {
    if (!isKind(r.kind)) continue;
    const t = num(r.t) * 1000;
    const p = points.get(t) ?? zeroPoint(t, stepMs);
    points.set(t, p);
    if (r.kind === "gauges") {
      const g = fields("gauges", r, "m");
      p.peersOnline = Math.max(p.peersOnline, g.peersOnline!);
      p.swarms = Math.max(p.swarms, g.swarms!);
    } else {
      for (const [k, v] of Object.entries(fields(r.kind, r))) add(p, k, v);
    }
  }
  return [...points.values()].sort((a, b) => a.t - b.t);
}

/** Totals (over everything, and over the recent part) from the totals query's rows; `rejectedBytes` is the caller's (live state). */
export function totalsOf(rows: Row[], rejectedBytes: number): { totals: SiteTotals; recent: SiteTotals } {
  const all = zeroPoint(0, 0), recent = zeroPoint(0, 0);
  for (const r of rows) {
    if (!isKind(r.kind) || r.kind === "gauges") continue;
    for (const [k, v] of Object.entries(fields(r.kind, r))) {
      add(all, k, v);
      if (num(r.recent) === 1) add(recent, k, v);
    }
  }
  const totals = (p: SeriesPoint): SiteTotals => siteTotals({
    peerBytes: p.peerBytes, edgeBytes: p.edgeBytes, originBytes: p.originBytes, uploaded: p.uploaded,
    hits: p.hits, misses: p.misses, fetches: p.fetches, rejectedBytes,
    hashFailures: p.hashFailures, bannedPeers: p.bannedPeers, edgeLaneBytes: p.edgeLaneBytes, deadlineFallbackBytes: p.deadlineFallbackBytes,
  });
  return { totals: totals(all), recent: totals(recent) };
}

/**
 * One site's series (from `since`, minute points up to a 24 h window, hour points beyond) and
 * totals (whole dataset, and the last 24 h) from Analytics Engine.
 * @example
 * const { series, totals, last24h } = await readAnalytics(cfg, "/demo/", Date.now() - 3_600_000, Date.now(), 0, fetch);
 */
export async function readAnalytics(
  cfg: AnalyticsReadConfig, site: string, since: number, now: number, rejectedBytes: number, fetchFn: typeof fetch,
): Promise<{ series: SeriesPoint[]; totals: SiteTotals; last24h: SiteTotals }> {
  const stepMs = now - since > 24 * 3_600_000 ? 3_600_000 : 60_000;
  const [seriesRows, totalRows] = await Promise.all([
    query(cfg, seriesQuery(cfg.dataset, site, since, stepMs), fetchFn),
    query(cfg, totalsQuery(cfg.dataset, site, now - 24 * 3_600_000), fetchFn),
  ]);
  const t = totalsOf(totalRows, rejectedBytes);
  return { series: seriesOf(seriesRows, stepMs), totals: t.totals, last24h: t.recent };
}
