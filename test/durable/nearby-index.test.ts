import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { NearbyIndex } from "../../durable/nearby-index";
import { PROXIMITY_ORDER, proximityClass, proximityOf, rankPeers, type RankCandidate, type RankedPeer } from "../../durable/peer-ranking";
import type { PeerLocation } from "../../protocol/swarm-protocol";
import { Rng } from "../../sim/prng";

const seeded = (seed: number): (() => number) => new Rng(seed).random;
const FRA = { asn: 64500, colo: "FRA", country: "DE", latitude: 50.11, longitude: 8.68 };

function cand(peerId: string, location: PeerLocation, extra: Partial<RankCandidate> = {}): RankCandidate {
  return { peerId, kind: "browser", location, chunks: new Set([0, 1]), uploadSlots: 2, ...extra };
}

const ids = (r: readonly RankedPeer[]) => r.map((x) => x.candidate.peerId);

function indexed(cs: RankCandidate[]): NearbyIndex<RankCandidate> {
  const idx = new NearbyIndex<RankCandidate>();
  for (const c of cs) idx.add(c);
  return idx;
}

describe("proximityClass", () => {
  it("is the one order: asn > colo > country > distance > unknown, and proximityOf names it", () => {
    const me = { asn: 1, colo: "CDG", country: "FR", latitude: 48.86, longitude: 2.35 };
    const cases: [PeerLocation, number][] = [
      [{ asn: 1, colo: "LHR" }, 0],
      [{ asn: 2, colo: "CDG" }, 1],
      [{ asn: 2, country: "FR" }, 2],
      [{ country: "GB", latitude: 51.5, longitude: -0.13 }, 3],
      [{ country: "GB" }, 4],
    ];
    for (const [loc, cls] of cases) {
      expect(proximityClass(me, loc)).toBe(cls);
      expect(proximityOf(me, loc).proximity).toBe(PROXIMITY_ORDER[cls]);
    }
    expect(proximityClass({}, {})).toBe(4);
  });
});

