/**
 * The dashboard reads either store: the SiteStats objects (default) or Workers Analytics Engine
 * (`?source=analytics`, functions/dashboard-analytics.ts). Round trip: what an aggregator writes to
 * its dataset (`writeDataPoint`, recorded with the aggregator's clock as the timestamp), queried with
 * the reader's own SQL — run by SQLite after a thin translation of the few ClickHouse functions it
 * uses — gives the same totals, last-24-h totals and minute series as the object itself. Then the
 * route: the SQL API is called with the account's URL and token, only for the sites the token may see,
 * and its failures are typed errors.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import type { SiteStats } from "../../durable/site-stats";
import { type DashboardData, type SwarmReport, emptyEdgeBatch } from "../../durable/site-stats-model";
import { type AnalyticsReadConfig, analyticsReadConfig, readAnalytics } from "../../functions/dashboard-analytics";
import { randomRoot } from "../durable/helpers";

afterEach(() => vi.restoreAllMocks());

const T0 = Date.UTC(2030, 0, 1, 10, 0, 0);
const MIN = 60_000, HOUR = 3_600_000;
const DATASET = "edgeswarm_site_stats";
const CFG: AnalyticsReadConfig = { url: "https://sql.test/", apiToken: "t", dataset: DATASET };

/** The reader's SQL in SQLite's dialect: the ClickHouse functions it uses, on a table whose `timestamp` is Unix seconds. */
function toSqlite(q: string): string {
  return q
    .replace(/intDiv\(toUnixTimestamp\(timestamp\), (\d+)\)/g, "(timestamp / $1)")
    .replace(/toUnixTimestamp\(timestamp\)/g, "timestamp")
    .replace(/toDateTime\((\d+)\)/g, "$1")
    .replace(/\bif\(/g, "iif(")
    .replace(/\s+FORMAT JSON$/, "");
}

describe("Analytics Engine round trip", () => {
  it("the dataset the aggregator writes reads back as the object's own totals, last 24 h and minute series", async () => {
    const stub = env.SITE_STATS.get(env.SITE_STATS.idFromName(`test:${crypto.randomUUID()}`));
    await runInDurableObject(stub, async (site: SiteStats, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE ${DATASET} (timestamp INTEGER, index1 TEXT, blob1 TEXT, blob2 TEXT, blob3 TEXT,
        ${[1, 2, 3, 4, 5, 6].map((i) => `double${i} REAL NOT NULL DEFAULT 0`).join(", ")}, _sample_interval INTEGER NOT NULL DEFAULT 1)`);
      let t = T0 - 30 * HOUR;
      site.now = () => t;
      const self = site as unknown as { env: Env };
      self.env = {
        ...self.env,
        DASHBOARD_ANALYTICS: {
          writeDataPoint: (p?: AnalyticsEngineDataPoint) => {
            const d = [...(p!.doubles ?? []), 0, 0, 0, 0, 0, 0].slice(0, 6);
            sql.exec(`INSERT INTO ${DATASET} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`, Math.floor(t / 1000), p!.indexes![0] as string, ...(p!.blobs as string[]), ...d);
          },
        },
      };
      const sqlFetch = (async (_url: RequestInfo | URL, init?: RequestInit) =>
        Response.json({ meta: [], data: sql.exec(toSqlite(String(init!.body))).toArray(), rows: 0 })) as typeof fetch;

      const root = randomRoot();
      const report = (fromPeers: number, fromEdge: number, peersOnline: number, hashFailures: number): SwarmReport =>
        ({ root, shard: "EU", bytes: { fromPeers, fromEdge, uploaded: fromPeers }, health: { hashFailures, bannedPeers: hashFailures, edgeLaneBytes: 0, deadlineFallbackBytes: fromEdge >> 2 }, peersOnline });
      // 30 h ago and over the last 2 h: manifests, edge traffic, coordinator reports (one a lie), gauges going up and down.
      await site.ingestEdge("/s/", { ...emptyEdgeBatch(), misses: 1, originBytes: 5_000_000, fetches: { [root]: { path: "/s/v.mp4", size: 5_000_000, count: 4 } } });
      await site.ingestSwarm("/s/", report(1_000_000, 500_000, 2, 1));
      for (let m = 0; m < 120; m += 3) {
        t = T0 - 2 * HOUR + m * MIN + 7_000;
        await site.ingestEdge("/s/", { ...emptyEdgeBatch(), hits: 1 + (m % 2), other: 1, edgeBytes: 10_000 * m, paths: { "/s/v.mp4": 10_000 * m }, fetches: m % 30 === 0 ? { [root]: { path: "/s/v.mp4", size: 5_000_000, count: 1 } } : {} });
        t += 20_000;
        await site.ingestSwarm("/s/", report(1_000_000 + m * 100_000, 500_000 + m * 1000, (m % 5) + 1, 1 + Math.floor(m / 40)));
      }
      t += 10_000;
      await site.ingestSwarm("/s/", report(9e15, 700_000, 3, 4)); // a liar: held back above the bound
      const now = t;
      const since = now - HOUR;

      const snap = await site.snapshot("/s/", since);
      const read = await readAnalytics(CFG, "/s/", since, now, snap.totals.rejectedBytes, sqlFetch);
      expect(snap.totals.rejectedBytes).toBeGreaterThan(0);
      expect(read.totals).toEqual(snap.totals);
      expect(read.last24h).toEqual(snap.last24h);
      expect(read.last24h.peerBytes).toBeLessThan(read.totals.peerBytes); // the 30-h-old report is outside
      expect(read.series).toEqual(snap.series);
      expect(read.series.length).toBeGreaterThan(15);
      // A window beyond 24 h reads hour points: the same sums per hour.
      const long = await readAnalytics(CFG, "/s/", now - 48 * HOUR, now, 0, sqlFetch);
      expect(long.series.every((p) => p.step === HOUR && p.t % HOUR === 0)).toBe(true);
      expect(long.series.reduce((n, p) => n + p.edgeBytes, 0)).toBe(snap.totals.edgeBytes);
      expect(long.series.reduce((n, p) => n + p.peerBytes, 0)).toBe(snap.totals.peerBytes);
    });
  });
});

describe("GET /dashboard/data?source=analytics", () => {
  const AE = { DASHBOARD_ANALYTICS_ACCOUNT_ID: "0123456789abcdef0123456789abcdef", DASHBOARD_ANALYTICS_API_TOKEN: "ae-read-token", DASHBOARD_ANALYTICS_DATASET: DATASET };

  async function data(query: string, token: string, extra: Record<string, string>): Promise<{ status: number; body: unknown }> {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`https://edge.test/dashboard/data${query}`, { headers: { authorization: `Bearer ${token}` } }), { ...env, ...extra } as Env, ctx);
    const body: unknown = await res.json();
    await waitOnExecutionContext(ctx);
    return { status: res.status, body };
  }

  it("queries the account's SQL API with its token, only for the sites the token may see; series and totals come from there", async () => {
    const calls: { url: string; auth: string | null; sql: string }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input as RequestInfo, init);
      const sql = await req.text();
      calls.push({ url: req.url, auth: req.headers.get("authorization"), sql });
      const t = Math.floor(Date.now() / 60_000) * 60;
      const rows = sql.includes("GROUP BY t, kind")
        ? [{ t: String(t), kind: "edge", d1: 3000, d2: 1000, d3: 2, d4: 1, d5: 0, d6: 1 }, { t: String(t), kind: "peers", d1: 7000, d2: 7000, d3: 0, d4: 0, d5: 0, d6: 0 }, { t: String(t), kind: "gauges", m1: 4, m2: 1 }]
        : [{ kind: "edge", recent: 1, d1: 3000, d2: 1000, d3: 2, d4: 1, d5: 0, d6: 1 }, { kind: "peers", recent: "1", d1: 7000, d2: 7000 }, { kind: "health", recent: 0, d1: 2, d2: 1, d3: 0, d4: 0 }];
      return Response.json({ meta: [], data: rows, rows: rows.length });
    });
    const scoped = await data("?source=analytics&window=90d", "test-token-for-other-route-only", AE);
    expect(scoped.status).toBe(200);
    const d = scoped.body as DashboardData;
    expect(d).toMatchObject({ source: "analytics", analytics: true });
    expect(d.sites.map((s) => s.site)).toEqual(["/other/"]);
    expect(d.sites[0]!.totals).toMatchObject({ peerBytes: 7000, edgeBytes: 3000, originBytes: 1000, hits: 2, misses: 1, fetches: 1, offload: 0.7, hashFailures: 2, bannedPeers: 1 });
    expect(d.sites[0]!.last24h).toMatchObject({ peerBytes: 7000, hashFailures: 0 });
    expect(d.sites[0]!.series).toEqual([expect.objectContaining({ step: HOUR, peerBytes: 7000, edgeBytes: 3000, peersOnline: 4, swarms: 1 })]);
    expect(calls).toHaveLength(2);
    for (const c of calls) {
      expect(c.url).toBe(`https://api.cloudflare.com/client/v4/accounts/${AE.DASHBOARD_ANALYTICS_ACCOUNT_ID}/analytics_engine/sql`);
      expect(c.auth).toBe(`Bearer ${AE.DASHBOARD_ANALYTICS_API_TOKEN}`);
      expect(c.sql).toContain(`FROM ${DATASET} WHERE index1 = '/other/'`);
      expect(c.sql).not.toContain("/assets/");
    }
    // The default source is the objects, and says the reader exists.
    const sqlite = await data("", env.DASHBOARD_TOKEN!, AE);
    expect(sqlite.body).toMatchObject({ source: "sqlite", analytics: true });
    expect(calls).toHaveLength(2);
  });

  it("typed errors: not configured 400, unknown source 400, SQL API down 502, half a configuration 500 bad-config", async () => {
    const token = env.DASHBOARD_TOKEN!;
    expect(await data("?source=analytics", token, {})).toMatchObject({ status: 400, body: { error: { code: "no-analytics" } } });
    expect(await data("?source=kv", token, AE)).toMatchObject({ status: 400, body: { error: { code: "bad-source" } } });
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("upstream down", { status: 503 }));
    expect(await data("?source=analytics", token, AE)).toMatchObject({ status: 502, body: { error: { code: "analytics-unavailable" } } });
    expect(() => analyticsReadConfig({ DASHBOARD_ANALYTICS_API_TOKEN: "x" })).toThrow(/go together/);
    expect(() => analyticsReadConfig({ ...AE, DASHBOARD_ANALYTICS_DATASET: "x; DROP" })).toThrow(/dataset name/);
    expect(analyticsReadConfig({})).toBeNull();
  });
});
