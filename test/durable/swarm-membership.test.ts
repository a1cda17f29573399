import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { describe, expect, it } from "vitest";
import { decodeBitfield, encodeBitfield } from "../../protocol/swarm-protocol";
import { join, open, randomRoot, swarmStub, type TestPeer } from "./helpers";

const PARIS = { latitude: 48.8566, longitude: 2.3522 };
const LONDON = { latitude: 51.5074, longitude: -0.1278 };
const BERLIN = { latitude: 52.52, longitude: 13.405 };
const MADRID = { latitude: 40.4168, longitude: -3.7038 };

const closeAll = (ps: TestPeer[]) => ps.forEach((p) => p.close());

describe("joining and ranking", () => {
  it("two peers: the second learns of the first, with its bitfield and proximity", async () => {
    const root = randomRoot();
    const a = await join(root, { location: { asn: 3215, country: "FR", ...PARIS }, have: [0, 1, 2] });
    const b = await join(root, { location: { asn: 3215, country: "FR", ...PARIS } });
    const peers = await b.want([1]);
    expect(peers).toEqual([{ peerId: a.peerId, kind: "browser", have: encodeBitfield([0, 1, 2], 64), proximity: "asn", distanceKm: 0 }]);
    // The holder does not get itself back, and b holds nothing.
    expect(await a.want([1])).toEqual([]);
    closeAll([a, b]);
  });

  it("welcome reports the swarm, shard and member count", async () => {
    const root = randomRoot();
    const a = await join(root, { location: { continent: "EU" } });
    const b = await open(root, { location: { continent: "EU" } });
    b.send({ type: "hello", version: PROTOCOL_VERSION, peerId: b.peerId, kind: "browser", have: "", uploadSlots: 1 });
    expect(await b.take("welcome")).toEqual({ type: "welcome", version: PROTOCOL_VERSION, peerId: b.peerId, root, shard: "EU", peers: 2 });
    closeAll([a, b]);
  });

  it("twenty peers with fake cf locations get correctly ranked answers", async () => {
    const root = randomRoot();
    const me = { asn: 3215, colo: "CDG", country: "FR", continent: "EU", ...PARIS };
    // 20 holders in four proximity classes (same continent shard), plus 3 that cannot serve.
    const specs = [
      ...Array.from({ length: 4 }, () => ({ cls: "asn", location: { asn: 3215, colo: "MRS", country: "FR", continent: "EU" } })),
      ...Array.from({ length: 4 }, () => ({ cls: "colo", location: { asn: 1, colo: "CDG", country: "FR", continent: "EU" } })),
      ...Array.from({ length: 4 }, () => ({ cls: "country", location: { asn: 2, colo: "LYS", country: "FR", continent: "EU" } })),
      { cls: "london", location: { asn: 3, country: "GB", continent: "EU", ...LONDON } },
      { cls: "berlin", location: { asn: 4, country: "DE", continent: "EU", ...BERLIN } },
      { cls: "madrid", location: { asn: 5, country: "ES", continent: "EU", ...MADRID } },
      ...Array.from({ length: 5 }, () => ({ cls: "unknown", location: { continent: "EU" } })),
    ];
    expect(specs.length).toBe(20);
    const holders = await Promise.all(specs.map((s) => join(root, { location: s.location, have: [5, 6] })));
    const clsOf = new Map(holders.map((h, i) => [h.peerId, specs[i]!.cls]));
    const noSlots = await join(root, { location: { asn: 3215, continent: "EU" }, have: [5], uploadSlots: 0 });
    const other = await join(root, { location: { asn: 3215, continent: "EU" }, have: [9] });
    const super1 = await join(root, { location: { asn: 3215, continent: "EU" }, have: [5, 6], kind: "supernode" });
    const requester = await join(root, { location: me });

    const peers = await requester.want([5]);
    expect(peers.length).toBe(21);
    const classes = peers.map((p) => clsOf.get(p.peerId) ?? (p.peerId === super1.peerId ? "super" : "?"));
    expect(classes).toEqual([
      "asn", "asn", "asn", "asn", "colo", "colo", "colo", "colo", "country", "country", "country", "country",
      "london", "berlin", "madrid", "unknown", "unknown", "unknown", "unknown", "unknown", "super",
    ]);
    expect(peers.map((p) => p.proximity).slice(0, 13)).toEqual([...Array(4).fill("asn"), ...Array(4).fill("colo"), ...Array(4).fill("country"), "distance"]);
    expect(peers[12]!.distanceKm).toBeGreaterThan(300);
    expect(peers.some((p) => p.peerId === noSlots.peerId || p.peerId === other.peerId)).toBe(false);
    expect(peers.at(-1)).toMatchObject({ peerId: super1.peerId, kind: "supernode" });

    // max is honoured; ties among the 4 same-ASN peers spread across answers.
    const firsts = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const top = await requester.want([5], 2);
      expect(top.length).toBe(2);
      expect(top.every((p) => clsOf.get(p.peerId) === "asn")).toBe(true);
      firsts.add(top[0]!.peerId);
    }
    expect(firsts.size).toBeGreaterThan(1);
    closeAll([...holders, noSlots, other, super1, requester]);
  });

  it("have updates are reflected in later answers, and a wanter waiting for a chunk hears peer-have", async () => {
    const root = randomRoot();
    const seeder = await join(root, { have: [] });
    const leecher = await join(root);
    expect(await leecher.want([3])).toEqual([]);
    seeder.send({ type: "have", chunks: [3, 4] });
    expect(await leecher.take("peer-have")).toEqual({ type: "peer-have", peerId: seeder.peerId, chunks: [3, 4] });
    const peers = await leecher.want([3]);
    expect(peers.map((p) => p.peerId)).toEqual([seeder.peerId]);
    expect(decodeBitfield(peers[0]!.have, 64)).toEqual([3, 4]);
    // A have that sets uploadSlots to 0 takes the seeder out of answers.
    seeder.send({ type: "have", chunks: [], uploadSlots: 0 });
    await seeder.want([99]); // round-trip: the have above is processed
    expect(await leecher.want([3])).toEqual([]);
    closeAll([seeder, leecher]);
  });
});

