/**
 * `/dashboard`, `/dashboard/data`, `/dashboard/metrics` through the Worker: 401 without or with a
 * wrong token, a route-scoped token never sees another route, and the numbers of a real flow — a
 * manifest and content through the edge (stubbed origin), a real coordinator socket reporting bytes
 * — arrive bounded in the JSON and the Prometheus text.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { edgeswarm } from "../../functions/worker";
import type { DashboardData } from "../../durable/site-stats-model";
import { encodeMessage } from "../../protocol/swarm-protocol";
import { join, swarmStub } from "../durable/helpers";
import { ORIGIN, asset, bytes, call, stubOrigin, uniquePath, callManifest } from "./origin-stub";

const TOKEN = env.DASHBOARD_TOKEN!; // vitest.workers.config.ts
const OTHER_ONLY = "test-token-for-other-route-only"; // DASHBOARD_TOKENS: {"/other/": …}

afterEach(() => vi.restoreAllMocks());

async function data(query = "", token = TOKEN): Promise<DashboardData> {
  const { res, body } = await call(`/dashboard/data${query}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status, new TextDecoder().decode(body)).toBe(200);
  return JSON.parse(new TextDecoder().decode(body)) as DashboardData;
}

describe("access", () => {
  for (const path of ["/dashboard", "/dashboard/data", "/dashboard/metrics"]) {
    it(`${path}: 401 without a token and with a wrong one; 200 with the right one`, async () => {
      const none = await call(path);
      expect(none.res.status).toBe(401);
      expect(none.res.headers.get("www-authenticate")).toMatch(/^Bearer /);
      expect(JSON.parse(new TextDecoder().decode(none.body))).toEqual({ error: { code: "unauthorized", message: "missing or wrong dashboard token" } });
      // Same length, last character differs; then a prefix; then an over-long one.
      for (const wrong of [TOKEN.slice(0, -1) + (TOKEN.endsWith("x") ? "y" : "x"), TOKEN.slice(0, 8), TOKEN + "0", "x".repeat(600)]) {
        expect((await call(path, { headers: { authorization: `Bearer ${wrong}` } })).res.status).toBe(401);
        expect((await call(`${path}?token=${encodeURIComponent(wrong)}`)).res.status).toBe(401);
      }
      expect((await call(path, { headers: { authorization: `Bearer ${TOKEN}` } })).res.status).toBe(200);
      expect((await call(`${path}?token=${TOKEN}`)).res.status).toBe(200);
    });
  }

  it("the page names its script and stylesheet, which are public (code, no data); it never leaks its URL", async () => {
    const page = await call(`/dashboard?token=${TOKEN}`);
    const html = new TextDecoder().decode(page.body);
    expect(page.res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(html).toContain('src="/dashboard/app.js"');
    expect(html).not.toContain("%BASE%");
    expect(html).not.toContain(TOKEN);
    const js = await call("/dashboard/app.js");
    expect(js.res.status).toBe(200);
    expect(js.res.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(new TextDecoder().decode(js.body)).toContain("u-legend"); // uPlot is bundled in
    expect((await call("/dashboard/app.css")).res.headers.get("content-type")).toMatch(/^text\/css/);
  });

  it("a token scoped to /other/ sees only /other/: not /assets/, not a sum that includes it", async () => {
    stubOrigin(() => asset(bytes(4096)));
    await call(`/c/assets/${uniquePath()}`); // some /assets/ traffic exists
    const all = await data();
    expect(all.sites.map((s) => s.site).sort()).toEqual(["/assets/", "/other/"]);
    const scoped = await data("", OTHER_ONLY);
    expect(scoped.sites.map((s) => s.site)).toEqual(["/other/"]);
    expect(scoped.overall.totals).toEqual(scoped.sites[0]!.totals);
    const forbidden = await call("/dashboard/data?site=/assets/", { headers: { authorization: `Bearer ${OTHER_ONLY}` } });
    expect(forbidden.res.status).toBe(403);
    expect(JSON.parse(new TextDecoder().decode(forbidden.body)).error.code).toBe("forbidden-site");
    const metrics = new TextDecoder().decode((await call("/dashboard/metrics", { headers: { authorization: `Bearer ${OTHER_ONLY}` } })).body);
    expect(metrics).toContain('site="/other/"');
    expect(metrics).not.toContain('site="/assets/"');
    expect((await call("/dashboard/data?site=/nope/", { headers: { authorization: `Bearer ${TOKEN}` } })).res.status).toBe(404);
    expect((await call("/dashboard/data?window=2y", { headers: { authorization: `Bearer ${TOKEN}` } })).res.status).toBe(400);
  });
});

describe("numbers of a real flow", () => {
  it("edge hits/misses and bytes, origin bytes, fetches, and a coordinator's peer bytes (bounded by size × fetches)", async () => {
    const size = 300_000;
    const body = bytes(size, 7);
    const origin = stubOrigin(() => asset(body));
    const name = uniquePath();
    const path = `/assets/${name}`;
    const before = (await data("?site=/assets/")).sites[0]!.totals;

    const m = await callManifest(`/m${path}`);
    expect(m.res.status).toBe(200);
    const root = (JSON.parse(new TextDecoder().decode(m.body)) as { manifest: { root: string } }).manifest.root;
    expect((await call(`/c${path}`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect((await call(`/c${path}`, { headers: { range: "bytes=0-999" } })).res.status).toBe(206);
    expect(origin.hits(`${ORIGIN}${name}`)).toBe(1);

    // A real swarm member reports bytes; one claim is a lie far above the item's size.
    // Their join tokens carry the item (as /m/ mints them): the coordinator clamps each counter to 2 × size.
    const grant = { chunks: 2, size };
    const peer = await join(root, { grant });
    peer.send(encodeMessage({ type: "stats", fromPeers: 250_000, fromEdge: 50_000, uploaded: 10 }));
    const liar = await join(root, { grant });
    liar.send(encodeMessage({ type: "stats", fromPeers: 9_000_000_000, fromEdge: 0, uploaded: 0 }));
    // Both frames must have reached the coordinator before its alarm reports (≤ 1 report per 10 s):
    // a socket send is not delivery, and an alarm run between the two reported without the liar.
    await vi.waitFor(async () => expect((await swarmStub(root).stats()).bytes.fromPeers).toBeGreaterThan(250_000), { timeout: 5000 });
    await vi.waitFor(async () => expect(await runDurableObjectAlarm(swarmStub(root))).toBe(true), { timeout: 5000 });

    const d = await data("?site=/assets/");
    const t = d.sites[0]!.totals;
    expect(t.edgeBytes - before.edgeBytes).toBe(size + 1000);
    expect(t.originBytes - before.originBytes).toBe(size); // the /m/ miss filled it once
    expect(t.hits - before.hits).toBe(2);
    expect(t.fetches - before.fetches).toBe(1);
    const item = d.sites[0]!.topByBytes.find((i) => i.path === path);
    // One manifest issued: the item's peer bytes are bounded by its size minus the claimed edge bytes.
    expect(item).toMatchObject({ path, size, fetches: 1, edgeBytes: size + 1000, peerBytes: size - 50_000, peersOnline: 2 });
    expect(t.peerBytes - before.peerBytes).toBe(size - 50_000);
    // The liar's 9e9 reaches the site report clamped to 2 × size by the coordinator; the rest is rejected here.
    expect(t.rejectedBytes).toBeGreaterThanOrEqual(2 * size + 250_000 - (size - 50_000));
    expect(d.overall.peersOnline).toBeGreaterThanOrEqual(2);

    const text = new TextDecoder().decode((await call("/dashboard/metrics?site=/assets/", { headers: { authorization: `Bearer ${TOKEN}` } })).body);
    const sample = (name: string) => Number(new RegExp(`^${name}\\{site="/assets/"\\} (\\S+)$`, "m").exec(text)?.[1]);
    expect(sample("edgeswarm_peer_bytes_total")).toBe(t.peerBytes);
    expect(sample("edgeswarm_edge_bytes_total")).toBe(t.edgeBytes);
    expect(text).toMatch(/^# TYPE edgeswarm_offload_ratio gauge$/m);
    peer.ws.close();
    liar.ws.close();
  });
});

describe("swarm health (hash failures, bans, edge-lane and deadline bytes)", () => {
  it("arrive from real coordinator sockets summed across peers, bounded for a liar, in /dashboard/data and /dashboard/metrics", async () => {
    const size = 200_000;
    stubOrigin(() => asset(bytes(size, 3)));
    const path = `/assets/${uniquePath()}`;
    const before = await data("?site=/assets/");
    const m = await callManifest(`/m${path}`);
    expect(m.res.status).toBe(200);
    const root = (JSON.parse(new TextDecoder().decode(m.body)) as { manifest: { root: string } }).manifest.root;

    // Join tokens carry the item (2 chunks): the coordinator bounds a peer's hash failures by
    // chunks × maxDownloadCopies (2 × 2 = 4), its bans by its hash failures, its lane and deadline
    // bytes by its own (clamped) edge bytes.
    const grant = { chunks: 2, size };
    const a = await join(root, { grant });
    a.send(encodeMessage({ type: "stats", fromPeers: 100_000, fromEdge: 100_000, uploaded: 0, hashFailures: 3, bannedPeers: 1, edgeLaneBytes: 60_000, deadlineFallbackBytes: 40_000 }));
    const b = await join(root, { grant });
    b.send(encodeMessage({ type: "stats", fromPeers: 0, fromEdge: 20_000, uploaded: 0, hashFailures: 1, bannedPeers: 1, edgeLaneBytes: 20_000, deadlineFallbackBytes: 0 }));
    const old = await join(root, { grant }); // a client that predates the health counters: still valid, counts 0
    old.send(encodeMessage({ type: "stats", fromPeers: 0, fromEdge: 1000, uploaded: 0 }));
    const liar = await join(root, { grant });
    liar.send(encodeMessage({
      type: "stats", fromPeers: 0, fromEdge: 0, uploaded: 0, hashFailures: Number.MAX_SAFE_INTEGER, bannedPeers: Number.MAX_SAFE_INTEGER,
      edgeLaneBytes: Number.MAX_SAFE_INTEGER, deadlineFallbackBytes: Number.MAX_SAFE_INTEGER,
    }));
    // A malformed counter is refused at the boundary with a typed error, like a bad byte counter.
    const bad = await join(root, { grant });
    bad.send({ type: "stats", fromPeers: 0, fromEdge: 0, uploaded: 0, hashFailures: -1 });
    expect(await bad.error("bad-message")).toMatchObject({ ref: "stats", message: expect.stringContaining("hashFailures") });
    await vi.waitFor(async () => expect(await runDurableObjectAlarm(swarmStub(root))).toBe(true), { timeout: 5000 });

    const d = await data("?site=/assets/");
    const t = d.sites[0]!.totals, t0 = before.sites[0]!.totals;
    expect(t.hashFailures - t0.hashFailures).toBe(3 + 1 + 4);
    expect(t.bannedPeers - t0.bannedPeers).toBe(1 + 1 + 4);
    expect(t.edgeLaneBytes - t0.edgeLaneBytes).toBe(60_000 + 20_000); // the liar claimed no edge bytes: 0 lane bytes
    expect(t.deadlineFallbackBytes - t0.deadlineFallbackBytes).toBe(40_000);
    // The growth lands in the current minute of the series, and the overall document sums it.
    const sumSeries = (dd: DashboardData, k: "hashFailures" | "edgeLaneBytes") => dd.overall.series.reduce((n, p) => n + p[k], 0);
    expect(sumSeries(d, "hashFailures") - sumSeries(before, "hashFailures")).toBe(8);
    expect(sumSeries(d, "edgeLaneBytes") - sumSeries(before, "edgeLaneBytes")).toBe(80_000);
    const all = await data();
    expect(all.overall.totals.hashFailures).toBe(all.sites.reduce((n, s) => n + s.totals.hashFailures, 0));

    const text = new TextDecoder().decode((await call("/dashboard/metrics?site=/assets/", { headers: { authorization: `Bearer ${TOKEN}` } })).body);
    const sample = (name: string) => Number(new RegExp(`^${name}\\{site="/assets/"\\} (\\S+)$`, "m").exec(text)?.[1]);
    expect(sample("edgeswarm_hash_failures_total")).toBe(t.hashFailures);
    expect(sample("edgeswarm_banned_peers_total")).toBe(t.bannedPeers);
    expect(sample("edgeswarm_edge_lane_bytes_total")).toBe(t.edgeLaneBytes);
    expect(sample("edgeswarm_deadline_fallback_bytes_total")).toBe(t.deadlineFallbackBytes);
    expect(text).toMatch(/^# TYPE edgeswarm_hash_failures_total counter$/m);
    for (const p of [a, b, old, liar, bad]) p.ws.close();
  });
});

describe("the edge mounted under a prefix (edgeswarm() as a library)", () => {
  it("counts /cdn/c/ traffic under the library's own routes and serves the dashboard at /cdn/dashboard", async () => {
    stubOrigin(() => asset(bytes(5000, 3)));
    const host = new Hono<{ Bindings: Env }>();
    host.route("/cdn", edgeswarm({ settings: (e) => ({ ROUTES: { "/lib/": "https://lib-origin.test/x/" }, TOKEN_SECRET: String(e.TOKEN_SECRET), DASHBOARD_TOKEN: TOKEN }) }));
    const send = async (path: string, init?: RequestInit) => {
      const ctx = createExecutionContext();
      const res = await host.fetch(new Request(`https://www.example.test${path}`, init), env, ctx);
      const text = await res.text();
      await waitOnExecutionContext(ctx);
      return { res, text };
    };
    const p = `/lib/${uniquePath()}`;
    expect((await send(`/cdn/c${p}`)).res.status).toBe(200);
    expect((await send(`/cdn/c${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect((await send("/cdn/dashboard/data")).res.status).toBe(401);
    const d = JSON.parse((await send("/cdn/dashboard/data", { headers: { authorization: `Bearer ${TOKEN}` } })).text) as DashboardData;
    expect(d.sites.map((s) => s.site)).toEqual(["/lib/"]);
    expect(d.sites[0]!.topByBytes.find((i) => i.path === p)?.edgeBytes).toBe(10_000);
    const page = await send(`/cdn/dashboard?token=${TOKEN}`);
    expect(page.text).toContain('src="/cdn/dashboard/app.js"');
    expect(page.text).toContain('content="/cdn/dashboard"');
  });
});

describe("origin bytes of coalesced fills", () => {
  /** The fault site's totals as /dashboard/data reports them. */
  const totals = async () => {
    const { callFault } = await import("./fault-client");
    const r = await callFault("/dashboard/data?site=/fault/", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.res.status).toBe(200);
    return (JSON.parse(new TextDecoder().decode(r.bytes)) as DashboardData).sites[0]?.totals ?? { originBytes: 0, edgeBytes: 0 };
  };
  it("5 concurrent misses joined to one fill count the origin bytes once, not 5 times", { timeout: 60_000 }, async () => {
    const { callFault, faultHits } = await import("./fault-client");
    const size = 2 * 1024 * 1024;
    const path = `/slow/${size}/${crypto.randomUUID()}.bin`;
    const before = await totals();
    const results = await Promise.all(Array.from({ length: 5 }, () => callFault(`/c/fault${path}`, undefined, { ORIGIN_TIMEOUT_MS: "15000" })));
    for (const r of results) expect(r.bytes.byteLength).toBe(size);
    expect(await faultHits(path)).toBe(1);
    const after = await totals();
    expect(after.edgeBytes - before.edgeBytes).toBe(5 * size);
    expect(after.originBytes - before.originBytes).toBe(size);
  });
  it("3 concurrent cold /m/?inline=1 answers joined to one fill: the edge sent 3 items, the origin one", { timeout: 60_000 }, async () => {
    const { callFault, faultHits } = await import("./fault-client");
    const size = 2 * 1024 * 1024;
    const path = `/slow/${size}/${crypto.randomUUID()}.bin`;
    const before = await totals();
    const results = await Promise.all([1, 2, 3].map((n) => callFault(`/m/fault${path}?peer=inline-${n}&inline=1`, undefined, { ORIGIN_TIMEOUT_MS: "15000" })));
    for (const r of results) expect(r.bytes.byteLength).toBe(size);
    expect(await faultHits(path)).toBe(1);
    const after = await totals();
    expect(after.edgeBytes - before.edgeBytes).toBe(3 * size);
    expect(after.originBytes - before.originBytes).toBe(size);
  });
});
