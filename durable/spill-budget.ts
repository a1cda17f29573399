/**
 * The request-rate budget of one coordinator object, for spill-over. A Durable Object has a soft
 * limit of ~1,000 requests/s (every inbound WebSocket frame and every upgrade is one); a viral item's
 * arrivals all land on the same sub-shard until it holds `MAX_PEERS_PER_SHARD` sockets, which at
 * hundreds of arrivals/s is many times that limit (docs/simulation.md §4). So an object also counts
 * as "busy" — it answers a spill-allowed join with 503 like a full one, and the Worker places the
 * peer in another sub-shard (`subshards.ts`) — when
 * - the requests it received over the last second reached {@link SPILL_FRAME_BUDGET}, or
 * - the joins it accepted lately, each charged the frames a requester sends over its download
 *   ({@link SPILL_JOIN_COST}), reached that budget: frames lag joins by seconds, so counting them
 *   alone would let a burst of joins in before the object notices.
 * An object with fewer than {@link SPILL_MIN_SOCKETS} sockets is never busy: a burst of joins to a
 * small swarm (a page that many visitors open at once) stays one swarm, where holders find each
 * other; spreading pays only for crowds.
 * Busy is soft: the last object a join tries never refuses for it (only for a full socket count),
 * so nobody is turned away because of the budget. Memory only: an object that hibernated had no
 * recent traffic, so losing the counts on eviction loses nothing.
 */

/** Requests per second one object aims to stay under (80 % of the ~1,000/s soft limit: headroom for uneven arrivals). */
export const SPILL_FRAME_BUDGET = 800;
/**
 * Frames one join is charged up front: about what a requester of one item sends the object over its
 * download (the viral-item simulation measures ~18), so the object admits ≈ budget ÷ cost joins/s.
 */
export const SPILL_JOIN_COST = 20;
/** Sockets an object holds before it can be busy (see the module doc). */
export const SPILL_MIN_SOCKETS = 100;

/** Budget parameters (tests and the simulator may change them). */
export interface SpillBudgetLimits {
  frameBudget: number;
  joinCost: number;
  /** Sockets below which the object is never busy. */
  minSockets: number;
}

/** The deployed budget. */
export const DEFAULT_SPILL_BUDGET: SpillBudgetLimits = { frameBudget: SPILL_FRAME_BUDGET, joinCost: SPILL_JOIN_COST, minSockets: SPILL_MIN_SOCKETS };

/**
 * Counts one object's requests and joins (time in ms, injected).
 * @example
 * const b = new SpillBudget();
 * b.request(now); // every frame and upgrade
 * if (b.busy(now, sockets)) return spill503(); else b.joined(now);
 */
export class SpillBudget {
  /** Requests in the current and the previous whole second. */
  #sec = -1;
  #cur = 0;
  #prev = 0;
  /** Join charge: a leaky level that drains at `frameBudget` per second. */
  #level = 0;
  #levelAt = 0;

  constructor(readonly limits: SpillBudgetLimits = DEFAULT_SPILL_BUDGET) {}

  #roll(now: number): void {
    const s = Math.floor(now / 1000);
    if (s === this.#sec) return;
    this.#prev = s === this.#sec + 1 ? this.#cur : 0;
    this.#cur = 0;
    this.#sec = s;
  }

  #drain(now: number): number {
    const elapsed = Math.max(0, now - this.#levelAt) / 1000;
    this.#level = Math.max(0, this.#level - elapsed * this.limits.frameBudget);
    this.#levelAt = Math.max(this.#levelAt, now);
    return this.#level;
  }

  /** One inbound request (a frame, or an upgrade, accepted or not). */
  request(now: number, n = 1): void {
    this.#roll(now);
    this.#cur += n;
  }

  /** Requests over the last second (the previous second weighted by the part still inside it). */
  rate(now: number): number {
    this.#roll(now);
    const into = (now - this.#sec * 1000) / 1000;
    return this.#cur + this.#prev * (1 - into);
  }

  /** Whether a spill-allowed join should go to another sub-shard, with `sockets` live on the object. */
  busy(now: number, sockets: number): boolean {
    if (sockets < this.limits.minSockets) return false;
    return this.rate(now) >= this.limits.frameBudget || this.#drain(now) + this.limits.joinCost > this.limits.frameBudget;
  }

  /** A join was accepted: charge its expected frames. */
  joined(now: number): void {
    this.#level = this.#drain(now) + this.limits.joinCost;
  }
}
