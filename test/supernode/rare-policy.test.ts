import { describe, expect, it } from "vitest";
import { parseSwarmStats, rareVerdict, swarmStatsUrl } from "../../supernode/rare-policy";

const s = (browsers: number, chunksHeld: number, chunkCopies: number, supernodes = 0) => ({ browsers, supernodes, chunksHeld, chunkCopies });

describe("follow-rare policy", () => {
  it("follows items in demand with missing chunks or few copies", () => {
    expect(rareVerdict(s(2, 30, 30), 40, false)).toEqual({ follow: true, reason: "missing-chunks" });
    expect(rareVerdict(s(3, 40, 60), 40, false)).toEqual({ follow: true, reason: "few-copies" });
  });

  it("leaves alone items without visitors, well seeded, or already held", () => {
    expect(rareVerdict(s(0, 0, 0), 40, false)).toEqual({ follow: false, reason: "no-demand" });
    expect(rareVerdict(s(5, 40, 200), 40, false)).toEqual({ follow: false, reason: "well-seeded" });
    expect(rareVerdict(s(5, 1, 1), 40, true)).toEqual({ follow: false, reason: "held" });
  });

  it("honours custom thresholds", () => {
    expect(rareVerdict(s(1, 40, 120), 40, false, { minCopies: 4 }).follow).toBe(true);
    expect(rareVerdict(s(1, 10, 10), 40, false, { minBrowsers: 2 }).reason).toBe("no-demand");
  });

  it("treats malformed stats as no decision", () => {
    expect(rareVerdict(null, 40, false).reason).toBe("bad-stats");
    expect(rareVerdict(s(1, -1, 0), 40, false).reason).toBe("bad-stats");
    expect(rareVerdict(s(1, 0, 0), 0, false).reason).toBe("bad-stats");
    expect(parseSwarmStats({ browsers: 1, supernodes: 0, chunksHeld: 2, chunkCopies: 3, root: "x" })).toEqual(s(1, 2, 3));
    expect(parseSwarmStats({ browsers: "1" })).toBeNull();
    expect(parseSwarmStats(null)).toBeNull();
  });

  it("asks an item's own swarm, or its collection's stats filtered to the item", () => {
    const root = "a".repeat(64);
    const col = "c".repeat(64);
    const own = swarmStatsUrl("https://edge.example/", root, { token: "t.1" });
    expect(own.href).toBe(`https://edge.example/swarm/${root}/stats?token=t.1`);
    expect(swarmStatsUrl("https://edge.example", root, { token: "t", swarm: root }).searchParams.has("item")).toBe(false);
    const inCollection = swarmStatsUrl("https://edge.example", root, { token: "t 2", swarm: col });
    expect(inCollection.pathname).toBe(`/swarm/${col}/stats`);
    expect(inCollection.searchParams.get("item")).toBe(root);
    expect(inCollection.searchParams.get("token")).toBe("t 2");
  });
});
