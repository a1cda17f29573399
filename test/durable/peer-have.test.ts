import { describe, expect, it } from "vitest";
import { ChunkBits } from "../../durable/chunk-bits";
import type { LivePeer } from "../../durable/peer-directory";
import { peerHaveTargets } from "../../durable/peer-have";
import type { PeerLocation } from "../../protocol/swarm-protocol";
import { Rng } from "../../sim/prng";

function member(peerId: string, location: PeerLocation, held: number[] = [], lastWantAt = 1): LivePeer {
  const chunks = new ChunkBits();
  for (const i of held) chunks.add(i);
  return { peerId, kind: "browser", location, uploadSlots: 2, chunks, lastWantAt, ws: null as unknown as WebSocket };
}

const HOLDER = member("holder", { asn: 1, colo: "FRA", country: "DE", latitude: 50.1, longitude: 8.7 }, [0, 1, 2]);

describe("peerHaveTargets", () => {
  it("picks at most `fanout` recent wanters that lack a chunk, nearest class first, with what each lacks", () => {
    const wanters = [
      member("far", { country: "US", latitude: 40.7, longitude: -74 }),
      member("unknown", {}),
      member("country", { asn: 9, country: "DE" }, [0]),
      member("colo", { asn: 8, colo: "FRA" }, [0, 1]),
      member("asn", { asn: 1 }, [2]),
      member("has-all", { asn: 1 }, [0, 1, 2]), // lacks nothing
      member("never-wanted", { asn: 1 }, [], 0),
      HOLDER,
    ];
    const t = peerHaveTargets(wanters, HOLDER, [0, 1, 2], 4, new Rng(1).random);
    expect(t.map((x) => x.peer.peerId)).toEqual(["asn", "colo", "country", "far"]);
    expect(t.map((x) => x.lacking)).toEqual([[0, 1], [2], [1, 2], [0, 1, 2]]);
    expect(peerHaveTargets(wanters, HOLDER, [0, 1, 2], 8, new Rng(1).random).map((x) => x.peer.peerId)).toEqual(["asn", "colo", "country", "far", "unknown"]);
    expect(peerHaveTargets(wanters, HOLDER, [0, 1, 2], 0, Math.random)).toEqual([]);
  });

  it("spreads ties: among 50 same-class wanters, different random draws reach all of them", () => {
    const wanters = Array.from({ length: 50 }, (_, i) => member(`w${i}`, { asn: 1 }));
    const reached = new Set<string>();
    const random = new Rng(5).random;
    for (let n = 0; n < 100; n++) {
      const t = peerHaveTargets(wanters, HOLDER, [0], 8, random);
      expect(t).toHaveLength(8);
      expect(new Set(t.map((x) => x.peer.peerId)).size).toBe(8);
      for (const x of t) reached.add(x.peer.peerId);
    }
    expect(reached.size).toBe(50);
  });
});