describe("NearbyIndex.sample", () => {
  it("draws every eligible member of a big same-ASN group, and never an ineligible one", () => {
    const eligible = Array.from({ length: 40 }, (_, i) => cand(`e${i}`, FRA));
    const busy = Array.from({ length: 20 }, (_, i) => cand(`busy${i}`, FRA, { uploadSlots: 0 }));
    const empty = Array.from({ length: 20 }, (_, i) => cand(`empty${i}`, FRA, { chunks: new Set() }));
    const idx = indexed([...eligible, ...busy, ...empty, cand("me", FRA)]);
    const seen = new Map<string, number>();
    const random = seeded(3);
    for (let i = 0; i < 400; i++) {
      const r = idx.sample("me", FRA, 10, random)!;
      expect(r).not.toBeNull();
      expect(new Set(ids(r)).size).toBe(10);
      for (const x of r) {
        expect(x.candidate.peerId).toMatch(/^e\d+$/);
        expect(x.proximity).toBe("asn");
        expect(x.distanceKm).toBe(0);
        seen.set(x.candidate.peerId, (seen.get(x.candidate.peerId) ?? 0) + 1);
      }
    }
    // 4,000 picks over 40 members: each expects 100; all of them drawn, none starved.
    expect(seen.size).toBe(40);
    for (const n of seen.values()) expect(n).toBeGreaterThan(50);
  });

  it("fills class by class: the whole ASN group, then a random part of the colo group", () => {
    const asn = [cand("a1", FRA), cand("a2", FRA)];
    const colo = Array.from({ length: 30 }, (_, i) => cand(`c${i}`, { ...FRA, asn: 7 }));
    const idx = indexed([...asn, ...colo, cand("x", { asn: 9, country: "US" })]);
    const r = idx.sample("me", FRA, 5, seeded(1))!;
    expect(r.map((x) => x.proximity)).toEqual(["asn", "asn", "colo", "colo", "colo"]);
    expect(new Set(ids(r).slice(0, 2))).toEqual(new Set(["a1", "a2"]));
  });

  it("returns null where only ranking everyone is exact", () => {
    const group = Array.from({ length: 30 }, (_, i) => cand(`e${i}`, FRA));
    // An eligible supernode in the requester's country may rank among the browsers (sole source).
    expect(indexed([...group, cand("sn", { country: "DE" }, { kind: "supernode" })]).sample("me", FRA, 10, seeded(1))).toBeNull();
    // ... but not one that is far away (it ranks after every class 0–2 browser) or busy.
    expect(indexed([...group, cand("sn", { country: "US" }, { kind: "supernode" })]).sample("me", FRA, 10, seeded(1))).not.toBeNull();
    expect(indexed([...group, cand("sn", FRA, { kind: "supernode", uploadSlots: 0 })]).sample("me", FRA, 10, seeded(1))).not.toBeNull();
    // Fewer than `max` eligible peers in classes 0–2.
    expect(indexed(group.slice(0, 5)).sample("me", FRA, 10, seeded(1))).toBeNull();
    // A big group that is nearly all busy: sampling gives up.
    const busy = Array.from({ length: 500 }, (_, i) => cand(`b${i}`, FRA, { uploadSlots: 0 }));
    expect(indexed([...busy, ...group.slice(0, 10)]).sample("me", FRA, 10, seeded(1))).toBeNull();
    // No location at all.
    expect(indexed(group).sample("me", {}, 10, seeded(1))).toBeNull();
  });

  it("forgets removed members and indexes a reset", () => {
    const cs = Array.from({ length: 12 }, (_, i) => cand(`p${i}`, FRA));
    const idx = indexed(cs);
    for (const c of cs.slice(0, 6)) idx.remove(c);
    for (let s = 0; s < 50; s++) for (const id of ids(idx.sample("me", FRA, 6, seeded(s))!)) expect(Number(id.slice(1))).toBeGreaterThanOrEqual(6);
    expect(idx.sample("me", FRA, 7, seeded(1))).toBeNull();
    idx.reset(cs.slice(0, 3));
    expect(new Set(ids(idx.sample("me", FRA, 3, seeded(1))!))).toEqual(new Set(["p0", "p1", "p2"]));
  });

  it("property: agrees with rankPeers on classes, order and every fully included class", () => {
    const loc = fc.record({
      asn: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      colo: fc.option(fc.constantFrom("CDG", "FRA"), { nil: undefined }),
      country: fc.option(fc.constantFrom("FR", "DE"), { nil: undefined }),
      latitude: fc.option(fc.double({ min: -90, max: 90, noNaN: true }), { nil: undefined }),
      longitude: fc.option(fc.double({ min: -180, max: 180, noNaN: true }), { nil: undefined }),
    }, { requiredKeys: [] });
    const near = fc.record({ asn: fc.integer({ min: 1, max: 3 }), colo: fc.constantFrom("CDG", "FRA"), country: fc.constantFrom("FR", "DE") });
    const candidate = fc.record({
      kind: fc.constantFrom(...Array<"browser">(9).fill("browser"), "supernode" as const),
      location: fc.oneof(near, loc),
      chunks: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 4 }),
      uploadSlots: fc.integer({ min: 0, max: 2 }),
    });
    let answered = 0;
    fc.assert(
      fc.property(fc.array(candidate, { minLength: 10, maxLength: 120 }), fc.oneof(near, loc), fc.integer({ min: 1, max: 8 }), fc.integer(), fc.integer({ min: 0, max: 20 }), (cs, myLoc, max, seed, drop) => {
        const candidates: RankCandidate[] = cs.map((c, i) => ({ ...c, peerId: `p${i}`, chunks: new Set(c.chunks) }));
        const idx = indexed(candidates);
        const removed = new Set(candidates.slice(0, drop));
        for (const c of removed) idx.remove(c);
        const members = candidates.filter((c) => !removed.has(c));
        const r = idx.sample("p30", myLoc, max, seeded(seed));
        if (r === null) return;
        answered++;
        const full = rankPeers({ requester: { peerId: "p30", location: myLoc }, candidates: members, wanted: "all", max, random: seeded(seed) });
        expect(r.length).toBe(full.length);
        expect(r.map((x) => x.proximity)).toEqual(full.map((x) => x.proximity));
        expect(new Set(ids(r)).size).toBe(r.length);
        const last = full[full.length - 1]!.proximity;
        const setOf = (xs: RankedPeer[], p: string) => new Set(ids(xs.filter((x) => x.proximity === p)));
        for (const p of new Set(full.map((x) => x.proximity))) if (p !== last) expect(setOf(r, p)).toEqual(setOf(full, p));
        for (const x of r) {
          expect(members).toContain(x.candidate);
          expect(x.candidate.uploadSlots).toBeGreaterThan(0);
          expect(x.candidate.chunks.size).toBeGreaterThan(0);
          expect(x).toEqual({ candidate: x.candidate, ...proximityOf(myLoc, x.candidate.location) });
        }
      }),
      { numRuns: 400 },
    );
    expect(answered).toBeGreaterThan(40); // the fast path was really exercised
  });
});
