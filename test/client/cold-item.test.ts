/**
 * Cold items (issue 13 item 1, SDK side): `/m/` answers 202 pending while the edge hashes the item.
 * The page is served from `/c/` at once (no wait for the manifest; Range honoured by the edge), and
 * after `retryAfter` the SDK asks `/m/` again, verifies the bytes it streamed against the manifest,
 * stores them and joins the swarm as a seeder — then a second peer gets the item from it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createSwarm, type Swarm, type SwarmOptions } from "../../client/swarm";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { keepCopy, seedVerified } from "../../client/cold-item";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import { MANIFEST_PENDING_HEADER, MANIFEST_PENDING_STATUS, type ManifestPending } from "../../protocol/manifest";
import { content, digestOf, verify } from "./helpers";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";
import { FakeHub } from "./fakes/fake-coordinator";
import { fakeEdgeServer } from "./fakes/fake-edge";

const EDGE = "https://edge.test";
const CS = 16 * 1024;
const live: Swarm[] = [];
afterEach(() => {
  for (const s of live.splice(0)) s.close();
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 10) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("condition not reached");
}

/**
 * The fake edge, with `/m/` pending for the first `pendingFor` manifest requests: a 202, or with
 * `inline`, for a request asking `?inline=1`, the item itself marked pending (as the edge does).
 */
async function coldWorld(pendingFor: number, size = 20 * CS + 77, inline = false) {
  const edge = await fakeEdgeServer(EDGE, { "/demo/cold.bin": { size } });
  const hub = new FakeHub();
  const log: string[] = [];
  let pendingLeft = pendingFor;
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const u = new URL(typeof input === "object" && "url" in input ? input.url : String(input));
    const range = new Headers(init?.headers).get("range");
    log.push(`${u.pathname}${range ? ` ${range}` : ""}`);
    if (u.pathname.startsWith("/m/") && pendingLeft > 0) {
      pendingLeft--;
      if (inline && u.searchParams.get("inline") === "1") {
        log.push("(inline)");
        const item = await edge.fetch(`${EDGE}/c/demo/cold.bin`);
        return new Response(item.body, { headers: { "content-type": "application/octet-stream", "content-length": String(size), [MANIFEST_PENDING_HEADER]: "0" } });
      }
      const body: ManifestPending = { status: "pending", url: "/c/demo/cold.bin", size, retryAfter: 0 };
      return Response.json(body, { status: MANIFEST_PENDING_STATUS, headers: { "retry-after": "0" } });
    }
    return edge.fetch(input, init);
  };
  const peer = async (opts: Partial<SwarmOptions> = {}) => {
    const s = createSwarm({
      edge: EDGE, fetch, WebSocket: hub.socketClass() as unknown as WebSocketCtor,
      RTCPeerConnection: FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor,
      store: await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 }),
      // The fake edge answers at once: these tests are about the peer path, not the race, so the
      // edge lane's slack lets peers take up to a minute beyond the edge alone's schedule.
      peerWaitMs: 3000, scheduler: { laneSlackMs: 60_000 }, ...opts,
    });
    live.push(s);
    return s;
  };
  return { edge, hub, log, peer, item: edge.items.get("/demo/cold.bin")! };
}

