/** The three sources behind one interface: the store, a peer link, the edge (Range reads cut into chunks). */
import { describe, expect, it } from "vitest";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { PeerRequestError } from "../../client/chunk-sources";
import { EdgeSource, storeSource } from "../../client/sources";
import { peerLinkSource } from "../../client/peer-link-source";
import { FakePeers, content, digestOf, concat, fakeEdge } from "./helpers";

const CS = 16 * 1024;

async function edgeSetup(piece: number) {
  const { bytes, manifest } = await content(10 * CS + 100, CS);
  const edge = fakeEdge(bytes, { piece });
  const got: [number, Uint8Array][] = [];
  const sink = (i: number, b: Uint8Array) => (got.push([i, b]), true);
  return { bytes, manifest, edge, got, sink, source: new EdgeSource(edge.fetch, manifest) };
}

describe("edge source", () => {
  it("holds every chunk and cuts one Range response into chunks, whatever the read sizes", async () => {
    for (const piece of [1000, CS, CS + 1, 3 * CS + 7]) {
      const { bytes, edge, got, sink, source } = await edgeSetup(piece);
      expect(source.has()).toBe(true);
      await source.read(2, 11, sink, new AbortController().signal);
      expect(edge.requests).toEqual([[2 * CS, bytes.length]]);
      expect(got.map(([i]) => i)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(digestOf(concat(got.map(([, b]) => b)))).toEqual(digestOf(bytes.slice(2 * CS)));
    }
  });

  it("stops when the sink says so", async () => {
    const { got, source } = await edgeSetup(5000);
    await source.read(0, 8, (i, b) => (got.push([i, b]), i < 2), new AbortController().signal);
    expect(got.map(([i]) => i)).toEqual([0, 1, 2]);
  });

  it("rejects when the body ends early", async () => {
    const { bytes, manifest } = await edgeSetup(5000);
    const short = new EdgeSource(async () => new Response(bytes.slice(0, CS + 10)).body!, manifest);
    await expect(short.read(0, 4, () => true, new AbortController().signal)).rejects.toThrow("ended early");
  });

  it("reads no further while the sink is waiting (reader backpressure)", async () => {
    const { got, source } = await edgeSetup(CS);
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const reading = source.read(0, 5, async (i, b) => {
      got.push([i, b]);
      if (i === 1) await gate;
      return true;
    }, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 10));
    expect(got.map(([i]) => i)).toEqual([0, 1]);
    open();
    await reading;
    expect(got.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe("store and peer-link sources", () => {
  it("the store serves what it holds and fails for what it lost", async () => {
    const { bytes, manifest } = await content(4 * CS, CS);
    const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 1 << 20 });
    const info = { root: manifest.root, url: manifest.url, size: manifest.size, chunkSize: CS, type: manifest.type };
    await store.put(info, 1, bytes.slice(CS, 2 * CS));
    const src = storeSource(store, manifest);
    expect([src.has(0), src.has(1)]).toEqual([false, true]);
    const got: Uint8Array[] = [];
    await src.read(1, 2, (_i, b) => (got.push(b), true), new AbortController().signal);
    expect(digestOf(got[0]!)).toEqual(digestOf(bytes.slice(CS, 2 * CS)));
    await expect(src.read(0, 1, () => true, new AbortController().signal)).rejects.toThrow("no longer stored");
  });

  it("a peer link asks for each chunk; an abort cancels the request in flight and ends the read", async () => {
    const { bytes, manifest } = await content(4 * CS, CS);
    const peers = new FakePeers(bytes, CS);
    const p = peers.add("peer-aaaaaaaa", [0, 1, 2], "ok");
    const src = peerLinkSource(peers, peers.peers()[0]!, manifest);
    expect([src.kind, src.id, src.has(2), src.has(3)]).toEqual(["peer", "peer-aaaaaaaa", true, false]);
    const got: number[] = [];
    await src.read(0, 2, (i) => (got.push(i), true), new AbortController().signal);
    expect(got).toEqual([0, 1]);
    p.behaviour = "hang";
    const ctrl = new AbortController();
    const reading = src.read(2, 3, () => true, ctrl.signal).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 5));
    ctrl.abort();
    expect(p.cancels).toEqual([2]);
    const err = await reading;
    expect(err).toBeInstanceOf(PeerRequestError);
    expect((err as PeerRequestError).code).toBe("cancelled");
  });
});
