/**
 * Issue 6: supernodes spare the origin without becoming a second CDN. When a browser and a
 * supernode both hold a chunk and the browser has a free request slot, the scheduler asks the
 * browser; the supernode serves only what no free browser holds.
 */
import { describe, expect, it } from "vitest";
import { FakeClock, FakePeers, content, digestOf, drain, fakeEdge, range, settle, verify, counted } from "./helpers";

const CS = 16 * 1024;
const SIZE = 24 * CS + 99; // 25 chunks
/** The first chunk from the edge at once (no start grace), as these scenarios assume. */
const EDGE_FIRST = { startGraceMs: 0 };

async function setup() {
  const { bytes, manifest } = await content(SIZE, CS);
  const clock = new FakeClock();
  return { bytes, manifest, clock, edge: fakeEdge(bytes, { clock }), peers: new FakePeers(bytes, CS) };
}

describe("browser peers before supernodes", () => {
  it("asks the supernode for nothing while a browser holding everything has free slots", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    // The supernode is listed first (better rank) so rank alone would pick it.
    const sn = peers.add("super-aaaaaaaa", range(25));
    sn.kind = "supernode";
    const br = peers.add("peer-bbbbbbbb", range(25));
    br.kind = "browser";
    const d = counted({ manifest, ...EDGE_FIRST, edge: edge.fetch, peers, clock, verify, maxInFlightPerPeer: 4, window: 4 });
    const out = await drain(d.stream, clock);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(sn.requests).toEqual([]);
    expect(br.requests).toEqual(range(24, 1));
    expect(d.stats.byPeer["peer-bbbbbbbb"]).toBe(SIZE - CS);
    expect(edge.requests).toEqual([[0, CS]]);
  });

  it("gives the supernode only the overflow of a saturated browser", async () => {
    const { manifest, clock, edge, peers } = await setup();
    const sn = peers.add("super-aaaaaaaa", range(25), "ok", true);
    sn.kind = "supernode";
    const br = peers.add("peer-bbbbbbbb", range(25), "ok", true);
    br.kind = "browser";
    const d = counted({ manifest, ...EDGE_FIRST, edge: edge.fetch, peers, clock, verify, maxInFlightPerPeer: 2, window: 8 });
    await settle();
    expect(br.requests).toEqual([1, 2]);
    expect(sn.requests).toEqual([3, 4]);
    // A browser slot frees up: the next chunk goes to the browser, not the (also full) supernode.
    expect(peers.answer(br.id)).toBe(1);
    await settle();
    expect(br.requests).toEqual([1, 2, 5]);
    expect(sn.requests).toEqual([3, 4]);
    d.close();
  });

  it("keeps a saturated browser's far chunks for the browser: the supernode only fills in near the reader", async () => {
    const { manifest, clock, edge, peers } = await setup();
    const sn = peers.add("super-aaaaaaaa", range(25), "ok", true);
    sn.kind = "supernode";
    const br = peers.add("peer-bbbbbbbb", range(25), "ok", true);
    br.kind = "browser";
    const d = counted({ manifest, ...EDGE_FIRST, edge: edge.fetch, peers, clock, verify, maxInFlightPerPeer: 3, window: 16, supernodeReach: 4 });
    await settle();
    // Reader at chunk 1 (chunk 0 came from the edge): browser 1..3, supernode 4 only (1 + 4 = 5).
    expect(br.requests).toEqual([1, 2, 3]);
    expect(sn.requests).toEqual([4]);
    // The browser delivers chunks 1 and 2 (one free slot waits for a second: requests carry runs):
    // the reader moves to 3, the browser takes 5 and 6 in one request; the supernode, with free
    // slots, still gets nothing beyond the reach (7 = 3 + 4 is too far, and the browser holds it).
    expect(peers.answer(br.id)).toBe(1);
    await settle();
    expect(br.requests).toEqual([1, 2, 3]);
    expect(peers.answer(br.id)).toBe(2);
    await settle();
    expect(br.requests).toEqual([1, 2, 3, 5, 6]);
    expect(br.requestRuns).toEqual([[1, 2, 3], [5, 6]]);
    expect(sn.requests).toEqual([4]);
    d.close();
  });

  it("asks the supernode for a chunk only it holds", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const sn = peers.add("super-aaaaaaaa", range(25));
    sn.kind = "supernode";
    const br = peers.add("peer-bbbbbbbb", range(25).filter((i) => i !== 9));
    br.kind = "browser";
    const d = counted({ manifest, ...EDGE_FIRST, edge: edge.fetch, peers, clock, verify, maxInFlightPerPeer: 4, window: 4 });
    const out = await drain(d.stream, clock);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(sn.requests).toEqual([9]);
    expect(br.requests).not.toContain(9);
    expect(d.stats.byPeer["super-aaaaaaaa"]).toBe(CS);
  });

  it("still sends a chunk a browser is late with to the edge at the deadline, not to the supernode", async () => {
    const { bytes, manifest, clock, edge, peers } = await setup();
    const slow = peers.add("peer-slowslow", [3], "hang");
    slow.kind = "browser";
    const sn = peers.add("super-aaaaaaaa", range(25));
    sn.kind = "supernode";
    const br = peers.add("peer-bbbbbbbb", range(25).filter((i) => i !== 3));
    br.kind = "browser";
    const d = counted({ manifest, ...EDGE_FIRST, edge: edge.fetch, peers, clock, verify, chunkDeadlineMs: 1000 });
    const out = await drain(d.stream, clock, 100);
    expect(digestOf(out)).toEqual(digestOf(bytes));
    expect(slow.requests).toEqual([3]);
    expect(d.stats.deadlineMisses).toBe(1);
    expect(edge.requests).toContainEqual([3 * CS, 4 * CS]);
    expect(sn.requests).not.toContain(3);
  });
});
