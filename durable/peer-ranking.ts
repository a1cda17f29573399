/**
 * Peer ranking: which peers of a swarm a requester should connect to for the chunks it wants.
 *
 * Pure and dependency-free on purpose (types only from the protocol module): the coordinator
 * Durable Object calls it for every `want`, and the simulator (`sim/`) imports the very same
 * function, so simulated swarms follow the real policy. Randomness is injected.
 *
 * Policy, in order:
 * 1. Eligible: not the requester, at least one free upload slot, holds at least one wanted chunk.
 * 2. Tier: browsers first. A supernode is ranked with the browsers only when it holds a wanted
 *    chunk that no eligible browser holds ("sole source"); other supernodes come after every
 *    browser (so always-on seeders spare the origin without becoming a second CDN — issue 6).
 * 3. Proximity within a tier: same ASN > same colo > same country > great-circle distance
 *    (haversine, nearer first) > unknown location.
 * 4. Ties (same tier, same proximity class, same {@link DISTANCE_TIE_KM} distance bucket) are
 *    shuffled by the injected random source, so load spreads instead of everyone hitting the same
 *    "first" peer.
 * 5. Truncation to `max` keeps coverage: the first pass (in rank order) picks peers that hold a
 *    wanted chunk nobody picked so far; remaining places are filled in rank order. The answer is
 *    returned in rank order. A far-away sole holder of a rare chunk is therefore never cut off.
 */
import type { PeerKind, PeerLocation, Proximity } from "../protocol/swarm-protocol";

/** Distances that fall in the same bucket of this many km count as ties (cf coordinates are city-level). */
export const DISTANCE_TIE_KM = 10;
/** Mean Earth radius, km (IUGG). */
export const EARTH_RADIUS_KM = 6371.0088;

/** The chunks a candidate holds: a `Set<number>` works, so does any bitfield view. */
export interface ChunkSet {
  has(chunk: number): boolean;
  readonly size: number;
  [Symbol.iterator](): Iterator<number>;
}

/** One peer that might serve the requester. */
export interface RankCandidate {
  peerId: string;
  kind: PeerKind;
  location: PeerLocation;
  chunks: ChunkSet;
  /** Free upload slots; 0 = cannot serve now. */
  uploadSlots: number;
}

/** Input of {@link rankPeers}. */
export interface RankRequest<C extends RankCandidate = RankCandidate> {
  requester: { peerId: string; location: PeerLocation };
  candidates: Iterable<C>;
  /** Wanted chunk indices, or "all" (any chunk qualifies). */
  wanted: readonly number[] | "all";
  /** Most peers to return (≥ 0). */
  max: number;
  /** Uniform [0, 1) source (e.g. `Math.random`, or a seeded PRNG in tests and the simulator). */
  random: () => number;
}

/** One ranked peer. */
export interface RankedPeer<C extends RankCandidate = RankCandidate> {
  candidate: C;
  proximity: Proximity;
  /** Great-circle distance, when both locations have coordinates. */
  distanceKm?: number;
}

/**
 * Great-circle distance between two coordinates in km (haversine formula).
 * @example
 * haversineKm(48.8566, 2.3522, 51.5074, -0.1278); // ≈ 343.9 (Paris–London)
 */
export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

const hasCoords = (l: PeerLocation): l is PeerLocation & { latitude: number; longitude: number } =>
  typeof l.latitude === "number" && typeof l.longitude === "number" &&
  Number.isFinite(l.latitude) && Number.isFinite(l.longitude);

/**
 * How close `b` is to `a`: the proximity class and, when both have coordinates, the distance.
 * @example
 * proximityOf({ asn: 3320 }, { asn: 3320 }); // { proximity: "asn" }
 */
export function proximityOf(a: PeerLocation, b: PeerLocation): { proximity: Proximity; distanceKm?: number } {
  const distanceKm = hasCoords(a) && hasCoords(b) ? haversineKm(a.latitude, a.longitude, b.latitude, b.longitude) : undefined;
  const withDistance = (proximity: Proximity) => (distanceKm === undefined ? { proximity } : { proximity, distanceKm });
  if (a.asn !== undefined && a.asn === b.asn) return withDistance("asn");
  if (a.colo !== undefined && a.colo === b.colo) return withDistance("colo");
  if (a.country !== undefined && a.country === b.country) return withDistance("country");
  if (distanceKm !== undefined) return withDistance("distance");
  return { proximity: "unknown" };
}

