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
import { PROXIMITY_ORDER, type PeerKind, type PeerLocation, type Proximity } from "../protocol/swarm-protocol";

/** Distances that fall in the same bucket of this many km count as ties (cf coordinates are city-level). */
export const DISTANCE_TIE_KM = 10;
/** Mean Earth radius, km (IUGG). */
export const EARTH_RADIUS_KM = 6371.0088;

/** The chunks a candidate holds: a `Set<number>` works, so does any bitfield view. */
export interface ChunkSet {
  has(chunk: number): boolean;
  readonly size: number;
  /**
   * The set as MSB-first bitfield bytes (bit `i` = bit `i & 7` of byte `i >> 3`), when it has that
   * form (`ChunkBits`): hot paths then test many chunks a byte at a time instead of one `has` each.
   */
  readonly bytes?: Uint8Array;
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
  /**
   * Optional per-chunk holder counts over the candidates other than the requester that have a free
   * upload slot: of any kind, and browsers. Given them, "which wanted chunks does any eligible peer /
   * browser hold" and the sole-source test are lookups instead of scans of every candidate per chunk
   * (`chunk-holders.ts`); the answer is the same, draw for draw.
   */
  holders?: HolderCounts;
}

/** Per-chunk holder counts (see {@link RankRequest.holders}). */
export interface HolderCounts {
  all(chunk: number): number;
  browsers(chunk: number): number;
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

/** A class's index in the protocol's order is its number in {@link proximityClass} and in the sort keys. */
export { PROXIMITY_ORDER };

/**
 * The proximity class of `b` seen from `a`, as its index in {@link PROXIMITY_ORDER}: same ASN (0) >
 * same colo (1) > same country (2) > both have coordinates (3) > unknown (4). No trigonometry: callers
 * that need only the class (e.g. `peer-have` targets) skip the haversine.
 * @example
 * proximityClass({ asn: 3320 }, { asn: 3320, country: "DE" }); // 0 ("asn")
 */
export function proximityClass(a: PeerLocation, b: PeerLocation): number {
  if (a.asn !== undefined && a.asn === b.asn) return 0;
  if (a.colo !== undefined && a.colo === b.colo) return 1;
  if (a.country !== undefined && a.country === b.country) return 2;
  return hasCoords(a) && hasCoords(b) ? 3 : 4;
}

/**
 * How close `b` is to `a`: the proximity class and, when both have coordinates, the distance.
 * @example
 * proximityOf({ asn: 3320 }, { asn: 3320 }); // { proximity: "asn" }
 */
export function proximityOf(a: PeerLocation, b: PeerLocation): { proximity: Proximity; distanceKm?: number } {
  const proximity = PROXIMITY_ORDER[proximityClass(a, b)]!;
  if (!hasCoords(a) || !hasCoords(b)) return { proximity };
  return { proximity, distanceKm: haversineKm(a.latitude, a.longitude, b.latitude, b.longitude) };
}

/**
 * One answer entry for `candidate` as seen from `from` (class and, with coordinates, distance).
 * @example
 * rankedOf(requester.location, candidate); // { candidate, proximity: "colo", distanceKm: 12.3 }
 */
export function rankedOf<C extends RankCandidate>(from: PeerLocation, candidate: C): RankedPeer<C> {
  // proximityOf's fields, without its intermediate object (this runs for every answered peer).
  const l = candidate.location;
  const proximity = PROXIMITY_ORDER[proximityClass(from, l)]!;
  if (!hasCoords(from) || !hasCoords(l)) return { candidate, proximity };
  return { candidate, proximity, distanceKm: haversineKm(from.latitude, from.longitude, l.latitude, l.longitude) };
}

/** Distance buckets per class in the packed sort key: half the Earth's circumference / 10 km < 4,096. */
const BUCKETS = 4096;

/**
 * Ranks the candidates for one `want`. Pure: same inputs and random sequence, same answer.
 *
 * Cost is O(candidates) plus O(k log candidates) for the k peers actually returned: each eligible
 * candidate gets one packed numeric sort key ((tier·5 + class)·4096 + distance bucket + tie draw,
 * ordered exactly like the lexicographic policy above because the tie draw is < 1), and the order is
 * produced lazily from a binary heap instead of sorting everyone. The random source is drawn once per
 * eligible candidate, in candidate order (so seeded callers get the same answers as before).
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

  // 1. Eligibility. Alongside, which wanted chunks any eligible peer / eligible browser holds (early
  //    exit: the pools empty after the first few holders of each chunk).
  const eligible: C[] = [];
  let supernodes = 0;
  const counts = req.holders;
  const uncoverable = new Set(counts ? (wanted ?? []).filter((i) => counts.all(i) === 0) : wanted ?? []);
  const notInBrowsers = new Set(counts ? (wanted ?? []).filter((i) => counts.browsers(i) === 0) : wanted ?? []);
  const candidates: readonly C[] = Array.isArray(req.candidates) ? req.candidates : [...req.candidates];
  for (let k = 0; k < candidates.length; k++) {
    const c = candidates[k]!;
    if (c.peerId === req.requester.peerId || !(c.uploadSlots > 0) || c.chunks.size === 0) continue;
    if (wanted !== null && !wanted.some((i) => c.chunks.has(i))) continue;
    eligible.push(c);
    if (c.kind !== "browser") supernodes++;
    if (counts) continue; // the sets above are already exact
    if (uncoverable.size > 0) for (const w of uncoverable) if (c.chunks.has(w)) uncoverable.delete(w);
    if (c.kind === "browser" && notInBrowsers.size > 0) for (const w of notInBrowsers) if (c.chunks.has(w)) notInBrowsers.delete(w);
  }
  const n = eligible.length;
  if (n === 0) return [];

  // 2. Tiers: supernodes holding a wanted chunk no eligible browser holds rank with the browsers.
  let browserHolds: (chunk: number) => boolean = (chunk) => !notInBrowsers.has(chunk);
  if (wanted === null && supernodes > 0 && counts) browserHolds = (chunk) => counts.browsers(chunk) > 0;
  else if (wanted === null && supernodes > 0) {
    const memo = new Map<number, boolean>();
    const browsers = eligible.filter((c) => c.kind === "browser");
    browserHolds = (chunk) => {
      let v = memo.get(chunk);
      if (v === undefined) memo.set(chunk, (v = browsers.some((b) => b.chunks.has(chunk))));
      return v;
    };
  }
  const soleSource = (c: C): boolean => {
    for (const i of wanted ?? c.chunks) if (c.chunks.has(i) && !browserHolds(i)) return true;
    return false;
  };

  // 3–4. Packed keys: tier, proximity class (asn 0 … unknown 4), distance bucket, tie draw in [0, 1).
  const from = req.requester.location;
  const fromCoords = hasCoords(from);
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  const keys = scratch;
  for (let i = 0; i < n; i++) {
    const c = eligible[i]!;
    const l = c.location;
    const cls = proximityClass(from, l);
    const bucket = cls === 3 && fromCoords && hasCoords(l)
      ? Math.min(BUCKETS - 1, Math.floor(haversineKm(from.latitude, from.longitude, l.latitude, l.longitude) / DISTANCE_TIE_KM))
      : 0;
    const tier = supernodes === 0 || c.kind === "browser" || soleSource(c) ? 0 : 1;
    keys[i] = (tier * 5 + cls) * BUCKETS + bucket + req.random();
  }
  const out = (i: number): RankedPeer<C> => rankedOf(from, eligible[i]!);
  // No coverage to keep: the `max` smallest keys in one pass (a bounded insertion list).
  if (n <= max || wanted === null) return smallest(keys, n, Math.min(n, max)).map(out);
  const order = lazyOrder(keys, n);

  // 5. Coverage-keeping truncation: first the peers (in rank order) that add a wanted chunk nobody
  //    picked so far, until every coverable chunk is covered; then the rest in rank order.
  const picked = new Set<number>(); // ranks
  const covered = new Set<number>();
  const coverable = wanted.length - uncoverable.size;
  for (let r = 0; r < n && picked.size < max && covered.size < coverable; r++) {
    const chunks = eligible[order.at(r)]!.chunks;
    let fresh = false;
    for (const w of wanted) if (!covered.has(w) && chunks.has(w)) (covered.add(w), (fresh = true));
    if (fresh) picked.add(r);
  }
  for (let r = 0; r < n && picked.size < max; r++) picked.add(r);
  return [...picked].sort((a, b) => a - b).map((r) => out(order.at(r)));
}

/** Scratch buffer for the sort keys (grown, never shrunk: one `want` at a time per isolate). */
let scratch = new Float64Array(256);

/** Indices of the `k` smallest of `keys[0..n)`, in ascending key order. O(n + k · insertions). */
function smallest(keys: Float64Array, n: number, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    if (best.length === k && key >= keys[best[k - 1]!]!) continue;
    let j = best.length === k ? k - 1 : best.length;
    while (j > 0 && keys[best[j - 1]!]! > key) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = i;
  }
  return best;
}

/**
 * Indices of `keys[0..n)` in ascending key order, produced on demand from a binary min-heap: `at(r)` is the
 * index with rank r. Building is O(n); each new rank costs O(log n).
 */
function lazyOrder(keys: Float64Array, n: number): { at(rank: number): number } {
  const heap = new Uint32Array(n);
  for (let i = 0; i < n; i++) heap[i] = i;
  let size = n;
  const down = (from: number) => {
    let i = from;
    const item = heap[i]!;
    const key = keys[item]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const m = r < size && keys[heap[r]!]! < keys[heap[l]!]! ? r : l;
      if (keys[heap[m]!]! >= key) break;
      heap[i] = heap[m]!;
      i = m;
    }
    heap[i] = item;
  };
  for (let i = (n >> 1) - 1; i >= 0; i--) down(i);
  const sorted: number[] = [];
  return {
    at(rank: number): number {
      while (sorted.length <= rank && size > 0) {
        sorted.push(heap[0]!);
        heap[0] = heap[--size]!;
        down(0);
      }
      return sorted[rank]!;
    },
  };
}
