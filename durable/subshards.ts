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
 * Hot case: a per-isolate hint remembers, for {@link HINT_TTL_MS}, the first sub-shard not known to
 * be full, so consecutive joins of a viral item start there instead of walking 0..k each time. Lower
 * sub-shards that regain room are used again once the hint expires.
 */
import { buildConnectRequest, SHARD_NAME } from "./connect-request";
import type { Swarm } from "./swarm";
import type { PeerLocation } from "../protocol/swarm-protocol";

/** Default objects per shard (sub-shard 0 included) when `MAX_SUBSHARDS` is unset or invalid. */
export const DEFAULT_MAX_SUBSHARDS = 16;
/** Upper bound of `MAX_SUBSHARDS` (name length: `<shard>~<k>` stays within 21 characters). */
export const MAX_SUBSHARDS_CEILING = 1000;
/** How long a "sub-shards below k are full" hint is trusted. */
export const HINT_TTL_MS = 5000;
/** Hints kept per isolate (oldest dropped first). */
export const MAX_HINTS = 4096;

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

  /** Where to start for `key` at `now` (0 without a live hint). */
  start(key: string, now: number): number {
    const h = this.#map.get(key);
    if (h === undefined) return 0;
    if (now < h.until) return h.k;
    this.#map.delete(key);
    return 0;
  }

  /** Sub-shard `k - 1` of `key` answered full: start at `k` for the next {@link HINT_TTL_MS}. */
  full(key: string, k: number, now: number): void {
    this.#map.delete(key); // re-insert: the Map's order is the eviction order
    this.#map.set(key, { k, until: now + HINT_TTL_MS });
    if (this.#map.size > MAX_HINTS) this.#map.delete(this.#map.keys().next().value!);
  }

  /** Forgets everything (tests). */
  clear(): void {
    this.#map.clear();
  }
}

/** The isolate's hints (module scope lives as long as the isolate). */
export const spillHints = new SpillHints();

/** What {@link connectSpilling} needs. */
export interface SpillJoin {
  ns: DurableObjectNamespace<Swarm>;
  root: string;
  shard: string;
  peerId: string;
  location: PeerLocation;
  /** Objects per shard (`MAX_SUBSHARDS`). */
  max: number;
  hints?: SpillHints;
  now?: number;
}

/**
 * Hands a verified upgrade to the first sub-shard with room, starting at the hint. Returns the
 * object's answer (101, or the last object's `swarm-full` socket) and the sub-shard index it came
 * from.
 * @example
 * const { response } = await connectSpilling({ ns: env.SWARM, root, shard: "EU", peerId, location, max: 16 });
 */
export async function connectSpilling(j: SpillJoin): Promise<{ response: Response; k: number; hops: number }> {
  const hints = j.hints ?? spillHints;
  const now = j.now ?? Date.now();
  const key = `${j.root}:${j.shard}`;
  let k = Math.min(hints.start(key, now), j.max - 1);
  for (let hops = 1; ; hops++, k++) {
    const name = subshardName(j.shard, k);
    const last = k >= j.max - 1;
    const stub = j.ns.get(j.ns.idFromName(`swarm:${j.root}:${name}`));
    const response = await stub.fetch(buildConnectRequest({ peerId: j.peerId, root: j.root, shard: name, location: j.location, spill: !last }));
    if (last || response.status !== 503) return { response, k, hops };
    await response.body?.cancel();
    hints.full(key, k + 1, now);
  }
}
