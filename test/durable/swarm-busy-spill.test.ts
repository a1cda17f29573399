/**
 * Spill-over when busy (durable/spill-budget.ts + subshards.ts): an object with room but its
 * request budget spent answers a spill-allowed join 503 with X-Swarm-Busy, the Worker widens the
 * spread and places the peer in the next sub-shard; the last object tried (or one reached after
 * MAX_BUSY_HOPS busy answers) takes the peer anyway; a reconnecting member is never sent away.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { buildConnectRequest } from "../../durable/connect-request";
import { SpillBudget } from "../../durable/spill-budget";
import { BUSY_HEADER, SpillHints, connectSpilling } from "../../durable/subshards";
import type { SwarmCoordinator } from "../../durable/swarm-coordinator";
import { swarmObjectName } from "../../protocol/collection";
import { randomPeerId, randomRoot, TEST_ITEM } from "./helpers";

const grant = { ...TEST_ITEM, supernode: false };
const stubOf = (root: string, name: string) => env.SWARM.get(env.SWARM.idFromName(swarmObjectName(root, name)));
/** Two joins at once per object (cost 5 of 10), so the third in a burst finds it busy. */
const tightBudget = (root: string, name: string) =>
  runInDurableObject(stubOf(root, name), (inst: SwarmCoordinator) => {
    inst.spillBudget = new SpillBudget({ frameBudget: 10, joinCost: 5, minSockets: 0 });
  });

describe("busy sub-shards", () => {
  it("a busy object answers a spill-allowed join 503 + X-Swarm-Busy without a socket; the join lands in the next sub-shard", async () => {
    const root = randomRoot();
    for (const name of ["XX", "XX~1", "XX~2"]) await tightBudget(root, name);
    const hints = new SpillHints();
    const now = Date.now();
    const sockets: WebSocket[] = [];
    const place = async (peerId: string) => {
      const r = await connectSpilling({ ns: env.SWARM, root, shard: "XX", peerId, location: {}, grant, max: 16, hints, now });
      expect(r.response.status).toBe(101);
      const ws = r.response.webSocket!;
      ws.accept();
      sockets.push(ws);
      return r;
    };
    expect((await place(randomPeerId())).k).toBe(0);
    expect((await place(randomPeerId())).k).toBe(0);
    // Third join: XX is busy (2 × 5 of 10 charged) though far from full → XX~1, the spread widens.
    const third = await place(randomPeerId());
    expect(third.hops).toBeGreaterThanOrEqual(1);
    expect(hints.spreadEnd(`${root}:XX`, now)).toBeGreaterThanOrEqual(2);
    expect(hints.start(`${root}:XX`, now)).toBe(0); // busy is not full: the start stays
    // The object itself: a spill-allowed, busy-ok request gets the plain 503; a spill-allowed but
    // not busy-ok one (after MAX_BUSY_HOPS) and the last hop get a socket.
    const direct = (busyOk: boolean, spill = true) =>
      stubOf(root, "XX").fetch(buildConnectRequest({ peerId: randomPeerId(), root, shard: "XX", location: {}, grant, spill, busyOk }));
    const busy = await direct(true);
    expect(busy.status).toBe(503);
    expect(busy.headers.get(BUSY_HEADER)).toBe("1");
    expect(busy.webSocket).toBeNull();
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe("swarm-busy");
    for (const r of [await direct(false), await direct(false, false)]) {
      expect(r.status).toBe(101);
      r.webSocket!.accept();
      sockets.push(r.webSocket!);
    }
    // The busy answer marked XX as spilled, so the stats sum looks at its sub-shards.
    const spilled = await runInDurableObject(stubOf(root, "XX"), (inst: SwarmCoordinator) => inst.summary());
    expect(spilled.spilled).toBe(true);
    for (const ws of sockets) ws.close(1000, "test done");
  });

  it("a burst of joins to a small swarm stays in one object (the deployed budget's minimum size)", async () => {
    const root = randomRoot();
    const hints = new SpillHints();
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await connectSpilling({ ns: env.SWARM, root, shard: "XX", peerId: randomPeerId(), location: {}, grant, max: 16, hints });
      expect({ status: r.response.status, k: r.k }).toEqual({ status: 101, k: 0 });
      r.response.webSocket!.accept();
      sockets.push(r.response.webSocket!);
    }
    for (const ws of sockets) ws.close(1000, "test done");
  });

  it("with one sub-shard (spill-over off) a busy object still takes every join", async () => {
    const root = randomRoot();
    await tightBudget(root, "XX");
    const hints = new SpillHints();
    for (let i = 0; i < 4; i++) {
      const r = await connectSpilling({ ns: env.SWARM, root, shard: "XX", peerId: randomPeerId(), location: {}, grant, max: 1, hints });
      expect({ status: r.response.status, k: r.k, hops: r.hops }).toEqual({ status: 101, k: 0, hops: 1 });
      r.response.webSocket!.accept();
      r.response.webSocket!.close(1000, "test done");
    }
  });
});
