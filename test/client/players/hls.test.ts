import { describe, expect, it } from "vitest";
import { edgeswarmHls, type HlsLike, type HlsLoader } from "../../../client/players/hls";
import type { SegmentSwarm } from "../../../client/players/segment-loader";

/** hls.js as far as the integration reads it: a playing media element and one level's fragments. */
function fakeHls(fallbackLoads: string[]): HlsLike {
  class DefaultLoader {
    context = null;
    stats = {} as HlsLoader["stats"];
    load(ctx: { url: string }, _c: unknown, cb: any) { fallbackLoads.push(ctx.url); cb.onSuccess({ url: ctx.url, data: new ArrayBuffer(1), code: 200 }, this.stats, ctx, null); }
    abort() {}
    destroy() {}
  }
  const fragments = [0, 1, 2, 3].map((sn) => ({ sn, start: sn * 2, duration: 2, level: 0, type: "main", url: `http://edge/c/v/seg-${sn}.m4s` }));
  return {
    media: { currentTime: 1, playbackRate: 1, paused: false },
    levels: [{ details: { fragments } as any }],
    config: { loader: DefaultLoader as any },
    on: () => {},
  };
}

function recordingSwarm() {
  const calls: { url: string; deadline?: number }[] = [];
  const swarm: SegmentSwarm = {
    fetch: async (url, init) => (calls.push({ url, ...(init?.deadline !== undefined ? { deadline: init.deadline } : {}) }), new Response(new Uint8Array(1000))),
    stats: () => ({ fromPeers: 0, fromEdge: 0 }),
  };
  return { swarm, calls };
}

const load = (loader: HlsLoader, ctx: object) =>
  new Promise<{ data: ArrayBuffer; stats: HlsLoader["stats"] }>((resolve, reject) =>
    loader.load(ctx as any, { loadPolicy: { maxLoadTimeMs: 10_000 } }, {
      onSuccess: (r, stats) => resolve({ data: r.data, stats }),
      onError: (e) => reject(new Error(e.text)),
      onTimeout: () => reject(new Error("timeout")),
    }));

describe("edgeswarm/hls", () => {
  it("loads a media fragment (hls.js's rangeStart = rangeEnd = 0: no range) through the swarm, with a deadline and a prefetch of the next", async () => {
    const fallback: string[] = [];
    const { swarm, calls } = recordingSwarm();
    const p2p = edgeswarmHls(swarm, { safetyMarginMs: 500, prefetchAhead: 1 });
    p2p.attach(fakeHls(fallback));
    const loader = new p2p.config.fLoader({});
    const frag = { sn: 2, start: 4, duration: 2, level: 0, type: "main" };
    const r = await load(loader, { url: "http://edge/c/v/seg-2.m4s", responseType: "arraybuffer", type: "media-fragment", rangeStart: 0, rangeEnd: 0, frag });
    expect(r.data.byteLength).toBe(1000);
    expect(r.stats.loaded).toBe(1000);
    expect(r.stats.loading.end).toBeGreaterThanOrEqual(r.stats.loading.first);
    expect(fallback).toEqual([]);
    // Segment 2 plays in 3 s (media at 1 s): deadline 3000 − 500; segment 3 (at 6 s) is prefetched.
    expect(calls).toContainEqual({ url: "http://edge/c/v/seg-2.m4s", deadline: 2500 });
    expect(calls).toContainEqual({ url: "http://edge/c/v/seg-3.m4s", deadline: 4500 });
  });

  it("leaves byte-range fragments and non-binary loads to hls.js's own loader", async () => {
    const fallback: string[] = [];
    const { swarm, calls } = recordingSwarm();
    const p2p = edgeswarmHls(swarm);
    p2p.attach(fakeHls(fallback));
    await load(new p2p.config.fLoader({}), { url: "http://edge/c/v/all.mp4", responseType: "arraybuffer", rangeStart: 100, rangeEnd: 200 });
    await load(new p2p.config.fLoader({}), { url: "http://edge/c/v/sub.vtt", responseType: "text", rangeStart: 0, rangeEnd: 0 });
    expect(fallback).toEqual(["http://edge/c/v/all.mp4", "http://edge/c/v/sub.vtt"]);
    expect(calls).toEqual([]);
  });
});
