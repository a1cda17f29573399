import { afterEach, describe, expect, it, vi } from "vitest";
import { createSwarm, type Swarm } from "../../client/swarm";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { answerFetch } from "../../client/service-worker-bridge";
import { bodySpan, proxyViaWindow, type BridgeWindow } from "../../client/sw-proxy";
import type { FetchRequestMessage, PortCommand, PortReply } from "../../client/sw-messages";
import { digestOf } from "./helpers";
import { fakeEdgeServer } from "./fakes/fake-edge";

const EDGE = "https://edge.test";
const URL_A = `${EDGE}/c/demo/a.bin`;
const CS = 16 * 1024;
const live: Swarm[] = [];
afterEach(() => {
  for (const s of live.splice(0)) s.close();
});

async function world() {
  const edge = await fakeEdgeServer(EDGE, { "/demo/a.bin": { size: 20 * CS + 77 } });
  const bytes = edge.items.get("/demo/a.bin")!.bytes;
  // The worker's network: a Request's own headers count (the fake edge reads only `init`).
  const requests: { url: string; range: string | null }[] = [];
  const net = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const url = input instanceof Request ? input.url : String(input);
    requests.push({ url, range: headers.get("range") });
    return edge.fetch(url, { ...init, headers });
  };
  const swarm = createSwarm({
    edge: EDGE, fetch: edge.fetch, WebSocket: null, RTCPeerConnection: null,
    store: await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 }),
  });
  live.push(swarm);
  const asked: FetchRequestMessage[] = [];
  const window: BridgeWindow = {
    post: (msg, port) => {
      asked.push(msg);
      void answerFetch(swarm, msg, port);
    },
    alive: async () => true,
  };
  return { edge, bytes, net, requests, window, asked };
}

const get = (range?: string) => new Request(URL_A, range ? { headers: { range } } : {});
const body = async (r: Response) => new Uint8Array(await r.arrayBuffer());

/**
 * A window that answers the head and `chunks` body pieces of `bytes`, then dies, errors or stalls;
 * `stalled` settles when it got the pull it leaves unanswered.
 */
function flakyWindow(bytes: Uint8Array, chunks: number, end: "vanish" | "error" | "stall"): BridgeWindow & { gone: boolean; cancelled: boolean; stalled: Promise<void> } {
  let stall!: () => void;
  const w = {
    gone: false,
    cancelled: false,
    stalled: new Promise<void>((r) => (stall = r)),
    post: (_m: FetchRequestMessage, port: MessagePort) => {
      const reply = (r: PortReply) => port.postMessage(r);
      reply({ type: "head", status: 200, headers: [["content-type", "video/mp4"], ["content-length", String(bytes.length)]] });
      let pulls = 0;
      port.onmessage = (e: MessageEvent<PortCommand>) => {
        if (e.data.type === "cancel") w.cancelled = true;
        if (e.data.type !== "pull") return;
        if (pulls < chunks) {
          const piece = bytes.slice(pulls * 1000, ++pulls * 1000);
          return reply({ type: "chunk", buf: piece.buffer });
        }
        if (end === "error") return reply({ type: "error", message: "swarm broke" });
        if (end === "vanish") w.gone = true; // the tab closed: no more replies
        if (end === "stall") stall();
      };
    },
    alive: async () => !w.gone,
  };
  return w;
}

