/**
 * The edge adds no Durable Object call per request or per chunk: `EdgeCounters` (one per isolate)
 * sums responses per site and sends one batch per site when it is `FLUSH_MS` old — or at once when it
 * registers a root the isolate never sent (a coordinator may ask the site about it). Fake clock, and
 * a namespace that records the calls the real one would get.
 */
import { describe, expect, it } from "vitest";
import type { EdgeBatch } from "../../durable/site-stats-model";
import { EdgeCounters, FLUSH_MS } from "../../functions/dashboard-edge-counters";

/** A SITE_STATS stand-in: the batches each site's object would receive. */
function recordingNamespace() {
  const calls: { object: string; site: string; batch: EdgeBatch }[] = [];
  const ns = {
    idFromName: (name: string) => name,
    get: (object: string) => ({ ingestEdge: async (site: string, batch: EdgeBatch) => void calls.push({ object, site, batch }) }),
  } as unknown as Env["SITE_STATS"];
  return { ns, calls };
}

describe("edge counters are batched", () => {
  it("1,000 responses on two sites within FLUSH_MS are one call per site, with the sums; a new root is sent at once, a known one waits", async () => {
    let t = 1_000_000;
    const counters = new EdgeCounters(() => t);
    const { ns, calls } = recordingNamespace();
    for (let n = 0; n < 1000; n++) {
      counters.count(n % 2 ? "/a/" : "/b/", { outcome: n % 3 ? "hit" : "miss", path: n % 2 ? "/a/x" : "/b/y", edgeBytes: 1000, originBytes: n % 3 ? 0 : 1000 });
      t += Math.floor((FLUSH_MS - 1) / 1000);
      expect(counters.due()).toBe(false);
    }
    t += FLUSH_MS;
    expect(counters.due()).toBe(true);
    await counters.flush(ns);
    expect(calls.map((c) => [c.object, c.site])).toEqual([["site:/b/", "/b/"], ["site:/a/", "/a/"]]);
    const a = calls.find((c) => c.site === "/a/")!.batch, b = calls.find((c) => c.site === "/b/")!.batch;
    expect(a.edgeBytes + b.edgeBytes).toBe(1_000_000);
    expect(a.hits + a.misses + b.hits + b.misses).toBe(1000);
    expect(a.paths).toEqual({ "/a/x": 500_000 });
    expect(counters.due()).toBe(false); // nothing pending

    // A root this isolate never registered: sent without waiting (its swarm's reports need it).
    const root = "ab".repeat(32);
    counters.fetched("/a/", { root, path: "/a/x", size: 1000, originBytes: 0 });
    expect(counters.due()).toBe(true);
    await counters.flush(ns);
    expect(calls.at(-1)!.batch.fetches).toEqual({ [root]: { path: "/a/x", size: 1000, count: 1 } });
    // The same root again: counted, sent with the next batch.
    counters.fetched("/a/", { root, path: "/a/x", size: 1000, originBytes: 0 });
    counters.fetched("/a/", { root, path: "/a/x", size: 1000, originBytes: 0 });
    expect(counters.due()).toBe(false);
    t += FLUSH_MS;
    await counters.flush(ns);
    expect(calls).toHaveLength(4);
    expect(calls.at(-1)!.batch.fetches[root]!.count).toBe(2);
  });
});
