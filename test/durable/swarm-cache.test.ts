/**
 * The coordinator's in-memory caches (durable/peer-directory.ts, the attachment cache and the
 * encoded `peers` entries in durable/swarm.ts) against their invalidation paths: every change a peer
 * makes shows in the next answer, leavers vanish everywhere, a replaced socket is forgotten, a fresh
 * instance rebuilds the same view from attachments + SQLite, and the volatile fields that are not
 * written per frame are written when they must be.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SwarmCoordinator } from "../../durable/swarm-coordinator";
import type { SocketState } from "../../durable/socket-state";
import { decodeBitfield } from "../../protocol/swarm-protocol";
import { join, open, openObject, randomRoot, swarmStub } from "./helpers";

const attachment = (root: string, peerId: string) =>
  runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) => state.getWebSockets(`peer:${peerId}`)[0]!.deserializeAttachment() as SocketState);

describe("coordinator caches", () => {
  it("a have after an answer changes the next answer's bitfield (encoded entry dropped)", async () => {
    const root = randomRoot();
    const holder = await join(root, { have: [0] });
    const asker = await join(root);
    const first = await asker.want([0, 3]);
    expect(decodeBitfield(first[0]!.have, 8)).toEqual([0]);
    holder.send({ type: "have", chunks: [3, 4] });
    await asker.take("peer-have"); // asker wanted recently, and lacks 3 and 4
    const second = await asker.want([0, 3]);
    expect(second.map((p) => p.peerId)).toEqual([holder.peerId]);
    expect(decodeBitfield(second[0]!.have, 8)).toEqual([0, 3, 4]);
    // The assembled frame is what the shared encoder would produce (the client parser took it).
    expect(asker.raw.at(-1)).toBe(JSON.stringify({ type: "peers", peers: second }));
    // Upload slots going to 0 (an in-place update of the cached member) removes it from answers.
    holder.send({ type: "have", chunks: [], uploadSlots: 0 });
    await holder.want([9]); // round-trip: the have was processed
    expect(await asker.want([0])).toEqual([]);
    holder.close();
    asker.close();
  });

  it("a peer that leaves is gone from answers and signals; peer-left only to whoever was told of it; non-members hear nothing", async () => {
    const root = randomRoot();
    const a = await join(root, { have: [1] });
    const b = await join(root, { have: [1] });
    const c = await join(root);
    const lurker = await open(root); // connected, never said hello
    expect((await c.want([1])).map((p) => p.peerId).sort()).toEqual([a.peerId, b.peerId].sort());
    a.send({ type: "bye" });
    expect((await a.waitClosed()).code).toBe(1000);
    expect((await c.take("peer-left")).peerId).toBe(a.peerId);
    // b was never told about a (leave-audience.ts): the round trip orders it after a's leave.
    expect(await b.want([99])).toEqual([]);
    expect(b.inbox.filter((m) => m.type === "peer-left")).toEqual([]);
    expect((await c.want([1])).map((p) => p.peerId)).toEqual([b.peerId]);
    c.send({ type: "signal", to: a.peerId, data: { candidate: null } });
    expect((await c.error("peer-gone")).ref).toBe("signal");
    // A closed (not bye) member leaves the same way.
    b.close();
    expect((await c.take("peer-left")).peerId).toBe(b.peerId);
    expect(await c.want([1])).toEqual([]);
    expect(lurker.inbox.filter((m) => m.type === "peer-left")).toEqual([]);
    expect((await swarmStub(root).stats()).peersOnline).toBe(1);
    c.close();
    lurker.close();
  });

  it("a reconnect with the same peer id replaces the cached socket and bitfield", async () => {
    const root = randomRoot();
    const other = await join(root);
    const old = await join(root, { have: [1, 2] });
    expect(decodeBitfield((await other.want([1]))[0]!.have, 8)).toEqual([1, 2]);
    const fresh = await join(root, { peerId: old.peerId, have: [2, 5] });
    expect((await old.waitClosed()).code).toBe(1008);
    const answer = await other.want([1, 2, 5]);
    expect(answer.map((p) => p.peerId)).toEqual([old.peerId]);
    expect(decodeBitfield(answer[0]!.have, 8)).toEqual([2, 5]);
    other.send({ type: "signal", to: fresh.peerId, data: { candidate: null } });
    expect((await fresh.take("signal")).from).toBe(other.peerId);
    expect(other.inbox.filter((m) => m.type === "peer-left")).toEqual([]); // it did not leave
    expect((await swarmStub(root).stats()).peersOnline).toBe(2);
    other.close();
    fresh.close();
  });

  it("a fresh instance rebuilds members and sockets from attachments + SQLite; waits are registered again by the next want", async () => {
    const root = randomRoot();
    const holder = await join(root, { have: [0], location: { country: "NL" } });
    const wanter = await join(root, { location: { country: "NL" } });
    const idle = await join(root);
    await wanter.want([0, 6]); // nobody holds 6: the wanter waits for it (its lastWantAt reaches the attachment: first want)
    holder.send({ type: "have", chunks: [6] });
    expect(await wanter.take("peer-have")).toMatchObject({ peerId: holder.peerId, chunks: [6] });
    // A `have` reaches SQLite with the flush alarm it armed (statsFlushMs), as it does before any real
    // eviction (≥ 10 s idle); run that alarm now, then replace the instance.
    expect(await runDurableObjectAlarm(swarmStub(root))).toBe(true);
    await runInDurableObject(swarmStub(root), async (_old: SwarmCoordinator, state) => {
      const fresh = new SwarmCoordinator(state, env); // empty caches
      const wsOf = (id: string) => state.getWebSockets(`peer:${id}`)[0]!;
      // Waits are memory only: the wanter's want after the wake registers 7 (nobody holds it) again.
      await fresh.webSocketMessage(wsOf(wanter.peerId), JSON.stringify({ type: "want", chunks: [7] }));
      await fresh.webSocketMessage(wsOf(holder.peerId), JSON.stringify({ type: "have", chunks: [7] }));
      await fresh.webSocketMessage(wsOf(idle.peerId), JSON.stringify({ type: "want", chunks: [6, 7] }));
    });
    // The rebuilt members serve the wanter's wait (and the idle peer, which asked after the have, waits for nothing).
    expect(await wanter.take("peer-have")).toMatchObject({ peerId: holder.peerId, chunks: [7] });
    const answer = await idle.take("peers");
    expect(answer.peers.map((p) => [p.peerId, p.proximity])).toEqual([[holder.peerId, "unknown"]]);
    expect(decodeBitfield(answer.peers[0]!.have, 8)).toEqual([0, 6, 7]);
    expect(holder.inbox.filter((m) => m.type === "peer-have")).toEqual([]);
    holder.close();
    wanter.close();
    idle.close();
  });

  it("writes the attachment only when a durable field changes, or on the peer's first want (never per later want)", async () => {
    const root = randomRoot();
    const p = await join(root, { have: [0] });
    const t0 = 1_900_000_000_000;
    let t = t0;
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      inst.now = () => t;
    });
    const before = await attachment(root, p.peerId);
    expect(before.lastWantAt).toBe(0);
    await p.want([0]);
    expect((await attachment(root, p.peerId)).lastWantAt).toBe(t0); // "has wanted" survives eviction…
    t = t0 + 1000;
    await p.want([0]);
    t = t0 + 60_000;
    await p.want([0]);
    const mid = await attachment(root, p.peerId);
    expect(mid.lastWantAt).toBe(t0); // …and later wants do not rewrite it
    expect(mid.uploadSlots).toBe(before.uploadSlots);
    // Durable fields are written at once: upload slots and strikes.
    p.send({ type: "have", chunks: [], uploadSlots: 9 });
    p.send("not json");
    await p.error("bad-json");
    const after = await attachment(root, p.peerId);
    expect([after.uploadSlots, after.badFrames]).toEqual([9, 1]);
    p.close();
  });

  it("the socket count behind swarm-full stays exact through churn (lazy recount at the limit)", async () => {
    const root = randomRoot();
    const first = await join(root);
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      inst.limits = { ...inst.limits, maxPeers: 3 };
    });
    const peers = [first, await join(root, { have: [0] }), await join(root)];
    const refused = await openObject(root); // the object itself (the route would spill to XX~1)
    await refused.error("swarm-full");
    // Two leave; two newcomers fit again, and the next one is refused once more.
    const third = peers[2]!;
    // third is told about both (peer-left goes only to members told of the leaver).
    expect(await third.want([0])).toHaveLength(1);
    third.send({ type: "signal", to: first.peerId, data: { candidate: null } });
    await first.take("signal");
    peers[0]!.close();
    peers[1]!.close();
    await third.take("peer-left");
    await third.take("peer-left");
    const n1 = await join(root);
    const n2 = await join(root);
    const refusedAgain = await openObject(root);
    await refusedAgain.error("swarm-full");
    expect((await refusedAgain.waitClosed()).code).toBe(1013);
    expect((await swarmStub(root).stats()).peersOnline).toBe(3);
    for (const p of [third, n1, n2]) p.close();
  });

  it("batches have frames: no SQLite write per frame; the chunk set is written by the flush alarm", async () => {
    const root = randomRoot();
    const p = await join(root, { have: [0] });
    const asker = await join(root);
    const stored = () => runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) => {
      const rows = state.storage.sql.exec<{ have: ArrayBuffer }>("SELECT have FROM peers WHERE peer_id = ?", p.peerId).toArray();
      return rows.length === 0 ? null : decodeBitfield(btoa(String.fromCharCode(...new Uint8Array(rows[0]!.have))), 64);
    });
    for (let i = 1; i <= 5; i++) p.send({ type: "have", chunks: [i] });
    await p.want(); // a round trip on the same socket: every have above was handled
    // Answers see every have at once (memory)…
    expect(decodeBitfield((await asker.want([5]))[0]!.have, 64)).toEqual([0, 1, 2, 3, 4, 5]);
    // …SQLite holds no row yet: the hello's row is batched like the haves, until the flush alarm the hello armed.
    expect(await stored()).toBeNull();
    expect(await runDurableObjectAlarm(swarmStub(root))).toBe(true);
    expect(await stored()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("buffers stats frames (no SQLite write per frame) and flushes them on the alarm it arms and in stats()", async () => {
    const root = randomRoot();
    const t0 = await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => inst.now());
    const a = await join(root);
    const b = await join(root);
    const rows = () => runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) => state.storage.sql.exec("SELECT count(*) AS n FROM peer_stats").one().n);
    a.send({ type: "stats", fromPeers: 10, fromEdge: 20, uploaded: 1 });
    a.send({ type: "stats", fromPeers: 30, fromEdge: 5, uploaded: 2 }); // merged: max per field
    b.send({ type: "stats", fromPeers: 1, fromEdge: 1, uploaded: 1 });
    await a.want([0]);
    await b.want([0]); // round-trips: all three frames handled
    expect(await rows()).toBe(0);
    // The joins (rows batched) and the first buffered frame armed a flush alarm within statsFlushMs (earlier than the 120 s maintenance).
    const alarm = await runInDurableObject(swarmStub(root), async (inst: SwarmCoordinator, state) => ({ t: await state.storage.getAlarm(), t1: inst.now(), flushMs: inst.limits.statsFlushMs }));
    expect(alarm.t).not.toBeNull();
    expect(alarm.t!).toBeGreaterThanOrEqual(t0 + alarm.flushMs);
    expect(alarm.t!).toBeLessThanOrEqual(alarm.t1 + alarm.flushMs);
    expect(await runDurableObjectAlarm(swarmStub(root))).toBe(true);
    expect(await rows()).toBe(2);
    // The flush alarm kept the maintenance schedule (re-armed while sockets remain).
    expect(await runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) => state.storage.getAlarm())).not.toBeNull();
    // stats() flushes what is still buffered before it reads the totals.
    b.send({ type: "stats", fromPeers: 4, fromEdge: 1, uploaded: 1 });
    await b.want([0]);
    expect((await swarmStub(root).stats()).bytes).toEqual({ fromPeers: 34, fromEdge: 21, uploaded: 3 });
    a.close();
    b.close();
  });
});
