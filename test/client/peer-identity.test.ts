/**
 * The SDK's peer identity: by default a random key per instance, sent as `?key=`, with the id the
 * edge derives from it (protocol/peer-id.ts `peerIdFromKey`, the one derivation both sides import) computed before
 * any request; `peerKey` and the legacy `peerId` options; a join token for another id than ours
 * sends the fetch down the plain edge path.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { createSwarm, type Swarm, type SwarmOptions } from "../../client/swarm";
import { DERIVED_PEER_ID, PEER_KEY, peerIdFromKey } from "../../protocol/peer-id";
import type { ManifestResponse } from "../../protocol/manifest";
import { digestOf } from "./helpers";
import { fakeEdgeServer } from "./fakes/fake-edge";

const EDGE = "https://edge.test";
const live: Swarm[] = [];
afterEach(() => {
  for (const s of live.splice(0)) s.close();
});

/**
 * The fake edge's content and manifests, with `/m/` naming peers as the real edge does: `?key=` →
 * the id protocol/peer-id.ts derives; `?peer=` as given. `tamper` rewrites the issued id.
 */
async function world(tamper?: (id: string) => string) {
  const edge = await fakeEdgeServer(EDGE, { "/demo/a.bin": { size: 5 * 16 * 1024 + 7 } });
  const manifestQueries: URLSearchParams[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const u = new URL(typeof input === "object" && "url" in input ? input.url : String(input));
    if (!u.pathname.startsWith("/m/")) return edge.fetch(input, init);
    manifestQueries.push(new URLSearchParams(u.search));
    const key = u.searchParams.get("key");
    const id = key !== null ? await peerIdFromKey(key) : u.searchParams.get("peer")!;
    const res = await edge.fetch(`${u.origin}${u.pathname}?peer=${id}`, init);
    const body = (await res.json()) as ManifestResponse;
    body.join.peerId = tamper ? tamper(id) : id;
    return Response.json(body);
  };
  const swarm = async (opts: Partial<SwarmOptions> = {}) => {
    const s = createSwarm({
      edge: EDGE, fetch, WebSocket: null, RTCPeerConnection: null,
      store: await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 16 << 20 }), ...opts,
    });
    live.push(s);
    return s;
  };
  return { edge, manifestQueries, swarm };
}

describe("peer identity", () => {
  it("by default: a random key per instance, sent as ?key=, and the pk_ id derived from it", async () => {
    const w = await world();
    const a = await w.swarm();
    const b = await w.swarm();
    const [idA, idB] = await Promise.all([a.ready, b.ready]);
    expect(DERIVED_PEER_ID.test(idA) && DERIVED_PEER_ID.test(idB)).toBe(true);
    expect(idA).not.toBe(idB); // two tabs never share an id (one would push the other out)
    expect([a.peerId, a.stats().peerId]).toEqual([idA, idA]);
    const res = await a.fetch("/c/demo/a.bin");
    expect(res.headers.get("x-edgeswarm")).toBe("p2p");
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toEqual(digestOf(w.edge.items.get("/demo/a.bin")!.bytes));
    const q = w.manifestQueries[0]!;
    expect(q.has("peer")).toBe(false);
    expect(q.get("key")).toMatch(PEER_KEY);
    expect(q.get("key")!.length).toBe(22); // 16 random bytes
    expect(await peerIdFromKey(q.get("key")!)).toBe(idA);
    expect((await a.identity).key).toBe(q.get("key"));
  });

  it("peerKey: that key, and the same id on every instance that has it", async () => {
    const w = await world();
    const key = "k".repeat(30);
    const a = await w.swarm({ peerKey: key });
    const b = await w.swarm({ peerKey: key });
    expect(await a.ready).toBe(await peerIdFromKey(key));
    expect(await b.ready).toBe(await a.ready);
    await (await a.fetch("/c/demo/a.bin")).arrayBuffer();
    expect(w.manifestQueries[0]!.get("key")).toBe(key);
  });

  it("peerId (legacy): sent as ?peer=, no key", async () => {
    const w = await world();
    const s = await w.swarm({ peerId: "legacy-peer-01" });
    expect(s.peerId).toBe("legacy-peer-01"); // known at once: nothing to derive
    expect(await s.ready).toBe("legacy-peer-01");
    const res = await s.fetch("/c/demo/a.bin");
    expect(res.headers.get("x-edgeswarm")).toBe("p2p");
    await res.arrayBuffer();
    expect(w.manifestQueries[0]!.get("peer")).toBe("legacy-peer-01");
    expect(w.manifestQueries[0]!.has("key")).toBe(false);
  });

  it("a join token for another id than the derived one: plain edge fetch, exact bytes, no error", async () => {
    const w = await world((id) => `${id.slice(0, -1)}${id.endsWith("A") ? "B" : "A"}`);
    const s = await w.swarm();
    const res = await s.fetch("/c/demo/a.bin");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-edgeswarm")).toBeNull(); // not the swarm path
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toEqual(digestOf(w.edge.items.get("/demo/a.bin")!.bytes));
    expect(w.manifestQueries.length).toBeGreaterThan(0);
    expect(s.stats().contents).toEqual({});
  });
});