describe("peer-have goes to waits for unserved chunks, once", () => {
  it("a want answered with holders waits for nothing; an unserved chunk's first holder is news, its second is not", async () => {
    const root = randomRoot();
    const first = await join(root, { have: [1] });
    const second = await join(root);
    const third = await join(root);
    const leecher = await join(root);
    // 1 has a holder (no wait), 2 has none (a wait), 9 likewise; an "any chunk" want that finds
    // somebody waits for nothing either.
    expect((await leecher.want([1, 2, 9])).map((p) => p.peerId)).toEqual([first.peerId]);
    first.send({ type: "have", chunks: [2] });
    expect(await leecher.take("peer-have")).toEqual({ type: "peer-have", peerId: first.peerId, chunks: [2] });
    // 2 is settled: a second holder of 2 is found by the next want, not pushed; 9 still waits.
    second.send({ type: "have", chunks: [2] });
    third.send({ type: "have", chunks: [9] });
    expect(await leecher.take("peer-have")).toEqual({ type: "peer-have", peerId: third.peerId, chunks: [9] });
    // 1 never waited: a new holder of it sends nothing (round trip on the leecher's own socket first).
    second.send({ type: "have", chunks: [1] });
    await second.want([63]);
    expect((await leecher.want([1])).length).toBe(2);
    expect(leecher.inbox.filter((m) => m.type === "peer-have")).toEqual([]); // only the two taken above
    closeAll([first, second, third, leecher]);
  });

  it("an \"any chunk\" want that finds nobody waits for the first holder of anything", async () => {
    const root = randomRoot();
    const leecher = await join(root);
    expect(await leecher.want()).toEqual([]);
    const seeder = await join(root, { have: [4, 5] }); // its hello announces the chunks
    expect(await leecher.take("peer-have")).toEqual({ type: "peer-have", peerId: seeder.peerId, chunks: [4, 5] });
    closeAll([seeder, leecher]);
  });
});

