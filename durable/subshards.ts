/**
 * Spill-over sub-shards for hot items. A shard's first object is `swarm:<root>:<shard>` (sub-shard
 * 0, the only one a cold item ever uses); when it is full the Worker places the peer in
 * `swarm:<root>:<shard>~1`, then `~2`, … up to `MAX_SUBSHARDS` objects per shard. Peers only meet
 * peers of their own object, so each sub-shard is an independent swarm of ≤ `MAX_PEERS_PER_SHARD`.
 *
 * Protocol with the object: every hop but the last carries "spill allowed"
 * (`connect-request.ts`); a full object then answers a plain 503 `swarm-full` without creating a
 * socket, and the Worker tries the next one. The last object answers as before (101, `swarm-full`
 * frame, close 1013). Cold case: one hop, as before; no extra storage or RPC.
 *
 * Hot case: a per-isolate hint remembers, for {@link HINT_TTL_MS}, the first sub-shard h not known
 * to be full, so joins of a viral item do not walk 0..h each time; and once a shard has spilled, a
 * join starts at h + hash(peerId) mod {@link SPILL_WINDOW}, so arrivals (and their frames) spread over
 * several filling objects instead of all hitting one, and a reconnecting peer tends to come back to
 * the same object. The walk goes up from there to the last sub-shard, then wraps to h; the object
 * tried last answers as before. Lower sub-shards that regain room are used again once the hint expires.
 *
 * Busy objects (`spill-budget.ts`): an object whose request budget is spent answers a spill-allowed
 * join 503 with {@link BUSY_HEADER}, though it has room. That does not move the hint (it will have
 * room again in a second); it widens the spread instead: a busy sub-shard k lets joins start
 * anywhere in [h, k + 2) for {@link BUSY_SPREAD_TTL_MS}, so the objects of a viral item fill side by side
 * (each taking a share of the arrivals) instead of one after another, and the spread grows one
 * object per busy answer, as far as the arrival rate needs.
 *
 * Invariant (the stats sum relies on it): a sub-shard k > 0 is only ever reached after some
 * sub-shard in [k − SPILL_WINDOW, k − 1] answered "full" or "busy" (and recorded that it spilled) —
 * the busy spread reaches k + 1 only after k answered busy, and k itself only by the same rule.
 */
import { swarmObjectName } from "../protocol/collection";
import { buildConnectRequest, type JoinGrant, SHARD_NAME } from "./connect-request";
import type { SwarmCoordinator } from "./swarm-coordinator";
import type { PeerLocation } from "../protocol/swarm-protocol";

/** Default objects per shard (sub-shard 0 included) when `MAX_SUBSHARDS` is unset or invalid. */
export const DEFAULT_MAX_SUBSHARDS = 16;
/** Upper bound of `MAX_SUBSHARDS` (name length: `<shard>~<k>` stays within 21 characters). */
export const MAX_SUBSHARDS_CEILING = 1000;
/** How long a "sub-shards below k are full" hint is trusted. */
export const HINT_TTL_MS = 5000;
/**
 * How long a busy spread lasts after the last busy answer that widened or renewed it: longer than
 * the full hint, because a spread wide enough stops producing busy answers, and narrowing it again
 * would pile the arrivals back onto a few objects (seen in the simulator as 5 s load waves).
 */
export const BUSY_SPREAD_TTL_MS = 30_000;
/** Hints kept per isolate (oldest dropped first). */
export const MAX_HINTS = 4096;
/** Sub-shards that fill side by side once a shard spilled. */
export const SPILL_WINDOW = 4;
/**
 * Busy answers a join may get before the objects it tries take it whenever they have room: each hop
 * is a request on a busy object, and walking far only moves the load around.
 */
export const MAX_BUSY_HOPS = 2;
/** Response header of a busy object's 503 (room left, request budget spent: `spill-budget.ts`). */
export const BUSY_HEADER = "X-Swarm-Busy";

/**
 * Where in the spill window a peer starts: FNV-1a of its id, mod `window` (stable across joins).
 * @example
 * spreadOffset("peer-1", 4); // 0..3
 */
export function spreadOffset(peerId: string, window: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < peerId.length; i++) h = Math.imul(h ^ peerId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % window;
}

/**
 * Objects per shard from the `MAX_SUBSHARDS` var (1 = spill-over off).
 * @example
 * maxSubshardsFromEnv({ MAX_SUBSHARDS: "4" }); // 4
 */
export function maxSubshardsFromEnv(env: { MAX_SUBSHARDS?: string }): number {
  const n = Number(env.MAX_SUBSHARDS);
  return Number.isSafeInteger(n) && n >= 1 ? Math.min(n, MAX_SUBSHARDS_CEILING) : DEFAULT_MAX_SUBSHARDS;
}

/**
 * The object name part of sub-shard `k` of `shard`.
 * @example
 * subshardName("EU", 0); // "EU"
 * subshardName("EU", 2); // "EU~2"
 */
export function subshardName(shard: string, k: number): string {
  return k === 0 ? shard : `${shard}~${k}`;
}

/**
 * Parses a requested shard name (`EU` or `EU~2`): null unless the base is a valid shard name and
 * 1 ≤ k < `max` without leading zeros — so a request can only name objects the Worker could place
 * peers in.
 * @example
 * parseSubshard("EU~2", 16); // { shard: "EU", k: 2 }
 * parseSubshard("EU~16", 16); // null
 */
export function parseSubshard(name: string, max: number): { shard: string; k: number } | null {
  const m = /^([^~]*)(?:~([1-9][0-9]{0,3}))?$/.exec(name);
  if (!m || !SHARD_NAME.test(m[1]!)) return null;
  const k = m[2] === undefined ? 0 : Number(m[2]);
  return k < max ? { shard: m[1]!, k } : null;
}