const CLASS_ORDER: Record<Proximity, number> = { asn: 0, colo: 1, country: 2, distance: 3, unknown: 4 };

interface Scored<C extends RankCandidate> {
  ranked: RankedPeer<C>;
  tier: number;
  cls: number;
  bucket: number;
  tie: number;
}

/**
 * Ranks the candidates for one `want`. Pure: same inputs and random sequence, same answer.
 * @example
 * const peers = rankPeers({
 *   requester: { peerId: "me-000000", location: { asn: 3320, country: "DE" } },
 *   candidates: [{ peerId: "p1-000000", kind: "browser", location: { asn: 3320 }, chunks: new Set([0, 1]), uploadSlots: 2 }],
 *   wanted: [1], max: 8, random: Math.random,
 * });
 * // → [{ candidate: {...p1}, proximity: "asn" }]
 */
export function rankPeers<C extends RankCandidate>(req: RankRequest<C>): RankedPeer<C>[] {
  const max = Math.max(0, Math.floor(req.max));
  if (max === 0) return [];
  const wanted = req.wanted === "all" ? null : [...new Set(req.wanted)];
  if (wanted !== null && wanted.length === 0) return [];

  // 1. Eligibility (early exit: which wanted chunks a peer holds is only listed when truncating).
  const eligible: C[] = [];
  for (const c of req.candidates) {
    if (c.peerId === req.requester.peerId || !(c.uploadSlots > 0) || c.chunks.size === 0) continue;
    if (wanted === null || wanted.some((i) => c.chunks.has(i))) eligible.push(c);
  }

  // 2. Tiers: supernodes holding a wanted chunk no eligible browser holds rank with the browsers.
  const browsers = eligible.filter((c) => c.kind === "browser");
  const browserHolds = (chunk: number) => browsers.some((b) => b.chunks.has(chunk));
  const soleSource = (c: C): boolean => {
    for (const i of wanted ?? c.chunks) if (c.chunks.has(i) && !browserHolds(i)) return true;
    return false;
  };

  const scored: Scored<C>[] = eligible.map((c) => {
    const p = proximityOf(req.requester.location, c.location);
    return {
      ranked: p.distanceKm === undefined ? { candidate: c, proximity: p.proximity } : { candidate: c, proximity: p.proximity, distanceKm: p.distanceKm },
      tier: c.kind === "browser" || soleSource(c) ? 0 : 1,
      cls: CLASS_ORDER[p.proximity],
      // Only the "distance" class orders by distance; within asn/colo/country every peer ties.
      bucket: p.proximity === "distance" && p.distanceKm !== undefined ? Math.floor(p.distanceKm / DISTANCE_TIE_KM) : 0,
      tie: req.random(),
    };
  });
  scored.sort((a, b) => a.tier - b.tier || a.cls - b.cls || a.bucket - b.bucket || a.tie - b.tie);
  if (scored.length <= max) return scored.map((s) => s.ranked);

  // 5. Coverage-keeping truncation (explicit wants only: "all" has no finite set to cover).
  const picked = new Set<number>();
  if (wanted !== null) {
    const covered = new Set<number>();
    // Chunks nobody eligible holds can never be covered: stop once the coverable ones are.
    const coverable = wanted.filter(browserHolds).length === wanted.length ? wanted.length : wanted.filter((w) => eligible.some((c) => c.chunks.has(w))).length;
    for (let i = 0; i < scored.length && picked.size < max && covered.size < coverable; i++) {
      const chunks = scored[i]!.ranked.candidate.chunks;
      const fresh = wanted.filter((w) => !covered.has(w) && chunks.has(w));
      if (fresh.length > 0) {
        picked.add(i);
        for (const w of fresh) covered.add(w);
      }
    }
  }
  for (let i = 0; i < scored.length && picked.size < max; i++) picked.add(i);
  return [...picked].sort((a, b) => a - b).map((i) => scored[i]!.ranked);
}
