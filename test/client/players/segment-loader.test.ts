import { describe, expect, it } from "vitest";
import { FOLLOWER_EDGE_STREAK, SegmentLoader, SegmentLoadError, type SegmentSwarm } from "../../../client/players/segment-loader";

/**
 * A swarm whose loads take a scripted time on a fake clock and come from a scripted source: what a
 * player integration sees of the SDK, without a network.
 */
function scriptedSwarm(script: Record<string, { bytes: number; ms: number; source: "edge" | "peer"; status?: number }>) {
  let clock = 0;
  const totals = { fromPeers: 0, fromEdge: 0 };
  const calls: { url: string; deadline?: number; signal?: AbortSignal | null }[] = [];
  const swarm: SegmentSwarm = {
    async fetch(url, init) {
      calls.push({ url, ...(init?.deadline !== undefined ? { deadline: init.deadline } : {}), signal: init?.signal ?? null });
      const s = script[url];
      if (!s) throw new Error(`unscripted ${url}`);
      await Promise.resolve();
      if (init?.signal?.aborted) throw init.signal.reason;
      clock += s.ms;
      if (s.status && s.status !== 200) return new Response("nope", { status: s.status });
      if (s.source === "edge") totals.fromEdge += s.bytes;
      else totals.fromPeers += s.bytes;
      return new Response(new Uint8Array(s.bytes).fill(url.length));
    },
    stats: () => ({ ...totals }),
  };
  return { swarm, calls, now: () => clock };
}