/**
 * Per-isolate memory of the first sub-shard not known to be full, per `<root>:<shard>`.
 * Only a hint: a wrong one costs a hop or places a peer one sub-shard higher than needed.
 */
export class SpillHints {
  readonly #map = new Map<string, { k: number; until: number }>();
  /** Busy spread per key: joins may start below `hi` (exclusive) until `until`. */
  readonly #busy = new Map<string, { hi: number; until: number }>();

  /** Where to start for `key` at `now` (0 without a live hint). */
  start(key: string, now: number): number {
    const h = this.#map.get(key);
    if (h === undefined) return 0;
    if (now < h.until) return h.k;
    this.#map.delete(key);
    return 0;
  }

  /** Sub-shard `k` of `key` answered full: when it is the hinted one, the hint moves past it. */
  full(key: string, k: number, now: number): void {
    if (k !== this.start(key, now)) return;
    this.#map.delete(key); // re-insert: the Map's order is the eviction order
    this.#map.set(key, { k: k + 1, until: now + HINT_TTL_MS });
    if (this.#map.size > MAX_HINTS) this.#map.delete(this.#map.keys().next().value!);
  }

  /** Sub-shard `k` of `key` answered busy: joins may start anywhere below k + 2 for a while. */
  busy(key: string, k: number, now: number): void {
    const hi = Math.max(k + 2, this.spreadEnd(key, now));
    this.#busy.delete(key);
    this.#busy.set(key, { hi, until: now + BUSY_SPREAD_TTL_MS });
    if (this.#busy.size > MAX_HINTS) this.#busy.delete(this.#busy.keys().next().value!);
  }

  /** Where the busy spread of `key` ends (exclusive; 0 without one). */
  spreadEnd(key: string, now: number): number {
    const b = this.#busy.get(key);
    if (b === undefined) return 0;
    if (now < b.until) return b.hi;
    this.#busy.delete(key);
    return 0;
  }

  /** Forgets everything (tests). */
  clear(): void {
    this.#map.clear();
    this.#busy.clear();
  }
}

/** The isolate's hints (module scope lives as long as the isolate). */
export const spillHints = new SpillHints();

/** What {@link connectSpilling} needs. */
export interface SpillJoin {
  ns: DurableObjectNamespace<SwarmCoordinator>;
  root: string;
  shard: string;
  peerId: string;
  location: PeerLocation;
  /** What the join token grants (`connect-request.ts`). */
  grant: JoinGrant;
  /** Objects per shard (`MAX_SUBSHARDS`). */
  max: number;
  hints?: SpillHints;
  now?: number;
  /** Spread once spilled ({@link SPILL_WINDOW}). */
  window?: number;
}

/**
 * The order in which a join tries sub-shards: from h + offset up to `max` − 1, then h .. that start.
 * @example
 * walkOrder(2, 1, 6); // [3, 4, 5, 2]
 */
export function walkOrder(h: number, offset: number, max: number): number[] {
  const lo = Math.min(h, max - 1);
  const start = Math.min(lo + offset, max - 1);
  const order: number[] = [];
  for (let k = start; k < max; k++) order.push(k);
  for (let k = lo; k < start; k++) order.push(k);
  return order;
}

/**
 * The sub-shards a join of `peerId` tries, in order: with no hint the cold path from 0; once the
 * shard spilled (hint h > 0) from h + FNV-1a(peerId) mod `window`; while objects are busy, spread
 * over [h, busy end) when that is wider. Then up to the last and wrapping back to h ({@link walkOrder}).
 * @example
 * spillOrder(new SpillHints(), "root:EU", "peer-1", Date.now(), 16); // [0, 1, …, 15]
 */
export function spillOrder(hints: SpillHints, key: string, peerId: string, now: number, max: number, window = SPILL_WINDOW): number[] {
  const h = hints.start(key, now);
  const spread = Math.max(h > 0 ? window : 1, hints.spreadEnd(key, now) - h);
  return walkOrder(h, spread > 1 ? spreadOffset(peerId, spread) : 0, max);
}

/**
 * Hands a verified upgrade to the first sub-shard with room, in {@link walkOrder}. Returns the
 * object's answer (101, or the last tried object's `swarm-full` socket), the sub-shard index it
 * came from, and how many objects were asked.
 * @example
 * const { response } = await connectSpilling({ ns: env.SWARM, root, shard: "EU", peerId, location, max: 16 });
 */
export async function connectSpilling(j: SpillJoin): Promise<{ response: Response; k: number; hops: number }> {
  const hints = j.hints ?? spillHints;
  const now = j.now ?? Date.now();
  const key = `${j.root}:${j.shard}`;
  // No hint: the cold path, sub-shard 0 first. Spread only once this shard is known to spill or be busy.
  const order = spillOrder(hints, key, j.peerId, now, j.max, j.window);
  let busyHops = 0;
  for (let i = 0; ; i++) {
    const k = order[i]!;
    const name = subshardName(j.shard, k);
    const last = i === order.length - 1;
    const stub = j.ns.get(j.ns.idFromName(swarmObjectName(j.root, name)));
    const busyOk = busyHops < MAX_BUSY_HOPS;
    const response = await stub.fetch(buildConnectRequest({ peerId: j.peerId, root: j.root, shard: name, location: j.location, grant: j.grant, spill: !last, busyOk }));
    if (last || response.status !== 503) return { response, k, hops: i + 1 };
    await response.body?.cancel();
    if (response.headers.get(BUSY_HEADER) === "1") {
      hints.busy(key, k, now);
      busyHops++;
    } else hints.full(key, k, now);
  }
}
