/**
 * Bounded `peer-left` fan-out (durable/leave-audience.ts): a member hears `peer-left` for X only
 * when it was told about X — a `peers` answer, a `peer-have`, a relayed signal — within its last
 * `leaveAudienceCap` tells, or X joined before the instance woke. Absence is checked after a round trip on the
 * same socket: the object handles one event at a time and sends in order, so a `peer-left` caused
 * by an earlier leave would already be in the inbox.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LeaveAudience } from "../../durable/leave-audience";
import { SwarmCoordinator } from "../../durable/swarm-coordinator";
import { join, randomRoot, swarmStub, type TestPeer } from "./helpers";

const leftIds = (p: TestPeer) => p.inbox.filter((m) => m.type === "peer-left").map((m) => (m as { peerId: string }).peerId);
/** A round trip on `p` (no holder of chunk 63 exists), after which earlier frames have arrived. */
const sync = async (p: TestPeer) => expect(await p.want([63])).toEqual([]);

describe("peer-left goes to whoever was told of the leaver", () => {
  it("a member never told about X gets no peer-left for X; one told in a peers answer does", async () => {
    const root = randomRoot();
    const x = await join(root, { have: [0] });
    const told = await join(root);
    const stranger = await join(root);
    expect((await told.want([0])).map((p) => p.peerId)).toEqual([x.peerId]);
    x.send({ type: "bye" });
    expect((await told.take("peer-left")).peerId).toBe(x.peerId);
    await sync(stranger);
    expect(leftIds(stranger)).toEqual([]);
    // The stranger's safety net is unchanged: a signal to the gone peer gets the explicit error.
    stranger.send({ type: "signal", to: x.peerId, data: { candidate: null } });
    expect(await stranger.error("peer-gone")).toMatchObject({ ref: "signal" });
    told.close();
    stranger.close();
  });

  it("a peer told only by peer-have hears the leave; so does the target of a signal", async () => {
    const root = randomRoot();
    const leecher = await join(root);
    const callee = await join(root);
    expect(await leecher.want([3])).toEqual([]); // a recent wanter, told nothing yet
    const seeder = await join(root, { have: [3] }); // its hello announces chunk 3 → peer-have
    expect(await leecher.take("peer-have")).toMatchObject({ peerId: seeder.peerId, chunks: [3] });
    seeder.send({ type: "signal", to: callee.peerId, data: { candidate: null } });
    expect((await callee.take("signal")).from).toBe(seeder.peerId);
    seeder.close();
    expect((await leecher.take("peer-left")).peerId).toBe(seeder.peerId);
    expect((await callee.take("peer-left")).peerId).toBe(seeder.peerId);
    // The leecher was never told of the callee: no peer-left for it.
    callee.close();
    await sync(leecher);
    expect(leftIds(leecher)).toEqual([]);
    leecher.close();
  });

  it("past the cap a member keeps its most recently told peers; an evicted one's signal still gets peer-gone", async () => {
    const root = randomRoot();
    const [h0, h1, h2] = [await join(root, { have: [1] }), await join(root, { have: [2] }), await join(root, { have: [3] })];
    const greedy = await join(root);
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      inst.limits = { ...inst.limits, leaveAudienceCap: 2 };
    });
    for (const [c, h] of [[1, h0], [2, h1], [3, h2]] as const) expect((await greedy.want([c])).map((p) => p.peerId)).toEqual([h.peerId]);
    // Told of h0, h1, h2 in that order with room for 2: h0 was pushed out of greedy's record.
    h0.close();
    await sync(greedy);
    expect(leftIds(greedy)).toEqual([]);
    greedy.send({ type: "signal", to: h0.peerId, data: { candidate: null } });
    expect(await greedy.error("peer-gone")).toMatchObject({ ref: "signal" });
    h1.close();
    h2.close();
    const heard = [(await greedy.take("peer-left")).peerId, (await greedy.take("peer-left")).peerId];
    expect(heard.sort()).toEqual([h1.peerId, h2.peerId].sort()); // two sockets' closes: either order
    greedy.close();
  });

  it("after a simulated wake (fresh instance, no record), members that joined before are broadcast on leave", async () => {
    const root = randomRoot();
    const a = await join(root);
    const b = await join(root);
    const c = await join(root);
    await runInDurableObject(swarmStub(root), async (_old: SwarmCoordinator, state) => {
      const fresh = new SwarmCoordinator(state, env); // empty memory: who was told what is unknown
      await fresh.webSocketClose(state.getWebSockets(`peer:${c.peerId}`)[0]!, 1000, "bye", true);
    });
    // Nobody was told of c, but the fresh instance cannot know that: safe side, everyone hears it.
    expect((await a.take("peer-left")).peerId).toBe(c.peerId);
    expect((await b.take("peer-left")).peerId).toBe(c.peerId);
    a.close();
    b.close();
  });
});

