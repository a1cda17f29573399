/**
 * Spill-over sub-shards (durable/subshards.ts): a full shard object sends newcomers on to
 * `<shard>~1`, `~2`, …; each sub-shard is its own swarm; stats per sub-shard and summed; the last
 * sub-shard refuses as before (swarm-full + close 1013); requested names are validated.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { buildConnectRequest } from "../../durable/connect-request";
import {
  HINT_TTL_MS, SPILL_WINDOW, SpillHints, connectSpilling, maxSubshardsFromEnv, parseSubshard, spillHints, spreadOffset, subshardName, walkOrder,
} from "../../durable/subshards";
import type { SwarmCoordinator, SwarmStats } from "../../durable/swarm-coordinator";
import { join, open, randomPeerId, randomRoot, swarmStub, TEST_ITEM } from "./helpers";

const grant = { ...TEST_ITEM, supernode: false };

const setMaxPeers = (root: string, shard: string, maxPeers: number) =>
  runInDurableObject(swarmStub(root, shard), (inst: SwarmCoordinator) => {
    inst.limits = { ...inst.limits, maxPeers };
  });

const getStats = async (root: string, shard: string): Promise<SwarmStats & { subshards?: number }> => {
  const res = await exports.default.fetch(`https://edge.test/swarm/${root}/stats?shard=${encodeURIComponent(shard)}`);
  expect(res.status).toBe(200);
  return res.json();
};

afterEach(() => spillHints.clear());

/** A fresh peer id whose spill-window offset is `off`. */
function idWithOffset(off: number): string {
  for (;;) {
    const id = randomPeerId();
    if (spreadOffset(id, SPILL_WINDOW) === off) return id;
  }
}

describe("sub-shard names and settings", () => {
  it("parses only names the Worker could place peers in", () => {
    expect(parseSubshard("EU", 16)).toEqual({ shard: "EU", k: 0 });
    expect(parseSubshard("EU~1", 16)).toEqual({ shard: "EU", k: 1 });
    expect(parseSubshard("EU~15", 16)).toEqual({ shard: "EU", k: 15 });
    for (const bad of ["EU~16", "EU~0", "EU~01", "EU~", "~1", "EU~1~2", "../x~1", "EU~-1", "EU~1e1", ""]) expect(parseSubshard(bad, 16)).toBeNull();
    expect(parseSubshard("EU~1", 1)).toBeNull(); // spill-over off: only the shard itself
    expect(subshardName("EU", 0)).toBe("EU");
    expect(subshardName("EU", 3)).toBe("EU~3");
  });

  it("reads MAX_SUBSHARDS with a default and a ceiling", () => {
    expect(maxSubshardsFromEnv({})).toBe(16);
    expect(maxSubshardsFromEnv({ MAX_SUBSHARDS: "4" })).toBe(4);
    expect(maxSubshardsFromEnv({ MAX_SUBSHARDS: "0" })).toBe(16);
    expect(maxSubshardsFromEnv({ MAX_SUBSHARDS: "x" })).toBe(16);
    expect(maxSubshardsFromEnv({ MAX_SUBSHARDS: "99999" })).toBe(1000);
    expect(maxSubshardsFromEnv(env)).toBe(16); // wrangler.toml
  });

  it("hints move past the hinted sub-shard only, and expire after HINT_TTL_MS", () => {
    const h = new SpillHints();
    expect(h.start("r:EU", 0)).toBe(0);
    h.full("r:EU", 0, 1000);
    h.full("r:EU", 2, 1000); // not the hinted one: sub-shard 1 may still have room
    expect(h.start("r:EU", 1000)).toBe(1);
    h.full("r:EU", 1, 1000);
    expect(h.start("r:EU", 1000 + HINT_TTL_MS - 1)).toBe(2);
    expect(h.start("r:NA", 1000)).toBe(0);
    expect(h.start("r:EU", 1000 + HINT_TTL_MS)).toBe(0);
  });

  it("walks from hint + offset up to the last sub-shard, then wraps to the hint", () => {
    expect(walkOrder(0, 0, 4)).toEqual([0, 1, 2, 3]);
    expect(walkOrder(2, 1, 6)).toEqual([3, 4, 5, 2]);
    expect(walkOrder(5, 3, 6)).toEqual([5]);
    expect(walkOrder(9, 0, 6)).toEqual([5]);
    expect(walkOrder(0, 0, 1)).toEqual([0]);
    const offsets = new Set(Array.from({ length: 200 }, () => spreadOffset(randomPeerId(), 4)));
    expect([...offsets].sort()).toEqual([0, 1, 2, 3]);
    const id = randomPeerId();
    expect(spreadOffset(id, 4)).toBe(spreadOffset(id, 4));
  });
});

