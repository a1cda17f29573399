/**
 * The site aggregator (`durable/site-stats.ts`): aggregation over many coordinator reports equals the
 * sum of the bounded claims (fast-check), lying reports are capped by what the edge witnessed,
 * minute rows roll up into hour rows, retention drops old rows (fake clock), and the coordinator's
 * report hook finds its site and throttles itself.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SiteStats, siteObjectName } from "../../durable/site-stats";
import { DEFAULT_SITE_LIMITS, type EdgeBatch, type SwarmReport, emptyEdgeBatch } from "../../durable/site-stats-model";
import { REPORT_INTERVAL_MS, reportToSite } from "../../durable/site-stats-report";
import { SiteStatsStore } from "../../durable/site-stats-store";
import { randomRoot } from "./helpers";

// In the future of the real clock, so alarms the objects set never fire on their own during a test.
const T0 = Date.UTC(2030, 0, 1, 10, 0, 0);
const MIN = 60_000, HOUR = 3_600_000, DAY = 24 * HOUR;

/** A fresh aggregator object (random name: tests never share one). */
const freshStub = () => env.SITE_STATS.get(env.SITE_STATS.idFromName(`test:${crypto.randomUUID()}`));

function fetches(entries: { root: string; path: string; size: number; count: number }[]): EdgeBatch {
  const b = emptyEdgeBatch();
  for (const e of entries) b.fetches[e.root] = { path: e.path, size: e.size, count: e.count };
  return b;
}

const report = (root: string, shard: string, fromPeers: number, fromEdge = 0, uploaded = 0, peersOnline = 1): SwarmReport =>
  ({ root, shard, bytes: { fromPeers, fromEdge, uploaded }, peersOnline });

/** Runs `fn` inside a fresh object with a fake clock starting at T0. */
async function withSite<T>(fn: (site: SiteStats, clock: { t: number }) => Promise<T> | T): Promise<T> {
  return runInDurableObject(freshStub(), async (inst: SiteStats) => {
    const clock = { t: T0 };
    inst.now = () => clock.t;
    return fn(inst, clock);
  });
}