describe("SegmentLoader", () => {
  it("turns a playback offset into a swarm deadline, keeping a safety margin and a floor", () => {
    const { swarm } = scriptedSwarm({});
    const l = new SegmentLoader(swarm, { safetyMarginMs: 1500, minDeadlineMs: 500 });
    expect(l.deadlineFor(8000)).toBe(6500);
    expect(l.deadlineFor(100)).toBe(500);
    expect(l.deadlineFor(-3000)).toBe(500);
    expect(l.deadlineFor(undefined)).toBeUndefined();
  });

  it("hands the deadline and an abort signal to swarm.fetch and returns the bytes", async () => {
    const { swarm, calls, now } = scriptedSwarm({ "/s1": { bytes: 1000, ms: 10, source: "edge" } });
    const l = new SegmentLoader(swarm, { now, safetyMarginMs: 1000 });
    const r = await l.load("/s1", { playInMs: 5000 });
    expect(r.data.byteLength).toBe(1000);
    expect(new Uint8Array(r.data)[0]).toBe(3);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.deadline).toBe(4000);
    expect(calls[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  it("reports a peer burst at the edge's pace, so ABR does not over-estimate the network", async () => {
    const { swarm, now } = scriptedSwarm({
      "/edge": { bytes: 1_000_000, ms: 1000, source: "edge" }, // edge: 1,000 bytes per ms
      "/peer": { bytes: 1_000_000, ms: 100, source: "peer" }, // peers: 10× faster, in a burst
      "/slow": { bytes: 1_000_000, ms: 2000, source: "peer" }, // slower than the edge: reported as is
    });
    const l = new SegmentLoader(swarm, { now });
    const a = await l.load("/edge");
    expect(a.timing.end - a.timing.start).toBe(1000);
    expect(l.edgeBytesPerSecond).toBe(1_000_000);
    const b = await l.load("/peer");
    expect(b.timing.fromPeers).toBe(1_000_000);
    expect(b.timing.end - b.timing.start).toBe(1000);
    expect(b.timing.first - b.timing.start).toBe(100); // time to first byte unchanged by the shift
    const c = await l.load("/slow");
    expect(c.timing.end - c.timing.start).toBe(2000);
    expect(l.edgeBytesPerSecond).toBe(1_000_000); // a peer load is no edge sample
  });

  it("prefetches the next segments and serves them without a second swarm fetch", async () => {
    const { swarm, calls, now } = scriptedSwarm({
      "/a": { bytes: 100, ms: 5, source: "edge" },
      "/b": { bytes: 200, ms: 5, source: "peer" },
      "/c": { bytes: 300, ms: 5, source: "peer" },
      "/d": { bytes: 400, ms: 5, source: "peer" },
    });
    const l = new SegmentLoader(swarm, { now, prefetchAhead: 2, safetyMarginMs: 1000 });
    await l.load("/a", { next: [{ url: "/b", playInMs: 4000 }, { url: "/c", playInMs: 6000 }, { url: "/d", playInMs: 8000 }] });
    expect(calls.map((c) => c.url)).toEqual(["/b", "/c", "/a"]);
    expect(calls.find((c) => c.url === "/c")!.deadline).toBe(5000);
    const b = await l.load("/b");
    expect(b.data.byteLength).toBe(200);
    expect(calls.filter((c) => c.url === "/b")).toHaveLength(1);
  });

  it("caps the prefetch queue by aborting the oldest prefetch", async () => {
    const { swarm, calls, now } = scriptedSwarm({ "/1": { bytes: 1, ms: 1, source: "peer" }, "/2": { bytes: 1, ms: 1, source: "peer" }, "/3": { bytes: 1, ms: 1, source: "peer" } });
    const l = new SegmentLoader(swarm, { now, maxPrefetched: 2 });
    l.prefetch("/1");
    l.prefetch("/2");
    l.prefetch("/3");
    expect(calls[0]!.signal!.aborted).toBe(true);
    expect(calls[1]!.signal!.aborted).toBe(false);
    expect(calls[2]!.signal!.aborted).toBe(false);
  });

  it("rejects with the player's abort reason and aborts the swarm fetch", async () => {
    const { swarm, calls, now } = scriptedSwarm({ "/x": { bytes: 10, ms: 1, source: "edge" } });
    const l = new SegmentLoader(swarm, { now });
    const ac = new AbortController();
    const p = l.load("/x", { signal: ac.signal });
    ac.abort(new Error("seek"));
    await expect(p).rejects.toThrow("seek");
    expect(calls[0]!.signal!.aborted).toBe(true);
  });

  it("turns an error status into a SegmentLoadError carrying it", async () => {
    const { swarm, now } = scriptedSwarm({ "/gone": { bytes: 0, ms: 1, source: "edge", status: 404 } });
    const l = new SegmentLoader(swarm, { now });
    const err = await l.load("/gone").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SegmentLoadError);
    expect((err as SegmentLoadError).status).toBe(404);
  });

  it("holds a live-edge segment within its spare time (never what the edge needs); the viewer that went first keeps leading", async () => {
    const seg = (source: "edge" | "peer") => ({ bytes: 1000, ms: 10, source });
    const { swarm, calls, now } = scriptedSwarm({ "/l1": seg("edge"), "/l2": seg("edge"), "/p1": seg("peer"), "/p2": seg("peer"), "/l5": seg("edge"), "/vod": seg("edge") });
    const holds: number[] = [];
    const l = new SegmentLoader(swarm, { now, safetyMarginMs: 1500, edgeReserveMs: 1000, liveHoldMaxMs: 3000, random: () => 0.5, sleep: async (ms) => void holds.push(ms) });
    const live = (url: string, playInMs = 6000) => l.load(url, { playInMs, live: true });
    // playInMs 6000 → deadline 4500 → spare min(3000, 3500) = 3000; no role yet: half of it.
    await live("/l1");
    expect(holds).toEqual([1500]);
    // The deadline handed on is what is left after the hold.
    expect(calls[0]!.deadline).toBe(3000);
    // It came from the edge: this viewer leads, drawing from the first fifth.
    await live("/l2");
    expect(holds).toEqual([1500, 300]);
    // One segment someone else fetched first does not end the lead; two in a row make it follow:
    // the last fifth of the spare time at the earliest (2,400 ms), random 0.5 of the rest.
    await live("/p1");
    await live("/p2");
    await live("/l5");
    expect(holds).toEqual([1500, 300, 300, 300, 2700]);
    // A short buffer holds nothing; a VOD segment is never held.
    await live("/l5", 2000);
    await l.load("/vod", { playInMs: 20_000 });
    expect(holds).toHaveLength(5);
  });

  it("a follower that got a live segment from the edge stays a follower and waits out the edge's fill time; FOLLOWER_EDGE_STREAK in a row make it lead", async () => {
    const script: Record<string, { bytes: number; ms: number; source: "edge" | "peer" }> = { "/p": { bytes: 1000, ms: 10, source: "peer" } };
    for (let i = 0; i <= FOLLOWER_EDGE_STREAK; i++) script[`/cold${i}`] = { bytes: 1000, ms: 2600, source: "edge" };
    const { swarm, now } = scriptedSwarm(script);
    const holds: number[] = [];
    const l = new SegmentLoader(swarm, { now, safetyMarginMs: 1500, edgeReserveMs: 1000, liveHoldMaxMs: 3000, random: () => 0, sleep: async (ms) => void holds.push(ms) });
    const live = (url: string) => l.load(url, { playInMs: 6000, live: true }); // spare 3000 ms
    await live("/p"); // from peers: a follower
    await live("/cold0"); // asked during the leader's fill: edge bytes, 2,600 ms
    // Still a follower (not a second leader racing the first); it now waits for the leader's fifth
    // plus the measured fill time (600 + 2,600 ms), as long as the edge allows (3,000).
    await live("/cold1");
    expect(holds).toEqual([2400, 3000]); // (the first load, with no role yet, drew 0: no hold)
    // FOLLOWER_EDGE_STREAK edge-served segments in a row: nobody else goes first, so it leads.
    for (let i = 2; i < FOLLOWER_EDGE_STREAK; i++) await live(`/cold${i}`);
    await live(`/cold${FOLLOWER_EDGE_STREAK}`);
    // The leader's draw for the last one: 0 (the first fifth, random 0), so no hold recorded.
    expect(holds).toEqual([2400, ...Array(FOLLOWER_EDGE_STREAK - 1).fill(3000)]);
  });

  it("a newcomer whose first segment (before playback, not held) came from peers follows; one whose first came from the edge leads", async () => {
    const seg = (source: "edge" | "peer") => ({ bytes: 1000, ms: 10, source });
    const { swarm, now } = scriptedSwarm({ "/p0": seg("peer"), "/e0": seg("edge"), "/l": seg("edge") });
    const holds: number[] = [];
    const opts = { now, safetyMarginMs: 1500, edgeReserveMs: 1000, liveHoldMaxMs: 3000, random: () => 0.5, sleep: async (ms: number) => void holds.push(ms) };
    const follower = new SegmentLoader(swarm, opts);
    await follower.load("/p0", { live: true }); // paused: no deadline, not held
    await follower.load("/l", { playInMs: 6000, live: true });
    await follower.load("/l", { playInMs: 6000, live: true }); // still a follower after one edge-served segment
    expect(holds).toEqual([2700, 2700]);
    const first = new SegmentLoader(swarm, opts);
    await first.load("/e0", { live: true });
    await first.load("/l", { playInMs: 6000, live: true }); // no role yet: half the spare time
    await first.load("/l", { playInMs: 6000, live: true }); // edge-served: it leads
    expect(holds.slice(2)).toEqual([1500, 300]);
  });

  it("an abort during a live hold rejects without asking the swarm", async () => {
    const { swarm, calls } = scriptedSwarm({ "/l": { bytes: 10, ms: 1, source: "edge" } });
    const l = new SegmentLoader(swarm, { random: () => 0.9 });
    const c = new AbortController();
    const p = l.load("/l", { playInMs: 8000, live: true, signal: c.signal });
    c.abort(new Error("seek"));
    await expect(p).rejects.toThrow("seek");
    expect(calls).toHaveLength(0);
  });
});