describe("spill-over", () => {
  it("places the peer past a full shard in sub-shard 1, where it is ranked only among that object's peers", async () => {
    const root = randomRoot();
    const a = await join(root, { have: [0] });
    await setMaxPeers(root, "XX", 2);
    const b = await join(root, { have: [0] });
    const c = await join(root, { have: [0] });
    const d = await join(root, { peerId: idWithOffset(0) }); // spilled shard: starts at hint (1) + offset
    const e = await join(root, { peerId: idWithOffset(2) });
    expect(e.welcome?.shard).toBe("XX~3"); // arrivals spread over the window
    expect([a, b, c, d].map((p) => p.welcome?.shard)).toEqual(["XX", "XX", "XX~1", "XX~1"]);
    expect(c.welcome?.peers).toBe(1); // the first member of its object
    expect((await d.want([0])).map((p) => p.peerId)).toEqual([c.peerId]);
    expect((await a.want([0])).map((p) => p.peerId)).toEqual([b.peerId]);
    // Signals do not cross objects either.
    a.send({ type: "signal", to: c.peerId, data: { candidate: null } });
    expect((await a.error("peer-gone")).ref).toBe("signal");

    c.send({ type: "stats", fromPeers: 100, fromEdge: 50, uploaded: 7 });
    a.send({ type: "stats", fromPeers: 10, fromEdge: 40, uploaded: 1 });
    await c.want([9]);
    await a.want([9]);
    expect(await getStats(root, "XX~1")).toMatchObject({ root, shard: "XX~1", peersOnline: 2, chunksHeld: 1, chunkCopies: 1, bytes: { fromPeers: 100, fromEdge: 50, uploaded: 7 } });
    expect(await getStats(root, "XX~2")).toMatchObject({ shard: "XX~2", peersOnline: 0 }); // valid, never used
    expect(await getStats(root, "XX")).toEqual({
      // subshards: XX, XX~1 and XX~3 (e holds nothing; its object counts)
      root, shard: "XX", subshards: 3, peersOnline: 5, browsers: 5, supernodes: 0, chunksHeld: 1, chunkCopies: 3,
      bytes: { fromPeers: 110, fromEdge: 90, uploaded: 8 }, offload: 110 / 200,
    });
    for (const p of [a, b, c, d, e]) p.close();
  });

  it("starts at the hinted sub-shard, and a member's reconnect lands in its own object", async () => {
    const root = randomRoot();
    const a = await join(root);
    await setMaxPeers(root, "XX", 1);
    const hints = new SpillHints();
    const t = Date.now();
    const place = async (peerId: string, now: number) => {
      const r = await connectSpilling({ ns: env.SWARM, root, shard: "XX", peerId, location: {}, grant, max: 16, hints, now });
      expect(r.response.status).toBe(101);
      r.response.webSocket!.accept();
      r.response.webSocket!.close(1000, "test done");
      return { k: r.k, hops: r.hops };
    };
    expect(await place(randomPeerId(), t)).toEqual({ k: 1, hops: 2 }); // walked 0 → 1
    expect(await place(idWithOffset(0), t + 1)).toEqual({ k: 1, hops: 1 }); // hint: straight to 1
    expect(await place(idWithOffset(2), t + 1)).toEqual({ k: 3, hops: 1 }); // spread: hint + offset
    expect(await place(a.peerId, t + HINT_TTL_MS)).toEqual({ k: 0, hops: 1 }); // expired: from 0; own id fits

    // Through the route: a member of XX~1 reconnecting while XX is full gets back into XX~1.
    const c = await join(root);
    expect(c.welcome?.shard).toBe("XX~1");
    spillHints.clear(); // walk from 0: XX is full for c (not a member there) → XX~1, where c's own id fits
    const c2 = await join(root, { peerId: c.peerId });
    expect(c2.welcome?.shard).toBe("XX~1");
    expect((await c.waitClosed()).code).toBe(1008);
    c2.close();
  });

  it("a spill hop costs exactly one more object round trip (a full object answers 503 without a socket)", async () => {
    const root = randomRoot();
    const a = await join(root);
    await setMaxPeers(root, "XX", 1);
    // Fresh hints each time: no shortcut, so a spill walks 0 → 1. (Its cost in time is a bench matter.)
    for (const [shard, hops, k] of [["NA", 1, 0], ["XX", 2, 1], ["XX", 2, 1]] as const) {
      const r = await connectSpilling({ ns: env.SWARM, root, shard, peerId: randomPeerId(), location: {}, grant, max: 16, hints: new SpillHints() });
      expect({ hops: r.hops, k: r.k, status: r.response.status }).toEqual({ hops, k, status: 101 });
      r.response.webSocket!.accept();
      r.response.webSocket!.close(1000, "test done");
    }
    a.close();
  });

  it("the last sub-shard refuses with swarm-full and close 1013", async () => {
    const root = randomRoot();
    const max = maxSubshardsFromEnv(env);
    for (let k = 0; k < max; k++) await setMaxPeers(root, subshardName("XX", k), 1);
    const members = [];
    for (let k = 0; k < max; k++) members.push(await join(root));
    // Spread and wrap-around still fill every sub-shard before anyone is refused.
    expect(members.map((p) => p.welcome?.shard).sort()).toEqual(Array.from({ length: max }, (_, k) => subshardName("XX", k)).sort());
    const refused = await open(root);
    await refused.error("swarm-full");
    expect((await refused.waitClosed()).code).toBe(1013);
    expect(await getStats(root, "XX")).toMatchObject({ subshards: max, peersOnline: max });
    for (const p of members) p.close();
  });

  it("an object answers a full spill-allowed connect with a plain 503 and no socket", async () => {
    const root = randomRoot();
    const a = await join(root);
    await setMaxPeers(root, "XX", 1);
    const res = await swarmStub(root).fetch(buildConnectRequest({ peerId: randomPeerId(), root, shard: "XX", location: {}, grant, spill: true }));
    expect(res.status).toBe(503);
    expect(res.webSocket).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("swarm-full");
    a.close();
  });

  it("rejects a bad ?shard= with 400 bad-shard", async () => {
    const root = randomRoot();
    for (const bad of ["XX~16", "XX~0", "XX~01", "XX~", "~1", "XX~1~2", "a/b"]) {
      const res = await exports.default.fetch(`https://edge.test/swarm/${root}/stats?shard=${encodeURIComponent(bad)}`);
      expect([bad, res.status]).toEqual([bad, 400]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad-shard");
    }
  });
});
