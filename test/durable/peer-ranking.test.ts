import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DISTANCE_TIE_KM, haversineKm, proximityOf, rankPeers, type RankCandidate } from "../../durable/peer-ranking";
import { ChunkBits } from "../../durable/chunk-bits";
import { ChunkHolders } from "../../durable/chunk-holders";
import type { PeerLocation } from "../../protocol/swarm-protocol";
import { Rng } from "../../sim/prng";

/** A seeded PRNG (the simulator's xoshiro128**), so shuffles are reproducible. */
const seeded = (seed: number): (() => number) => new Rng(seed).random;

const PARIS = { latitude: 48.8566, longitude: 2.3522 };
const LONDON = { latitude: 51.5074, longitude: -0.1278 };
const BERLIN = { latitude: 52.52, longitude: 13.405 };
const NEW_YORK = { latitude: 40.7128, longitude: -74.006 };

const me = { peerId: "requester", location: { asn: 3215, colo: "CDG", country: "FR", continent: "EU", ...PARIS } };

function cand(peerId: string, location: PeerLocation, chunks: number[] = [0, 1, 2, 3], extra: Partial<RankCandidate> = {}): RankCandidate {
  return { peerId, kind: "browser", location, chunks: new Set(chunks), uploadSlots: 2, ...extra };
}

const ids = (r: { candidate: RankCandidate }[]) => r.map((x) => x.candidate.peerId);

/** A random candidate (peer id and chunk Set added by the property): kind, `location`, ≤ 8 of chunks 0–15, 0–`maxSlots` upload slots. */
const arbCandidate = (location: fc.Arbitrary<PeerLocation>, maxSlots: number) =>
  fc.record({
    kind: fc.constantFrom("browser" as const, "supernode" as const),
    location,
    chunks: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: 8 }),
    uploadSlots: fc.integer({ min: 0, max: maxSlots }),
  });

describe("haversineKm", () => {
  it("measures known great-circle distances", () => {
    expect(haversineKm(PARIS.latitude, PARIS.longitude, LONDON.latitude, LONDON.longitude)).toBeCloseTo(343.5, -1);
    expect(haversineKm(PARIS.latitude, PARIS.longitude, NEW_YORK.latitude, NEW_YORK.longitude)).toBeCloseTo(5837, -1);
    expect(haversineKm(10, 20, 10, 20)).toBe(0);
    // Antipodes: half the circumference.
    expect(haversineKm(0, 0, 0, 180)).toBeCloseTo(Math.PI * 6371.0088, 3);
  });
});

describe("proximityOf", () => {
  it("classifies asn > colo > country > distance > unknown", () => {
    expect(proximityOf(me.location, { asn: 3215, colo: "LHR" }).proximity).toBe("asn");
    expect(proximityOf(me.location, { asn: 1, colo: "CDG" }).proximity).toBe("colo");
    expect(proximityOf(me.location, { asn: 1, country: "FR" }).proximity).toBe("country");
    expect(proximityOf(me.location, { country: "GB", ...LONDON })).toMatchObject({ proximity: "distance" });
    expect(proximityOf(me.location, { country: "GB" })).toEqual({ proximity: "unknown" });
    expect(proximityOf({}, {})).toEqual({ proximity: "unknown" });
    // Missing fields never match each other.
    expect(proximityOf({ country: "FR" }, { asn: 5 }).proximity).toBe("unknown");
  });
});