describe("aggregation", () => {
  it("site totals equal the sum over items of the bounded claims, whatever the order of many reports (fast-check)", async () => {
    const item = fc.record({ size: fc.integer({ min: 1, max: 5_000_000 }), fetches: fc.integer({ min: 0, max: 6 }) });
    // Per report: which item, which shard object, and cumulative growth of its counters (claims may be huge).
    const step = fc.record({
      item: fc.nat(), shard: fc.constantFrom("EU", "NA", "EU~1"),
      dPeers: fc.oneof(fc.nat({ max: 3_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
      dEdge: fc.nat({ max: 3_000_000 }), dUp: fc.nat({ max: 3_000_000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 4 }), fc.array(step, { minLength: 1, maxLength: 40 }), async (items, steps) => {
        await withSite(async (site, clock) => {
          site.limits.peerBytesPerSecond = Number.MAX_SAFE_INTEGER; // this property is about the size × fetches bound
          const roots = items.map(() => randomRoot());
          await site.ingestEdge("/s/", fetches(items.map((it, i) => ({ root: roots[i]!, path: `/s/${i}`, size: it.size, count: it.fetches })).filter((f) => f.count > 0)));
          const cum = new Map<string, { p: number; e: number; u: number }>();
          // Accepted totals never decrease (bytes once credited to a minute stay there): the expected
          // total of an item is the running maximum of its bounded claims after each report.
          const best = items.map(() => ({ p: 0, u: 0 }));
          for (const s of steps) {
            const i = s.item % items.length;
            const key = `${i}:${s.shard}`;
            const c = cum.get(key) ?? { p: 0, e: 0, u: 0 };
            c.p = Math.min(c.p + s.dPeers, Number.MAX_SAFE_INTEGER);
            c.e += s.dEdge;
            c.u += s.dUp;
            cum.set(key, c);
            clock.t += 1000;
            await site.ingestSwarm("/s/", report(roots[i]!, s.shard, c.p, c.e, c.u));
            // A stale duplicate of an older cumulative report changes nothing (max per field).
            await site.ingestSwarm("/s/", report(roots[i]!, s.shard, Math.floor(c.p / 2), 0, 0));
            let p = 0, e = 0, u = 0;
            for (const [k, v] of cum) if (k.startsWith(`${i}:`)) (p += Math.min(v.p, 2 ** 50)), (e += v.e), (u += v.u);
            const budget = items[i]!.size * items[i]!.fetches;
            best[i]!.p = Math.max(best[i]!.p, Math.min(p, budget - Math.min(e, budget)));
            best[i]!.u = Math.max(best[i]!.u, Math.min(u, budget));
          }
          const expectPeers = best.reduce((a, b) => a + b.p, 0), expectUp = best.reduce((a, b) => a + b.u, 0);
          const snap = await site.snapshot("/s/", 0);
          expect(snap.totals.peerBytes).toBe(expectPeers);
          expect(snap.totals.uploaded).toBe(expectUp);
          // The series carries the same bytes as the totals.
          expect(snap.series.reduce((a, p) => a + p.peerBytes, 0)).toBe(expectPeers);
          expect(snap.topByBytes.reduce((a, i) => a + i.peerBytes, 0)).toBe(expectPeers);
        });
      }),
      { numRuns: 25 },
    );
  });

  it("edge counters add up per minute; hit ratio, offload and origin bytes saved follow", async () => {
    await withSite(async (site, clock) => {
      const root = randomRoot();
      const b1: EdgeBatch = { ...fetches([{ root, path: "/s/a.bin", size: 1000, count: 3 }]), hits: 2, misses: 1, other: 0, edgeBytes: 1000, originBytes: 1000, paths: { "/s/a.bin": 1000 } };
      await site.ingestEdge("/s/", b1);
      clock.t += MIN;
      await site.ingestEdge("/s/", { ...emptyEdgeBatch(), hits: 3, edgeBytes: 500, paths: { "/s/a.bin": 500 } });
      await site.ingestSwarm("/s/", report(root, "EU", 1500, 500, 1500, 2));
      const s = await site.snapshot("/s/", 0);
      expect(s.totals).toMatchObject({ peerBytes: 1500, edgeBytes: 1500, originBytes: 1000, hits: 5, misses: 1, fetches: 3, uploaded: 1500, originBytesSaved: 2000, rejectedBytes: 0 });
      expect(s.totals.offload).toBe(0.5);
      expect(s.totals.cacheHitRatio).toBeCloseTo(5 / 6, 12);
      expect(s.series.map((p) => [p.t - T0, p.edgeBytes, p.peerBytes])).toEqual([[0, 1000, 0], [MIN, 500, 1500]]);
      expect(s.peersOnline).toBe(2);
      expect(s.swarmsActive).toBe(1);
      expect(s.topByBytes[0]).toMatchObject({ path: "/s/a.bin", size: 1000, fetches: 3, peerBytes: 1500, edgeBytes: 1500, offload: 0.5, peersOnline: 2 });
      expect(s.topByPeers.map((i) => i.path)).toEqual(["/s/a.bin"]);
      // Gauges expire: no report for longer than gaugeFreshMs.
      clock.t += site.limits.gaugeFreshMs + 1;
      expect((await site.snapshot("/s/", 0)).peersOnline).toBe(0);
    });
  });
});

describe("Analytics Engine sink", () => {
  it("with DASHBOARD_ANALYTICS bound, every edge batch and accepted increment is written; without it, nothing breaks", async () => {
    await withSite(async (site, clock) => {
      const points: AnalyticsEngineDataPoint[] = [];
      const self = site as unknown as { env: Env };
      self.env = { ...self.env, DASHBOARD_ANALYTICS: { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push(p!) } };
      const root = randomRoot();
      await site.ingestEdge("/s/", { ...fetches([{ root, path: "/s/a", size: 1000, count: 1 }]), hits: 1, edgeBytes: 700, originBytes: 1000, paths: { "/s/a": 700 } });
      clock.t += 1000;
      await site.ingestSwarm("/s/", report(root, "EU", 300, 700, 0));
      expect(points).toEqual([
        { indexes: ["/s/"], blobs: ["/s/", "edge", ""], doubles: [700, 1000, 1, 0, 0, 1] },
        { indexes: ["/s/"], blobs: ["/s/", "gauges", ""], doubles: [1, 1] },
        { indexes: ["/s/"], blobs: ["/s/", "peers", "/s/a"], doubles: [300, 0] },
      ]);
      // A throwing sink does not lose the counters.
      self.env = { ...self.env, DASHBOARD_ANALYTICS: { writeDataPoint: () => { throw new Error("sink down"); } } };
      await site.ingestEdge("/s/", { ...emptyEdgeBatch(), hits: 1, edgeBytes: 5 });
      expect((await site.snapshot("/s/", 0)).totals.edgeBytes).toBe(705);
    });
  });
});

describe("lying reports", () => {
  it("a peer claiming 2^53 bytes adds at most size × fetches, the rest is held back and shown", async () => {
    await withSite(async (site, clock) => {
      const root = randomRoot();
      await site.ingestEdge("/s/", fetches([{ root, path: "/s/v.mp4", size: 10_000_000, count: 2 }]));
      clock.t += 3600_000;
      await site.ingestSwarm("/s/", report(root, "EU", Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER));
      const s = await site.snapshot("/s/", 0);
      expect(s.totals.peerBytes).toBe(20_000_000);
      expect(s.totals.uploaded).toBe(20_000_000);
      expect(s.totals.rejectedBytes).toBe(2 ** 50 - 20_000_000); // claims are clamped to 2^50 first
      // One more fetch (one more manifest the edge issued) raises the bound by exactly one size.
      clock.t += 1000;
      await site.ingestEdge("/s/", fetches([{ root, path: "/s/v.mp4", size: 10_000_000, count: 1 }]));
      expect((await site.snapshot("/s/", 0)).totals.peerBytes).toBe(30_000_000);
    });
  });

  it("a collection swarm registered by items of different sizes is bounded by the sum of their sizes, not the first size × fetches", async () => {
    await withSite(async (site, clock) => {
      site.limits.peerBytesPerSecond = Number.MAX_SAFE_INTEGER; // this test is about the size bound
      const coll = randomRoot();
      // A stream: its 900-byte init segment is fetched first, then ten 1 MB media segments, all in one swarm.
      await site.ingestEdge("/s/", fetches([{ root: coll, path: "/s/live/*", size: 900, count: 1 }]));
      for (let n = 0; n < 10; n++) await site.ingestEdge("/s/", fetches([{ root: coll, path: "/s/live/*", size: 1_000_000, count: 1 }]));
      clock.t += 10_000;
      // Honest peers received 8 MB of it from each other, 2 MB from the edge.
      await site.ingestSwarm("/s/", report(coll, "EU", 8_000_000, 2_000_000, 8_000_000, 3));
      await site.ingestEdge("/s/", { ...emptyEdgeBatch(), edgeBytes: 2_000_000, paths: { "/s/live/0.m4s": 1_500_000, "/s/live/1.m4s": 500_000, "/s/other.bin": 7 } });
      let s = await site.snapshot("/s/", 0);
      expect(s.totals.peerBytes).toBe(8_000_000);
      expect(s.totals.rejectedBytes).toBe(0);
      // The swarm's row: no size of its own, the edge bytes of the paths under it, so a like-for-like offload.
      expect(s.topByBytes[0]).toMatchObject({ path: "/s/live/*", size: 0, fetches: 11, peerBytes: 8_000_000, edgeBytes: 2_000_000, offload: 0.8, peersOnline: 3 });
      expect(s.topByPeers.map((i) => i.path)).toEqual(["/s/live/*"]);
      // A lie on top stops at the budget: 900 + 10 × 1 MB in all, 2 MB of it claimed by the edge.
      clock.t += 10_000;
      await site.ingestSwarm("/s/", report(coll, "EU", 50_000_000, 2_000_000, 8_000_000, 3));
      s = await site.snapshot("/s/", 0);
      expect(s.totals.peerBytes).toBe(10_000_900 - 2_000_000);
      expect(s.totals.rejectedBytes).toBe(50_000_000 - (10_000_900 - 2_000_000));
    });
  });

  it("an items table stored before the budget column gets it as size × fetches (the bound it had)", async () => {
    const root = randomRoot();
    await runInDurableObject(freshStub(), (_inst: SiteStats, state) => {
      const sql = state.storage.sql;
      sql.exec(`DROP TABLE items`);
      sql.exec(`CREATE TABLE items (root TEXT PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, fetches INTEGER NOT NULL,
        acc_peers INTEGER NOT NULL DEFAULT 0, acc_uploaded INTEGER NOT NULL DEFAULT 0, claimed_peers INTEGER NOT NULL DEFAULT 0,
        accepted_at INTEGER NOT NULL, active_at INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO items (root, path, size, fetches, accepted_at, active_at) VALUES (?, '/s/old', 1000, 3, 0, 0)`, root);
      const store = new SiteStatsStore(sql, () => ({ ...DEFAULT_SITE_LIMITS, peerBytesPerSecond: Number.MAX_SAFE_INTEGER }));
      store.addSwarm(report(root, "EU", 10_000), 60_000);
      expect(store.totals(0)).toMatchObject({ peerBytes: 3000, rejectedBytes: 7000 });
    });
  });

  it("claims for a root the edge never registered count nothing; malformed numbers count 0", async () => {
    await withSite(async (site, clock) => {
      const root = randomRoot();
      await site.ingestSwarm("/s/", report(root, "EU", 5_000_000));
      await site.ingestSwarm("/s/", { root: randomRoot(), shard: "EU", bytes: { fromPeers: -5, fromEdge: Number.NaN, uploaded: Infinity }, peersOnline: -1 } as SwarmReport);
      await site.ingestSwarm("/s/", { root: "not-a-root", shard: "EU", bytes: { fromPeers: 1, fromEdge: 1, uploaded: 1 }, peersOnline: 1 });
      expect((await site.snapshot("/s/", 0)).totals.peerBytes).toBe(0);
      // Registered later: the claim (within the bound) is accepted then.
      await site.ingestEdge("/s/", fetches([{ root, path: "/s/x", size: 4_000_000, count: 1 }]));
      expect((await site.snapshot("/s/", 0)).totals.peerBytes).toBe(4_000_000);
    });
  });

  it("the accepted total grows at most peerBytesPerSecond per online peer per second", async () => {
    await withSite(async (site, clock) => {
      site.limits.peerBytesPerSecond = 1_000_000;
      const root = randomRoot();
      await site.ingestEdge("/s/", fetches([{ root, path: "/s/big", size: 1e12, count: 10 }]));
      clock.t += 10_000;
      await site.ingestSwarm("/s/", report(root, "EU", 1e13, 0, 0, 2)); // 2 peers × 1 MB/s × 10 s
      expect((await site.snapshot("/s/", 0)).totals.peerBytes).toBe(20_000_000);
      clock.t += 5_000;
      await site.ingestSwarm("/s/", report(root, "EU", 1e13, 0, 0, 2));
      expect((await site.snapshot("/s/", 0)).totals.peerBytes).toBe(30_000_000);
    });
  });
});

describe("roll-ups and retention (fake clock)", () => {
  it("minute rows older than 24 h become hour rows with the same sums and gauge maxima", async () => {
    const stub = freshStub();
    const root = randomRoot();
    await runInDurableObject(stub, async (site: SiteStats) => {
      let t = T0;
      site.now = () => t;
      await site.ingestEdge("/s/", fetches([{ root, path: "/s/a", size: 1e9, count: 100 }]));
      for (let m = 0; m < 90; m++) {
        t = T0 + m * MIN;
        await site.ingestEdge("/s/", { ...emptyEdgeBatch(), hits: 1, edgeBytes: 100, paths: { "/s/a": 100 } });
        await site.ingestSwarm("/s/", report(root, "EU", (m + 1) * 1000, 0, 0, m % 7));
      }
      t = T0 + 26 * HOUR;
    });
    const before = await runInDurableObject(stub, (site: SiteStats) => site.snapshot("/s/", 0));
    expect(before.series).toHaveLength(90);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const after = await runInDurableObject(stub, (site: SiteStats) => site.snapshot("/s/", 0));
    expect(after.series.map((p) => [p.t - T0, p.step])).toEqual([[0, HOUR], [HOUR, HOUR]]);
    expect(after.series.map((p) => p.edgeBytes)).toEqual([6000, 3000]);
    expect(after.series.map((p) => p.hits)).toEqual([60, 30]);
    expect(after.series.reduce((a, p) => a + p.peerBytes, 0)).toBe(90_000);
    expect(after.series.map((p) => p.peersOnline)).toEqual([6, 6]);
    expect(after.totals).toEqual(before.totals);
    // Another alarm does not roll anything twice.
    await runDurableObjectAlarm(stub);
    expect((await runInDurableObject(stub, (site: SiteStats) => site.snapshot("/s/", 0))).totals).toEqual(before.totals);
  });

  it("rows and items past hourKeepMs are deleted; the alarm stops once nothing is kept", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, async (site: SiteStats) => {
      site.now = () => T0;
      await site.ingestEdge("/s/", { ...fetches([{ root: randomRoot(), path: "/s/old", size: 10, count: 1 }]), hits: 1, edgeBytes: 10, paths: { "/s/old": 10 } });
    });
    // 7 days later the series is still there (hour rows).
    await runInDurableObject(stub, (site: SiteStats) => void (site.now = () => T0 + 7 * DAY));
    await runDurableObjectAlarm(stub);
    expect((await runInDurableObject(stub, (s: SiteStats) => s.snapshot("/s/", 0))).totals.edgeBytes).toBe(10);
    await runInDurableObject(stub, (site: SiteStats) => void (site.now = () => T0 + 31 * DAY));
    await runDurableObjectAlarm(stub);
    const s = await runInDurableObject(stub, (site: SiteStats) => site.snapshot("/s/", 0));
    expect(s.series).toEqual([]);
    expect(s.topByBytes).toEqual([]);
    expect(s.totals.edgeBytes).toBe(0);
    expect(await runInDurableObject(stub, (_s: SiteStats, state) => state.storage.getAlarm())).toBeNull();
  });
});

describe("the coordinator's report hook", () => {
  it("finds the site that registered the root, sends at most one report per interval per object", async () => {
    const root = randomRoot();
    const site = "/other/"; // vitest.workers.config.ts has two routes: the hook must ask
    const stub = env.SITE_STATS.get(env.SITE_STATS.idFromName(siteObjectName(site)));
    // Real clock here: lift the rate bound (its own test above), this test is about routing and throttling.
    await runInDurableObject(stub, (s: SiteStats) => void (s.limits.peerBytesPerSecond = Number.MAX_SAFE_INTEGER));
    await stub.ingestEdge(site, fetches([{ root, path: "/other/f.bin", size: 2_000_000, count: 1 }]));
    const t = Date.now();
    expect(await reportToSite(env, report(root, "EU", 600_000, 400_000, 0, 1), t)).toBe(true);
    expect(await reportToSite(env, report(root, "EU", 900_000, 400_000, 0, 1), t + REPORT_INTERVAL_MS - 1)).toBe(false);
    expect(await reportToSite(env, report(root, "NA", 0, 0, 0, 1), t + 1)).toBe(true); // another object of the root
    const snap = await stub.snapshot(site, 0);
    expect(snap.topByBytes.find((i) => i.path === "/other/f.bin")?.peerBytes).toBe(600_000);
    expect(await reportToSite(env, report(root, "EU", 900_000, 400_000, 0, 1), t + REPORT_INTERVAL_MS)).toBe(true);
    expect((await stub.snapshot(site, 0)).topByBytes.find((i) => i.path === "/other/f.bin")?.peerBytes).toBe(900_000);
    // A root no site registered is not reported anywhere; a missing binding is a no-op.
    expect(await reportToSite(env, report(randomRoot(), "EU", 1, 0, 0, 1), t)).toBe(false);
    expect(await reportToSite({ ROUTES: env.ROUTES }, report(root, "XX", 1, 0, 0, 1), t)).toBe(false);
  });
});