describe("cold items (/m/ 202 pending)", () => {
  it("streams the item from /c/ at once, then verifies, stores and seeds it once the manifest exists", async () => {
    const { hub, log, peer, item } = await coldWorld(1);
    const a = await peer();
    const res = await a.fetch("/c/demo/cold.bin");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-edgeswarm")).toBeNull(); // the edge's own response, not the swarm's
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toEqual(digestOf(item.bytes));
    // One manifest ask, then straight to /c/ (no Range: the whole object, as the page asked).
    expect(log.slice(0, 2)).toEqual(["/m/demo/cold.bin", "/c/demo/cold.bin"]);
    // Those are edge bytes in the counters (pages and the dashboard read them from stats()).
    expect(a.stats()).toMatchObject({ fromEdge: item.bytes.length, fromPeers: 0 });
    expect(a.stats().contents[`${EDGE}/c/demo/cold.bin`]).toMatchObject({ size: item.bytes.length, received: item.bytes.length, fromEdge: item.bytes.length });
    // After retryAfter: /m/ again, the streamed bytes verified into the store, the swarm joined.
    // (The peer side may load and re-join the recently stored item while the chunks are still being
    // stored: what it holds is then announced by hello and `have`s together.)
    const chunks = Math.ceil(item.bytes.length / CS);
    await until(() => hub.announced(a.peerId) === chunks);
    expect(log.filter((l) => l.startsWith("/c/"))).toHaveLength(1); // the edge sent the item once

    // A second visitor gets it from the first (beyond the fast-start chunk), byte-exact.
    const b = await peer();
    const got = new Uint8Array(await (await b.fetch("/c/demo/cold.bin")).arrayBuffer());
    expect(digestOf(got)).toEqual(digestOf(item.bytes));
    expect(b.stats().contents[`${EDGE}/c/demo/cold.bin`]!.byPeer[a.peerId]).toBeGreaterThanOrEqual(item.bytes.length - CS);
  });

  it("keeps asking /m/ while it stays pending after the body (the edge still hashing), then seeds", async () => {
    // The fetch's own /m/ and the next three are pending (three asks was where the SDK used to give up).
    const { hub, log, peer, item } = await coldWorld(4);
    const a = await peer();
    expect(digestOf(new Uint8Array(await (await a.fetch("/c/demo/cold.bin")).arrayBuffer()))).toEqual(digestOf(item.bytes));
    await until(() => hub.announced(a.peerId) === Math.ceil(item.bytes.length / CS));
    expect(log.filter((l) => l.startsWith("/m/"))).toHaveLength(5);
    expect(log.filter((l) => l.startsWith("/c/"))).toHaveLength(1);
  });

  it("takes the item /m/ sends inline (no /c/ request at all), then verifies, stores and seeds it", async () => {
    const { hub, log, peer, item } = await coldWorld(1, undefined, true);
    const a = await peer();
    const res = await a.fetch("/c/demo/cold.bin");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(item.bytes.length));
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toEqual(digestOf(item.bytes));
    expect(a.stats()).toMatchObject({ fromEdge: item.bytes.length, fromPeers: 0 });
    await until(() => hub.announced(a.peerId) === Math.ceil(item.bytes.length / CS));
    // /m/ answered with the item, later /m/ for the manifest (and the re-join of recent items); the
    // item itself never asked of /c/.
    expect(log.filter((l) => !l.startsWith("/m/"))).toEqual(["(inline)"]);
    const b = await peer();
    const got = new Uint8Array(await (await b.fetch("/c/demo/cold.bin")).arrayBuffer());
    expect(digestOf(got)).toEqual(digestOf(item.bytes));
    expect(b.stats().contents[`${EDGE}/c/demo/cold.bin`]!.byPeer[a.peerId]).toBeGreaterThanOrEqual(item.bytes.length - CS);
  });

  it("two fetches of one cold item at once: one takes the inline item, the other streams /c/; both byte-exact", async () => {
    const { log, peer, item } = await coldWorld(5, undefined, true);
    const a = await peer();
    const [r1, r2] = await Promise.all([a.fetch("/c/demo/cold.bin"), a.fetch("/c/demo/cold.bin")]);
    const [b1, b2] = await Promise.all([r1.arrayBuffer(), r2.arrayBuffer()]);
    expect(digestOf(new Uint8Array(b1))).toEqual(digestOf(item.bytes));
    expect(digestOf(new Uint8Array(b2))).toEqual(digestOf(item.bytes));
    expect(log.filter((l) => l === "(inline)")).toHaveLength(1);
    expect(log.filter((l) => l === "/c/demo/cold.bin")).toHaveLength(1);
  });

  it("aborting the page's signal errors an inline body with AbortError", async () => {
    const { peer } = await coldWorld(1, 4 << 20, true);
    const a = await peer();
    const ac = new AbortController();
    const res = await a.fetch("/c/demo/cold.bin", { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    let error: unknown = null;
    try {
      for (;;) if ((await reader.read()).done) break;
    } catch (e) {
      error = e;
    }
    expect((error as Error | null)?.name).toBe("AbortError");
  });

  it("a Range request on a cold item is the edge's 206, passed through (nothing kept to seed)", async () => {
    const { log, peer, item } = await coldWorld(5);
    const a = await peer();
    const res = await a.fetch("/c/demo/cold.bin", { headers: { range: "bytes=100-199" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 100-199/${item.bytes.length}`);
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toEqual(digestOf(item.bytes.slice(100, 200)));
    expect(log).toEqual(["/m/demo/cold.bin", "/c/demo/cold.bin bytes=100-199"]);
    expect(a.stats()).toMatchObject({ fromEdge: 100, fromPeers: 0 });
  });

  it("seeds only bytes that match the manifest, and nothing past the copy limit", async () => {
    const { bytes, manifest } = await content(6 * CS + 5, CS);
    const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 1 << 20 });
    const tampered = bytes.slice();
    tampered[2 * CS + 9]! ^= 1;
    expect(await seedVerified(store, manifest, tampered, verify)).toBe(6); // chunk 2 refused
    expect(store.held(manifest.root)).toEqual([0, 1, 3, 4, 5, 6]);
    expect(await seedVerified(store, manifest, bytes.subarray(0, 5 * CS), verify)).toBe(0); // another size
    const small = keepCopy(new Response(bytes.slice()).body!, bytes.length);
    const big = keepCopy(new Response(bytes.slice()).body!, bytes.length - 1);
    await Promise.all([new Response(small.page).arrayBuffer(), new Response(big.page).arrayBuffer()]);
    expect(digestOf((await small.copy)!)).toEqual(digestOf(bytes));
    expect(await big.copy).toBeNull();
  });
});
