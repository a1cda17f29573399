import { describe, expect, it } from "vitest";
import { edgeswarmShaka, type ShakaLike } from "../../../client/players/shaka";
import type { SegmentSwarm } from "../../../client/players/segment-loader";

/** Shaka's namespace as far as the plugin touches it: records registrations and fallback calls. */
function fakeShaka() {
  const schemes = new Map<string, (...a: any[]) => any>();
  const fallbackCalls: string[] = [];
  class AbortableOperation<T> {
    constructor(readonly promise: Promise<T>, readonly abort: () => Promise<unknown>) {}
  }
  class ShakaError extends Error {
    readonly data: unknown[];
    constructor(readonly severity: number, readonly category: number, readonly code: number, ...data: unknown[]) {
      super(`shaka error ${code}`);
      this.data = data;
    }
  }
  const shaka = {
    net: {
      NetworkingEngine: { registerScheme: (s: string, p: any) => schemes.set(s, p), PluginPriority: { APPLICATION: 3 } },
      HttpFetchPlugin: { parse: (uri: string) => (fallbackCalls.push(uri), new AbortableOperation(Promise.resolve({ uri, fallback: true }), async () => {})) },
    },
    util: { AbortableOperation, Error: ShakaError },
  } as unknown as ShakaLike;
  return { shaka, schemes, fallbackCalls };
}

function fakePlayer() {
  let filter: ((type: number, req: any, ctx?: any) => void) | undefined;
  return {
    player: { getNetworkingEngine: () => ({ registerRequestFilter: (f: any) => (filter = f) }) },
    filter: (type: number, req: any, ctx?: any) => filter!(type, req, ctx),
  };
}

const req = (headers: Record<string, string> = {}) => ({ headers, method: "GET", uris: ["x"] });

describe("edgeswarm/shaka", () => {
  it("loads media segments through the swarm with a deadline from the playback position", async () => {
    const calls: { url: string; deadline?: number }[] = [];
    const swarm: SegmentSwarm = {
      fetch: async (url, init) => (calls.push({ url, ...(init?.deadline !== undefined ? { deadline: init.deadline } : {}) }), new Response(new Uint8Array(4096))),
      stats: () => ({ fromPeers: 0, fromEdge: 0 }),
    };
    const { shaka, schemes } = fakeShaka();
    const { player, filter } = fakePlayer();
    const media = { currentTime: 10, playbackRate: 1, paused: false };
    edgeswarmShaka(shaka, player, swarm, { media, safetyMarginMs: 1000 });
    expect([...schemes.keys()].sort()).toEqual(["http", "https"]);
    const r = req();
    filter(1, r, { segment: { getStartTime: () => 16 } });
    const op = schemes.get("https")!("https://cdn/c/v/seg-1.m4s", r, 1, () => {}, () => {}, {});
    const res = await op.promise;
    expect(res.data.byteLength).toBe(4096);
    expect(res.status).toBe(200);
    expect(res.timeMs).toBeGreaterThan(0);
    expect(calls).toEqual([{ url: "https://cdn/c/v/seg-1.m4s", deadline: 5000 }]);
  });

  it("leaves manifests and byte-range segments to Shaka's own fetch plugin", async () => {
    const swarm: SegmentSwarm = { fetch: async () => { throw new Error("must not be called"); }, stats: () => ({ fromPeers: 0, fromEdge: 0 }) };
    const { shaka, schemes, fallbackCalls } = fakeShaka();
    edgeswarmShaka(shaka, fakePlayer().player, swarm);
    const plugin = schemes.get("http")!;
    await plugin("http://cdn/c/v/manifest.mpd", req(), 0, () => {}, () => {}, {}).promise;
    await plugin("http://cdn/c/v/all.mp4", req({ Range: "bytes=0-99" }), 1, () => {}, () => {}, {}).promise;
    expect(fallbackCalls).toEqual(["http://cdn/c/v/manifest.mpd", "http://cdn/c/v/all.mp4"]);
  });

  it("reports an edge error status as Shaka's recoverable BAD_HTTP_STATUS, and aborts the swarm fetch on abort", async () => {
    let seen: AbortSignal | null = null;
    const swarm: SegmentSwarm = {
      fetch: async (url, init) => {
        seen = init?.signal ?? null;
        return url.endsWith("gone.m4s") ? new Response("", { status: 410 }) : new Promise<Response>(() => {});
      },
      stats: () => ({ fromPeers: 0, fromEdge: 0 }),
    };
    const { shaka, schemes } = fakeShaka();
    edgeswarmShaka(shaka, fakePlayer().player, swarm);
    const plugin = schemes.get("http")!;
    const err = await plugin("http://cdn/c/v/gone.m4s", req(), 1, () => {}, () => {}, {}).promise.catch((e: any) => e);
    expect(err.code).toBe(1001);
    expect(err.severity).toBe(1);
    expect(err.data[1]).toBe(410);
    const op = plugin("http://cdn/c/v/hang.m4s", req(), 1, () => {}, () => {}, {});
    await op.abort();
    expect(seen!.aborted).toBe(true);
  });
});
