/**
 * Swarm membership per coordinator object, with the Worker's spill-over placement
 * (`durable/subshards.ts`): a shard's first object holds at most `cap` sockets; when it is full a
 * join walks the sub-shards `<shard>~1`, `~2`, … up to `maxSubshards` objects in the real
 * `walkOrder` (start h + FNV-1a(peerId) mod `SPILL_WINDOW` once the shard has spilled, wrap back to
 * h), with the real `SpillHints` class (h = first sub-shard not known to be full, trusted 5 s).
 * Peers of one object only ever see peers of that object.
 *
 * Simplification, on purpose: ONE hint per shard for the whole simulation, as if every join went
 * through the same Worker isolate. Real traffic is spread over many isolates, each learning the
 * hint on its own, so real joins pay more refused hops (one per full sub-shard an isolate has not
 * yet seen full) and land a little lower than here; peers per object are unaffected.
 */
import { DEFAULT_MAX_SUBSHARDS, MAX_BUSY_HOPS, SPILL_WINDOW, SpillHints, spillOrder } from "../durable/subshards";
import { SpillBudget, type SpillBudgetLimits } from "../durable/spill-budget";

export { DEFAULT_MAX_SUBSHARDS, SPILL_WINDOW } from "../durable/subshards";

/** One coordinator object's sockets (swap-remove array + index). */
export interface SwarmObject {
  members: number[];
  pos: Map<number, number>;
}

/** What a placement costs and where it ended. */
export interface JoinOutcome {
  /** Object key (`shardKey × maxSubshards + k`), or -1 when every sub-shard tried was full. */
  object: number;
  /** Objects asked, in order (each one receives one inbound upgrade). */
  tried: number[];
}

/**
 * Which sub-shards a join tries, in order — exactly the Worker's rule (`connectSpilling`).
 * @example
 * placementOrder(new SpillHints(), "7", "peer-1", 0, 16); // [0, 1, …, 15]: no hint yet, cold path
 */
export function placementOrder(hints: SpillHints, key: string, peerId: string, nowMs: number, max: number, window = SPILL_WINDOW): number[] {
  return spillOrder(hints, key, peerId, nowMs, max, window);
}

/** All coordinator objects of a run and which object each (peer, item) membership lives in. */
export class SwarmObjects {
  readonly objects = new Map<number, SwarmObject>();
  readonly hints = new SpillHints();
  readonly #placed = new Map<number, number>();

  /**
   * @param cap sockets per object (`MAX_PEERS_PER_SHARD`)
   * @param maxSubshards objects per shard, sub-shard 0 included (`MAX_SUBSHARDS`; 1 = hard cap)
   */
  /** Each object's request budget (`durable/spill-budget.ts`), when the run models it. */
  readonly #budgets = new Map<number, SpillBudget>();

  /**
   * @param budget the coordinator's request budget: a spill-allowed join to a busy object is
   *   answered 503 like a full one (null: objects are only ever full, the deployment before it)
   */
  constructor(readonly cap: number, readonly maxSubshards: number = DEFAULT_MAX_SUBSHARDS, readonly window = SPILL_WINDOW, readonly budget: SpillBudgetLimits | null = null) {}

  /** `n` inbound requests to `object` at `nowS` (what its budget counts). */
  request(object: number, nowS: number, n = 1): void {
    if (this.budget) this.#budgetOf(object).request(nowS * 1000, n);
  }

  #budgetOf(object: number): SpillBudget {
    let b = this.#budgets.get(object);
    if (!b) this.#budgets.set(object, (b = new SpillBudget(this.budget ?? undefined)));
    return b;
  }

  /** The item's shard key of an object key. */
  shardKeyOf(object: number): number {
    return Math.floor(object / this.maxSubshards);
  }

  /** The object a membership (`mk`, unique per peer × item) lives in, or -1. */
  objectOf(mk: number): number {
    return this.#placed.get(mk) ?? -1;
  }

  /** Sockets of an object (empty when unknown). */
  members(object: number): readonly number[] {
    return this.objects.get(object)?.members ?? [];
  }

  /** Whether `peer` is a member of `object`. */
  has(object: number, peer: number): boolean {
    return this.objects.get(object)?.pos.has(peer) === true;
  }

  /**
   * Places `peer` (membership `mk`) in shard `shardKey` at `nowS`. An existing membership is kept
   * (its own object lets a member back in). A full object on the way answers 503 and moves the hint,
   * as in `connectSpilling`; the last one tried refuses (close 1013).
   */
  join(shardKey: number, mk: number, peer: number, peerId: string, nowS: number): JoinOutcome {
    const had = this.#placed.get(mk);
    if (had !== undefined) return { object: had, tried: [had] };
    const key = String(shardKey);
    const nowMs = nowS * 1000;
    const tried: number[] = [];
    let busyHops = 0;
    const order = this.maxSubshards > 1 ? placementOrder(this.hints, key, peerId, nowMs, this.maxSubshards, this.window) : [0];
    for (let i = 0; i < order.length; i++) {
      const k = order[i] as number;
      const object = shardKey * this.maxSubshards + k;
      tried.push(object);
      this.request(object, nowS); // the upgrade itself is a request on the object
      let s = this.objects.get(object);
      if (!s) this.objects.set(object, (s = { members: [], pos: new Map() }));
      const spillAllowed = i < order.length - 1;
      // Busy (request budget spent) refuses only spill-allowed joins; the last object tried takes the peer.
      const busy = spillAllowed && busyHops < MAX_BUSY_HOPS && this.budget !== null && this.#budgetOf(object).busy(nowMs, s.members.length);
      if (s.members.length < this.cap && !busy) {
        if (this.budget) this.#budgetOf(object).joined(nowMs);
        s.pos.set(peer, s.members.length);
        s.members.push(peer);
        this.#placed.set(mk, object);
        return { object, tried };
      }
      // The last one refuses; no hint move. A busy one (room left) widens the spread instead.
      if (spillAllowed) {
        if (busy && s.members.length < this.cap) { this.hints.busy(key, k, nowMs); busyHops++; }
        else this.hints.full(key, k, nowMs);
      }
    }
    return { object: -1, tried };
  }

  /** Removes membership `mk`; returns the object it left, or -1 when it was not a member. */
  leave(mk: number, peer: number): number {
    const object = this.#placed.get(mk);
    if (object === undefined) return -1;
    this.#placed.delete(mk);
    const s = this.objects.get(object) as SwarmObject;
    const i = s.pos.get(peer) as number;
    const last = s.members.pop() as number;
    if (last !== peer) { s.members[i] = last; s.pos.set(last, i); }
    s.pos.delete(peer);
    return object;
  }
}
