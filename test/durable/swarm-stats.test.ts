import { exports } from "cloudflare:workers";
import { runInDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SwarmCoordinator, SwarmStats } from "../../durable/swarm-coordinator";
import { join, randomRoot, swarmStub } from "./helpers";

const getStats = async (root: string, query = ""): Promise<SwarmStats> => {
  const res = await exports.default.fetch(`https://edge.test/swarm/${root}/stats${query}`);
  expect(res.status).toBe(200);
  return res.json();
};

describe("stats()", () => {
  it("equals what the peers reported (max per peer), with chunk availability and offload", async () => {
    const root = randomRoot();
    const a = await join(root, { have: [0, 1, 2] });
    const b = await join(root, { have: [2, 3] });
    const s = await join(root, { have: [0, 1, 2, 3, 4], kind: "supernode" });
    const c = await join(root);
    a.send({ type: "stats", fromPeers: 1000, fromEdge: 500, uploaded: 200 });
    a.send({ type: "stats", fromPeers: 900, fromEdge: 600, uploaded: 100 }); // late/out-of-order: max kept per field
    b.send({ type: "stats", fromPeers: 3000, fromEdge: 0, uploaded: 4000 });
    s.send({ type: "stats", fromPeers: 0, fromEdge: 0, uploaded: 9000 });
    c.send({ type: "stats", fromPeers: 0, fromEdge: 0, uploaded: 0 });
    for (const p of [a, b, s, c]) await p.want([99]); // round-trips: every stats frame handled
    expect((await b.want([0])).map((p) => p.peerId).sort()).toEqual([a.peerId, s.peerId].sort()); // b hears their leaves

    const expected = {
      root, shard: "XX", peersOnline: 4, browsers: 3, supernodes: 1,
      chunksHeld: 5, chunkCopies: 3 + 2 + 5,
      bytes: { fromPeers: 4000, fromEdge: 600, uploaded: 13200 },
      offload: 4000 / 4600,
    };
    expect(await swarmStub(root).stats()).toEqual(expected);
    // The route sums the shard's sub-shards (one in use here) and says how many it summed.
    expect(await getStats(root)).toEqual({ ...expected, subshards: 1 }); // default shard of a caller without cf: "XX"
    expect(await getStats(root, "?shard=XX")).toEqual({ ...expected, subshards: 1 });

    // Peers leave: availability follows, byte totals stay.
    a.close();
    await b.take("peer-left");
    expect(await swarmStub(root).stats()).toMatchObject({ peersOnline: 3, chunksHeld: 5, chunkCopies: 7, bytes: expected.bytes });
    s.close();
    await b.take("peer-left");
    expect(await swarmStub(root).stats()).toMatchObject({ peersOnline: 2, supernodes: 0, chunksHeld: 2, chunkCopies: 2, bytes: expected.bytes });
    b.close();
    c.close();
  });

  it("rolls counters of long-gone peers into the totals without changing the figures", async () => {
    const root = randomRoot();
    const a = await join(root);
    const b = await join(root);
    a.send({ type: "stats", fromPeers: 10, fromEdge: 20, uploaded: 30 });
    b.send({ type: "stats", fromPeers: 1, fromEdge: 2, uploaded: 3 });
    await a.want([1]);
    await b.want([1]);
    b.send({ type: "signal", to: a.peerId, data: { candidate: null } }); // b now knows a, so it hears a's leave
    await a.take("signal");
    a.close();
    await b.take("peer-left");
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      const t0 = Date.now();
      inst.now = () => t0 + 2 * 3_600_000; // past the 1 h retention
    });
    expect(await runDurableObjectAlarm(swarmStub(root))).toBe(true);
    const rows = await runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) =>
      state.storage.sql.exec<{ peer_id: string }>("SELECT peer_id FROM peer_stats").toArray().map((r) => r.peer_id));
    expect(rows).toEqual([b.peerId]); // a folded into totals, b is online and kept
    expect((await swarmStub(root).stats()).bytes).toEqual({ fromPeers: 11, fromEdge: 22, uploaded: 33 });
    b.close();
  });

  it("reports zeros for a shard nobody joined, and rejects bad parameters", async () => {
    const root = randomRoot();
    expect(await getStats(root, "?shard=AF")).toEqual({
      root, shard: "AF", peersOnline: 0, browsers: 0, supernodes: 0, chunksHeld: 0, chunkCopies: 0,
      bytes: { fromPeers: 0, fromEdge: 0, uploaded: 0 }, offload: 0, subshards: 0,
    });
    expect((await exports.default.fetch(`https://edge.test/swarm/${root}/stats?shard=../x`)).status).toBe(400);
    expect((await exports.default.fetch(`https://edge.test/swarm/XYZ/stats`)).status).toBe(400);
  });

  it("writes no storage for an object nobody joined (stats route, stats() and summary() RPCs)", async () => {
    const root = randomRoot();
    // Tables in the object's SQLite other than the runtime's own (`_cf_…`).
    const tables = () => runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\'").toArray().map((r) => r.name));
    expect((await getStats(root)).peersOnline).toBe(0);
    expect(await swarmStub(root).stats()).toMatchObject({ root: "", peersOnline: 0, bytes: { fromPeers: 0, fromEdge: 0, uploaded: 0 } });
    expect((await swarmStub(root).summary()).spilled).toBe(false);
    expect(await runDurableObjectAlarm(swarmStub(root))).toBe(false); // and arms no alarm
    expect(await tables()).toEqual([]);
    // The first join creates the schema; the figures are as before.
    const a = await join(root, { have: [1] });
    expect(await swarmStub(root).stats()).toMatchObject({ root, peersOnline: 1, chunksHeld: 1 });
    expect(await tables()).toEqual(expect.arrayContaining(["meta", "peers", "peer_stats", "totals"]));
    a.close();
  });
});