describe("rankPeers", () => {
  const base = { requester: me, wanted: [1] as number[], max: 32, random: seeded(1) };

  it("orders same ASN > same colo > same country > distance (nearer first) > unknown", () => {
    const candidates = [
      cand("unknown", {}),
      cand("far", { country: "US", ...NEW_YORK }),
      cand("near", { country: "GB", ...LONDON }),
      cand("mid", { country: "DE", ...BERLIN }),
      cand("country", { asn: 9, country: "FR" }),
      cand("colo", { asn: 8, colo: "CDG", country: "BE" }),
      cand("asn", { asn: 3215, colo: "FRA" }),
    ];
    const r = rankPeers({ ...base, candidates });
    expect(ids(r)).toEqual(["asn", "colo", "country", "near", "mid", "far", "unknown"]);
    expect(r.map((x) => x.proximity)).toEqual(["asn", "colo", "country", "distance", "distance", "distance", "unknown"]);
    expect(r[3]!.distanceKm).toBeCloseTo(343.5, -1);
  });

  it("only returns peers holding a wanted chunk, with free slots, never the requester", () => {
    const candidates = [
      cand("requester", me.location),
      cand("no-slots", me.location, [1], { uploadSlots: 0 }),
      cand("wrong-chunks", me.location, [5, 6]),
      cand("empty", me.location, []),
      cand("ok", {}, [1]),
    ];
    expect(ids(rankPeers({ ...base, candidates }))).toEqual(["ok"]);
    // "all": any held chunk qualifies (and the ASN/colo match of wrong-chunks ranks it first).
    expect(ids(rankPeers({ ...base, wanted: "all", candidates }))).toEqual(["wrong-chunks", "ok"]);
    expect(rankPeers({ ...base, wanted: [], candidates })).toEqual([]);
    expect(rankPeers({ ...base, max: 0, candidates })).toEqual([]);
  });

  it("ranks supernodes after every browser holding the wanted chunks", () => {
    const candidates = [
      cand("super-same-asn", { asn: 3215 }, [0, 1], { kind: "supernode" }),
      cand("browser-far", { ...NEW_YORK }, [1]),
      cand("browser-unknown", {}, [1]),
    ];
    expect(ids(rankPeers({ ...base, candidates }))).toEqual(["browser-far", "browser-unknown", "super-same-asn"]);
  });

  it("ranks a supernode with the browsers when it holds a wanted chunk no browser holds", () => {
    const candidates = [
      cand("browser-far", { ...NEW_YORK }, [1]),
      cand("super-near", { ...LONDON }, [1, 2], { kind: "supernode" }),
      cand("super-other", { asn: 3215 }, [1], { kind: "supernode" }),
    ];
    const r = rankPeers({ ...base, wanted: [1, 2], candidates });
    // super-near is the sole source of chunk 2: it competes by proximity (London < New York);
    // super-other only duplicates what a browser has: last.
    expect(ids(r)).toEqual(["super-near", "browser-far", "super-other"]);
    // Browsers without free slots do not count as holders.
    const busy = [cand("browser-busy", { asn: 3215 }, [1], { uploadSlots: 0 }), cand("super", {}, [1], { kind: "supernode" })];
    expect(ids(rankPeers({ ...base, candidates: busy }))).toEqual(["super"]);
  });

  it("truncates to max but keeps a sole holder of a rare chunk", () => {
    const candidates = [
      ...Array.from({ length: 10 }, (_, i) => cand(`same-asn-${i}`, { asn: 3215 }, [0])),
      cand("rare-far", { ...NEW_YORK }, [7]),
    ];
    const r = rankPeers({ ...base, wanted: [0, 7], max: 3, candidates });
    expect(r.length).toBe(3);
    expect(ids(r)).toContain("rare-far");
    expect(ids(r).at(-1)).toBe("rare-far"); // still in rank order
    expect(ids(r).filter((x) => x.startsWith("same-asn")).length).toBe(2);
  });

  it("spreads ties: the first peer among equals varies with the random source", () => {
    const candidates = Array.from({ length: 8 }, (_, i) => cand(`twin-${i}`, { asn: 3215 }, [1]));
    const firsts = new Set<string>();
    const rnd = seeded(42);
    for (let i = 0; i < 200; i++) firsts.add(rankPeers({ ...base, candidates, random: rnd })[0]!.candidate.peerId);
    expect(firsts.size).toBe(8);
    // Same seed → same order (deterministic for the simulator).
    expect(ids(rankPeers({ ...base, candidates, random: seeded(7) }))).toEqual(ids(rankPeers({ ...base, candidates, random: seeded(7) })));
  });

  it(`treats distances within one ${DISTANCE_TIE_KM} km bucket as ties, but not across buckets`, () => {
    const a = cand("a", { latitude: 48.9, longitude: 2.35 }); // ~4.8 km
    const b = cand("b", { latitude: 48.9001, longitude: 2.35 }); // same bucket
    const c = cand("c", { ...LONDON });
    const orders = new Set<string>();
    const rnd = seeded(3);
    for (let i = 0; i < 50; i++) {
      const r = ids(rankPeers({ ...base, candidates: [c, b, a], random: rnd }));
      expect(r[2]).toBe("c");
      orders.add(r.join());
    }
    expect(orders).toEqual(new Set(["a,b,c", "b,a,c"]));
  });

  it("accepts bitfield chunk sets", () => {
    const bits = new ChunkBits();
    bits.add(3);
    bits.add(100);
    const r = rankPeers({ ...base, wanted: [100], candidates: [{ peerId: "bits", kind: "browser", location: {}, chunks: bits, uploadSlots: 1 }] });
    expect(ids(r)).toEqual(["bits"]);
  });

  it("property: every answer is a valid, bounded, duplicate-free subset in class order", () => {
    const loc = fc.record({
      asn: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      colo: fc.option(fc.constantFrom("CDG", "LHR", "FRA"), { nil: undefined }),
      country: fc.option(fc.constantFrom("FR", "GB", "DE"), { nil: undefined }),
      latitude: fc.option(fc.double({ min: -90, max: 90, noNaN: true }), { nil: undefined }),
      longitude: fc.option(fc.double({ min: -180, max: 180, noNaN: true }), { nil: undefined }),
    }, { requiredKeys: [] });
    const candidate = arbCandidate(loc, 3);
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 30 }), loc, fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: 6 }), fc.integer({ min: 1, max: 10 }), fc.integer(), (cs, myLoc, wanted, max, seed) => {
        const candidates = cs.map((c, i) => ({ ...c, peerId: `p${i}`, chunks: new Set(c.chunks) }));
        const r = rankPeers({ requester: { peerId: "p0", location: myLoc }, candidates, wanted, max, random: seeded(seed) });
        const eligible = candidates.filter((c) => c.peerId !== "p0" && c.uploadSlots > 0 && wanted.some((w) => c.chunks.has(w)));
        expect(r.length).toBe(Math.min(max, eligible.length));
        expect(new Set(ids(r)).size).toBe(r.length);
        for (const x of r) expect(eligible).toContain(x.candidate);
        // Coverage: every wanted chunk some eligible peer holds is held by someone in the answer when max allows.
        const coverable = new Set(wanted.filter((w) => eligible.some((c) => c.chunks.has(w))));
        if (max >= coverable.size) for (const w of coverable) expect(r.some((x) => x.candidate.chunks.has(w))).toBe(true);
        // Untruncated answers are sorted: browsers (and sole-source supernodes) before the other supernodes,
        // and by proximity class within each tier.
        if (eligible.length <= max) {
          const order = { asn: 0, colo: 1, country: 2, distance: 3, unknown: 4 };
          const browserHeld = new Set(eligible.filter((c) => c.kind === "browser").flatMap((c) => [...c.chunks]));
          const tier = (c: RankCandidate) => (c.kind === "browser" || wanted.some((w) => c.chunks.has(w) && !browserHeld.has(w)) ? 0 : 1);
          for (let i = 1; i < r.length; i++) {
            const a = r[i - 1]!, b = r[i]!;
            const ka = tier(a.candidate) * 10 + order[a.proximity], kb = tier(b.candidate) * 10 + order[b.proximity];
            expect(ka).toBeLessThanOrEqual(kb);
            if (ka === kb && a.proximity === "distance") expect(Math.floor(a.distanceKm! / DISTANCE_TIE_KM)).toBeLessThanOrEqual(Math.floor(b.distanceKm! / DISTANCE_TIE_KM));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("rankPeers with per-chunk holder counts (issue 11 item 2)", () => {
  const countsOver = (cands: RankCandidate[], requester: string) => {
    const h = new ChunkHolders();
    for (const c of cands) if (c.peerId !== requester) h.addPeer(c);
    return h;
  };

  it("gives the same answers, draw for draw, as the scanning ranking", () => {
    const loc = fc.record({
      asn: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      country: fc.option(fc.constantFrom("FR", "GB"), { nil: undefined }),
    }, { requiredKeys: [] });
    const candidate = arbCandidate(loc, 2);
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 25 }), fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 6 }), { nil: undefined }), fc.integer({ min: 1, max: 8 }), fc.integer(), (cs, wanted, max, seed) => {
        const candidates: RankCandidate[] = cs.map((c, i) => ({ ...c, peerId: `p${i}`, chunks: new Set(c.chunks) }));
        const req = { requester: { peerId: "p0", location: { asn: 1 } }, candidates, wanted: wanted ?? ("all" as const), max };
        const plain = rankPeers({ ...req, random: seeded(seed) });
        const indexed = rankPeers({ ...req, random: seeded(seed), holders: countsOver(candidates, "p0") });
        expect(ids(indexed)).toEqual(ids(plain));
      }),
      { numRuns: 300 },
    );
  });

  it("the sole-source check reads no browser's chunks: two silent claimers cost an honest want O(members), not O(chunks × members)", () => {
    let reads = 0;
    const counting = (n: number): RankCandidate["chunks"] => {
      const bits = new ChunkBits();
      for (let i = 0; i < n; i++) bits.add(i);
      return { has: (i: number) => (reads++, bits.has(i)), get size() { return bits.size; }, [Symbol.iterator]: () => bits[Symbol.iterator]() };
    };
    const N = 4096;
    const browsers = Array.from({ length: 200 }, (_, i) => cand(`b${i}`, { asn: 2 }, [], { chunks: counting(N) }));
    const supernode = cand("sn", { asn: 2 }, [], { kind: "supernode", chunks: counting(N) });
    const candidates = [...browsers, supernode];
    const run = (holders?: ChunkHolders) => {
      reads = 0;
      rankPeers({ requester: me, candidates, wanted: "all", max: 10, random: seeded(1), ...(holders ? { holders } : {}) });
      return reads;
    };
    const scanning = run();
    const indexed = run(countsOver(candidates, me.peerId));
    // Scanning: the supernode's every chunk checked against browsers (here the first holds all: ≥ N reads).
    expect(scanning).toBeGreaterThanOrEqual(N);
    // Indexed: the supernode's own chunks only, nothing per browser (the eligibility test of "all" reads none).
    expect(indexed).toBe(N);
  });
});
