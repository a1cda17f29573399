/**
 * The simulated swarm's side of the coordinator: which Durable Object a peer's membership lives in
 * (`swarm:<item>:<shard>[~k]`, or one per collection × shard for a stream) and every inbound frame
 * each object receives, counted with the message costs of `coordinator-costs.ts`. Joins are placed
 * with the Worker's spill-over rule (`swarm-objects.ts`); every object a join tries receives its
 * upgrade, and a refused join sends nothing more (no socket). The same frames are also counted as
 * if objects were keyed by other shardings (`alsoCount`).
 */
import { MAX_PEERS_PER_SHARD, MSG } from "./coordinator-costs";
import type { EventQueue } from "./event-queue";
import { ObjectLoad, type SwarmMetrics } from "./swarm-metrics";
import { DEFAULT_MAX_SUBSHARDS, SPILL_WINDOW, SwarmObjects } from "./swarm-objects";
import type { SwarmParams } from "./swarm-params";
import { CONTINENTS, type Population } from "./world";

/**
 * Coordinator objects and the frames they receive during one run.
 * @example
 * const traffic = new CoordinatorTraffic(p, pop, q, metrics, nItems);
 * const object = traffic.join(item, peer); // -1: refused by every sub-shard tried
 * if (object >= 0) traffic.msg(object, peer, MSG.want, "want");
 */
export class CoordinatorTraffic {
  /** Every object and its members. */
  readonly objs: SwarmObjects;
  /** The same frames per object under the `alsoCount` shardings. */
  readonly alsoCounted: Map<string, ObjectLoad>;
  /** Shards per item: continents, 256 colo slots, or 1 (global). */
  readonly shards: number;
  /** One swarm for all items (a stream's collection): one membership per peer. */
  readonly collection: boolean;
  readonly #p: SwarmParams;
  readonly #pop: Population;
  readonly #q: EventQueue;
  readonly #m: SwarmMetrics;
  readonly #nItems: number;

  constructor(p: SwarmParams, pop: Population, q: EventQueue, m: SwarmMetrics, nItems: number) {
    this.#p = p;
    this.#pop = pop;
    this.#q = q;
    this.#m = m;
    this.#nItems = nItems;
    this.collection = p.workload.kind === "stream";
    this.shards = p.shardBy === "continent" ? CONTINENTS.length : p.shardBy === "colo" ? 256 : 1;
    this.objs = new SwarmObjects(p.maxPeersPerShard ?? MAX_PEERS_PER_SHARD, p.maxSubshards ?? DEFAULT_MAX_SUBSHARDS, p.spillWindow ?? SPILL_WINDOW, p.spillBudget ?? null);
    this.alsoCounted = new Map((p.alsoCount ?? []).map((by) => [by, new ObjectLoad()] as const));
  }

  /** `peer`'s shard under the run's sharding. */
  #shardOf(peer: number): number {
    const pop = this.#pop;
    return this.shards === 1 ? 0 : this.#p.shardBy === "colo" ? (pop.metro[peer] as number) : (pop.continent[peer] as number);
  }

  /** The shard key a join of `item` by `peer` starts from. */
  #keyOf(item: number, peer: number): number {
    return (this.collection ? 0 : item) * this.shards + this.#shardOf(peer);
  }

  /** A membership: per peer × item, or per peer in a collection. */
  #memberKey(item: number, peer: number): number {
    return peer * this.#nItems + (this.collection ? 0 : item);
  }

  /** The object key of `item` for `peer` under another sharding `by`. */
  #altKey(by: string, item: number, peer: number): number {
    const pop = this.#pop;
    return by === "global" ? item : item * 256 + (by === "colo" ? (pop.metro[peer] as number) : (pop.continent[peer] as number));
  }

  /** `n` inbound frames of `kind` from `peer` to the object `key`. */
  msg(key: number, peer: number, n: number, kind: keyof typeof MSG): void {
    const now = this.#q.now;
    this.#m.msg(now, key, n, kind);
    if (kind !== "join") this.objs.request(key, now, n); // (an upgrade is counted by the placement itself)
    for (const [by, load] of this.alsoCounted) load.add(now, this.#altKey(by, Math.floor(this.objs.shardKeyOf(key) / this.shards), peer), n);
  }

  /** Joins `item`'s swarm of `peer`'s shard: the object it got (-1: refused). Every object tried gets the upgrade. */
  join(item: number, peer: number): number {
    const had = this.objs.objectOf(this.#memberKey(item, peer));
    if (this.collection && had >= 0) return had; // the collection's socket is already open
    const r = this.objs.join(this.#keyOf(item, peer), this.#memberKey(item, peer), peer, this.#pop.peerId(peer), this.#q.now);
    for (const o of r.tried) this.msg(o, peer, MSG.join, "join");
    if (r.object < 0) this.#m.totals.refused++;
    this.#m.totals.spillHops += r.tried.length - 1; // each a 503 from a full object
    return r.object;
  }

  /** Leaves `item`'s swarm (a collection's for a stream) with `bye`, if `peer` is a member. */
  leave(item: number, peer: number): void {
    const o = this.objs.leave(this.#memberKey(item, peer), peer);
    if (o >= 0) this.msg(o, peer, MSG.bye, "bye");
  }
}