describe("signals", () => {
  it("relays a signal to exactly the target, with from", async () => {
    const root = randomRoot();
    const [a, b, c] = [await join(root), await join(root), await join(root)];
    const data = { description: { type: "offer" as const, sdp: "v=0\r\n" } };
    a.send({ type: "signal", to: b.peerId, data });
    expect(await b.take("signal")).toEqual({ type: "signal", from: a.peerId, data });
    b.send({ type: "signal", to: a.peerId, data: { candidate: { candidate: "candidate:1 1 udp 1 10.0.0.1 9 typ host", sdpMid: "0" } } });
    expect((await a.take("signal")).from).toBe(b.peerId);
    // c saw nothing (a round-trip on c proves its inbox is up to date).
    await c.want([0]);
    expect(c.inbox.filter((m) => m.type === "signal")).toEqual([]);
    expect(a.inbox.filter((m) => m.type === "signal")).toEqual([]);
    closeAll([a, b, c]);
  });

  it("answers peer-gone for a target that left or never was", async () => {
    const root = randomRoot();
    const a = await join(root);
    const b = await join(root, { have: [0] });
    expect((await a.want([0])).map((p) => p.peerId)).toEqual([b.peerId]); // told: it hears the leave
    b.send({ type: "bye" });
    expect((await a.take("peer-left")).peerId).toBe(b.peerId);
    a.send({ type: "signal", to: b.peerId, data: { candidate: null } });
    // The message names the target: the SDK's diagnose() attributes the refusal by it (peer-mesh.ts).
    expect(await a.error("peer-gone")).toMatchObject({ ref: "signal", message: expect.stringContaining(b.peerId) });
    a.send({ type: "signal", to: "nobody-here-123", data: { candidate: null } });
    await a.error("peer-gone");
    // A peer that connected but has not said hello is not a member either.
    const c = await open(root);
    a.send({ type: "signal", to: c.peerId, data: { candidate: null } });
    await a.error("peer-gone");
    closeAll([a, c]);
  });
});

describe("leaving", () => {
  it("tells the others peer-left when a socket closes, and drops it from answers and stats", async () => {
    const root = randomRoot();
    const a = await join(root, { have: [0] });
    const b = await join(root);
    const c = await join(root);
    for (const p of [b, c]) expect((await p.want([0])).map((e) => e.peerId)).toEqual([a.peerId]); // both told of a
    a.close();
    expect((await b.take("peer-left")).peerId).toBe(a.peerId);
    expect((await c.take("peer-left")).peerId).toBe(a.peerId);
    expect(await b.want([0])).toEqual([]);
    expect(await swarmStub(root).stats()).toMatchObject({ peersOnline: 2, chunksHeld: 0 });
    closeAll([b, c]);
  });

  it("duplicate peer id: the newer connection wins, the older gets duplicate-peer and 1008", async () => {
    const root = randomRoot();
    const other = await join(root);
    const old = await join(root, { have: [1] });
    const fresh = await join(root, { peerId: old.peerId, have: [2] });
    await old.error("duplicate-peer");
    expect((await old.waitClosed()).code).toBe(1008);
    // The swarm still has exactly one member with that id, holding what the new hello said,
    // and nobody was told it left.
    const peers = await other.want([1, 2]);
    expect(peers.map((p) => [p.peerId, decodeBitfield(p.have, 64)])).toEqual([[old.peerId, [2]]]);
    expect(other.inbox.some((m) => m.type === "peer-left")).toBe(false);
    // Signals reach the new socket.
    other.send({ type: "signal", to: fresh.peerId, data: { candidate: null } });
    expect((await fresh.take("signal")).from).toBe(other.peerId);
    expect((await swarmStub(root).stats()).peersOnline).toBe(2);
    closeAll([other, fresh]);
  });
});