describe("service worker proxy", () => {
  it("streams a whole item through the window", async () => {
    const { bytes, net, requests, window } = await world();
    const res = await proxyViaWindow(get(), { window, fetch: net, headTimeoutMs: 5000 });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-edgeswarm-sw")).toBe("1");
    expect(res.headers.get("x-edgeswarm")).toBe("p2p");
    expect(res.headers.get("content-length")).toBe(String(bytes.length));
    expect(digestOf(await body(res))).toEqual(digestOf(bytes));
    expect(requests).toEqual([]); // the worker itself never went to the network
  });

  it("passes Range through: 206 with the exact bytes and Content-Range", async () => {
    const { bytes, net, window, asked } = await world();
    const res = await proxyViaWindow(get(`bytes=${CS - 5}-${3 * CS + 9}`), { window, fetch: net, headTimeoutMs: 5000 });
    expect(asked[0]!.range).toBe(`bytes=${CS - 5}-${3 * CS + 9}`);
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes ${CS - 5}-${3 * CS + 9}/${bytes.length}`);
    expect(digestOf(await body(res))).toEqual(digestOf(bytes.slice(CS - 5, 3 * CS + 10)));
  });

  it("goes to the network when no window exists, or none answers in time", async () => {
    const { bytes, net, requests } = await world();
    const none = await proxyViaWindow(get("bytes=0-99"), { window: undefined, fetch: net, headTimeoutMs: 5000 });
    expect(none.status).toBe(206);
    expect(digestOf(await body(none))).toEqual(digestOf(bytes.slice(0, 100)));
    const mute: BridgeWindow = { post: () => {}, alive: async () => true };
    const late = await proxyViaWindow(get(), { window: mute, fetch: net, headTimeoutMs: 30 });
    expect(late.headers.get("x-edgeswarm-sw")).toBeNull();
    expect(digestOf(await body(late))).toEqual(digestOf(bytes));
    expect(requests).toEqual([{ url: URL_A, range: "bytes=0-99" }, { url: URL_A, range: null }]);
  });

  it("finishes from the network with a Range request when the window closes mid-body", async () => {
    const { bytes, net, requests } = await world();
    const w = flakyWindow(bytes, 3, "vanish");
    const res = await proxyViaWindow(get(), { window: w, fetch: net, headTimeoutMs: 5000, aliveCheckMs: 5 });
    expect(digestOf(await body(res))).toEqual(digestOf(bytes));
    expect(w.gone).toBe(true);
    expect(requests).toEqual([{ url: URL_A, range: `bytes=3000-${bytes.length - 1}` }]);
  });

  it("finishes from the network when the window reports an error mid-body", async () => {
    const { bytes, net, requests } = await world();
    const res = await proxyViaWindow(get(), { window: flakyWindow(bytes, 2, "error"), fetch: net, headTimeoutMs: 5000 });
    expect(digestOf(await body(res))).toEqual(digestOf(bytes));
    expect(requests).toEqual([{ url: URL_A, range: `bytes=2000-${bytes.length - 1}` }]);
  });

  it("finishes from the network when the window stalls mid-body, and tells the window to stop", async () => {
    const { bytes, net, requests } = await world();
    const w = flakyWindow(bytes, 4, "stall");
    // The stall timer runs on a fake clock moved only once the window has really stalled: on the
    // wall clock, a loaded machine delivering a piece later than `stallMs` looked like a stall too.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    try {
      const res = await proxyViaWindow(get(), { window: w, fetch: net, headTimeoutMs: 5000, stallMs: 30 });
      const got = body(res);
      await w.stalled;
      await vi.advanceTimersByTimeAsync(30);
      expect(digestOf(await got)).toEqual(digestOf(bytes));
    } finally {
      vi.useRealTimers();
    }
    expect(requests).toEqual([{ url: URL_A, range: `bytes=4000-${bytes.length - 1}` }]);
    for (let k = 0; k < 100 && !w.cancelled; k++) await new Promise((r) => setTimeout(r, 5));
    expect(w.cancelled).toBe(true);
  });

  it("tells a window that answers too late to stop", async () => {
    const { net } = await world();
    let cancelled = false;
    const late: BridgeWindow = {
      post: (_m, port) => {
        port.onmessage = (e: MessageEvent<PortCommand>) => void (e.data.type === "cancel" && (cancelled = true));
      },
      alive: async () => true,
    };
    const res = await proxyViaWindow(get(), { window: late, fetch: net, headTimeoutMs: 20 });
    expect(res.headers.get("x-edgeswarm-sw")).toBeNull();
    for (let k = 0; k < 100 && !cancelled; k++) await new Promise((r) => setTimeout(r, 5));
    expect(cancelled).toBe(true);
  });

  it("knows which bytes a response body covers", () => {
    expect(bodySpan(206, new Headers({ "content-range": "bytes 10-19/100" }))).toEqual({ start: 10, end: 20 });
    expect(bodySpan(200, new Headers({ "content-length": "100" }))).toEqual({ start: 0, end: 100 });
    expect(bodySpan(200, new Headers())).toBeNull();
    expect(bodySpan(206, new Headers({ "content-range": "bytes */100" }))).toBeNull();
  });
});