describe("LeaveAudience (the record)", () => {
  it("stays within 5 · cap entries per member under many wants, and forgets leavers both ways", () => {
    const cap = 16;
    const aud = new LeaveAudience(() => cap);
    const ids = Array.from({ length: 200 }, (_, i) => `p${i}`);
    for (const id of ids) aud.joined(id, false);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // 200 members × 50 wants of 10 random peers: 100,000 tells.
    for (let w = 0; w < 50; w++) for (const r of ids) for (let k = 0; k < 10; k++) aud.tell(r, ids[Math.floor(rnd() * ids.length)]!);
    const s = aud.size();
    // Rings ≤ cap per member; each subject's list ≤ 2 · max(cap, live audience) + 1, and the live
    // audiences sum to ≤ cap per member: ≤ 5 · cap entries per member in all.
    expect(s.entries).toBeLessThanOrEqual(5 * cap * ids.length);
    expect(s.entries).toBeGreaterThan(cap * ids.length); // (rings did fill up)
    expect(s.recipients).toBeLessThanOrEqual(ids.length);
    for (const id of ids) aud.leave(id);
    expect(aud.size()).toEqual({ entries: 0, recipients: 0, subjects: 0 });
  });

  it("answers exactly the told recipients; a same-id reconnect keeps them; members it did not see join are 'all'", () => {
    const aud = new LeaveAudience(() => 8);
    aud.joined("x", false);
    aud.joined("r1", false);
    aud.tell("r1", "x");
    aud.tell("r2", "x"); // r2 joined before this instance (inherited), told since
    aud.joined("x", true); // x reconnects with the same id: it did not leave
    expect([...(aud.leave("x") as string[])].sort()).toEqual(["r1", "r2"]);
    aud.joined("old", true); // reconnect of a member inherited from before the wake
    aud.tell("r1", "old");
    expect(aud.leave("old")).toBe("all");
    expect(aud.leave("r2")).toBe("all");
    expect([...(aud.leave("r1") as string[])]).toEqual([]);
  });

  it("keeps the subjects of the last cap tells (being told again keeps one)", () => {
    const aud = new LeaveAudience(() => 2);
    for (const id of ["r", "a", "b", "c"]) aud.joined(id, false);
    aud.tell("r", "a");
    aud.tell("r", "b");
    aud.tell("r", "a"); // ring [a, b] → [a (again), b]: b is now the oldest tell…
    aud.tell("r", "c"); // …so c overwrites it: ring [a, c]
    expect([...(aud.leave("b") as string[])]).toEqual([]);
    expect([...(aud.leave("a") as string[])]).toEqual(["r"]);
    expect([...(aud.leave("c") as string[])]).toEqual(["r"]);
  });

  it("a peer id that leaves and joins again starts a new audience (old ring slots never touch it)", () => {
    const aud = new LeaveAudience(() => 2);
    for (const id of ["r", "q", "x"]) aud.joined(id, false);
    aud.tell("r", "x");
    expect([...(aud.leave("x") as string[])]).toEqual(["r"]);
    aud.joined("x", false);
    aud.tell("q", "x");
    aud.tell("r", "q");
    aud.tell("r", "q"); // r's ring: the old x slot is overwritten here
    expect([...(aud.leave("x") as string[])]).toEqual(["q"]);
  });
});
