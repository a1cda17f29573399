/**
 * Item-level capacity model: how much of a static catalogue an online population of browsers can
 * serve, under churn, by the trace-based rule of `offload-limit.ts` — at a million peers.
 *
 * Scale tricks (approximations are listed in docs/simulation.md):
 * - No bandwidth, no chunks: a request is one item (images are ~31 KB, a single chunk), and the
 *   question is only "is an online holder in my shard?". Online holders are counted per
 *   (shard, item) in one Int32Array.
 * - A peer's store is not kept in memory: view j of peer u is the Zipf draw seeded by hash(u, j),
 *   so the items a peer holds (its last Q views, Q = quota / item size) can be regenerated when it
 *   goes offline or evicts. Memory is O(peers + shards × items), not O(peers × store).
 * - Eviction approximates LRU by "the last Q views" (a repeated view occupies two slots).
 * - A repeat view by the same peer counts as served (the holder is itself): compare against the
 *   `localShare` estimate to separate browser-cache hits from peer hits.
 */
import { EventQueue } from "./event-queue";
import { hashUnit, Rng } from "./prng";
import { ZipfSampler } from "./zipf";
import type { TraceEvent } from "./offload-limit";

/** Parameters of one capacity run. */
export interface CapacityParams {
  seed: number;
  /** Items in the (possibly scaled-down) catalogue. */
  items: number;
  zipfS: number;
  itemBytes: number;
  /** Target online population (peers online at any instant, on average). */
  online: number;
  /** Total population = online × this (users alternate online/offline). */
  populationFactor: number;
  /** Mean session length, seconds (exponential). */
  sessionMeanS: number;
  /** Item views per second of an online peer (Poisson). */
  viewsPerS: number;
  /** Views every peer holds from earlier sessions at t = 0 (returning visitors). */
  priorViews: number;
  /** Weights of the swarm shards (continents); a peer's shard is drawn from them. */
  shardWeights: readonly number[];
  mobileShare: number;
  desktopQuotaBytes: number;
  mobileQuotaBytes: number;
  /** Simulated seconds; requests are measured over all of it (the state starts stationary). */
  horizonS: number;
  /**
   * Start stationary (default): peers online at t = 0 are part-way through a session and already
   * hold its views. `false` starts every session empty, so the trace alone explains all holdings.
   */
  stationaryStart?: boolean;
  /** Receives every event in time order (tests compare it with `offloadLimit`). Slow: small runs only. */
  onTrace?: (e: TraceEvent) => void;
}

/** Result of {@link runCapacity}. */
export interface CapacityResult {
  requests: number;
  /** Requests with an online holder in the requester's shard (including the requester itself). */
  served: number;
  offload: number;
  /** Mean online peers over the run. */
  meanOnline: number;
  /** Mean items held per online peer (with repeats). */
  meanHeld: number;
  events: number;
  /** Each peer's shard (only when tracing). */
  shards?: Uint8Array;
}

const ON = 1, OFF = 2, VIEW = 3;

/**
 * Runs the capacity model once.
 * @example
 * runCapacity({ ...defaults, online: 100_000 }).offload; // e.g. 0.83
 */
export function runCapacity(p: CapacityParams): CapacityResult {
  const rng = new Rng(p.seed);
  const zipf = new ZipfSampler(p.items, p.zipfS);
  const shards = p.shardWeights.length;
  const holders = new Int32Array(shards * p.items);
  const users = Math.max(1, Math.round(p.online * p.populationFactor));
  const offMean = p.sessionMeanS * (p.populationFactor - 1);
  const pOnline = 1 / p.populationFactor;
  const shard = new Uint8Array(users);
  const quota = new Int32Array(users);
  const views = new Int32Array(users);
  const online = new Uint8Array(users);
  const viewEvent = new Float64Array(users);
  const q = new EventQueue();
  const salt = rng.nextU32();

  // The item of view j of user u: random access into u's own stream.
  let su = 0, sj = 0, sk = 0;
  const stream = () => hashUnit(su ^ salt, sj, sk++);
  const itemOf = (u: number, j: number): number => {
    su = u; sj = j; sk = 0;
    return zipf.sample(stream);
  };
  const hold = (u: number, d: number) => {
    const base = (shard[u] as number) * p.items;
    const v = views[u] as number;
    for (let j = Math.max(0, v - (quota[u] as number)); j < v; j++) holders[base + itemOf(u, j)]! += d;
  };
  const trace = p.onTrace;

  for (let u = 0; u < users; u++) {
    shard[u] = rng.pick(p.shardWeights);
    const bytes = rng.next() < p.mobileShare ? p.mobileQuotaBytes : p.desktopQuotaBytes;
    quota[u] = Math.floor(bytes / p.itemBytes);
    views[u] = p.priorViews;
    if (rng.next() < pOnline) {
      // Stationary start: an online peer is part-way through its session (age ~ Exp(mean), by
      // memorylessness) and already made the views of that age.
      if (p.stationaryStart !== false) views[u] = p.priorViews + poisson(rng, p.viewsPerS * rng.exp(p.sessionMeanS));
      goOnline(u, 0);
    } else q.push(rng.exp(offMean), ON, u, 0);
  }

  function goOnline(u: number, t: number) {
    online[u] = 1;
    trace?.({ t, type: "on", peer: u });
    hold(u, +1);
    q.push(t + rng.exp(p.sessionMeanS), OFF, u, 0);
    viewEvent[u] = q.push(t + rng.exp(1 / p.viewsPerS), VIEW, u, 0);
  }

  let requests = 0, served = 0, events = 0, onlineArea = 0, heldArea = 0, onlineNow = 0, lastT = 0;
  let heldNow = 0;
  for (let u = 0; u < users; u++) if (online[u]) { onlineNow++; heldNow += Math.min(views[u] as number, quota[u] as number); }

  while (q.pop()) {
    const t = q.now;
    if (t > p.horizonS) break;
    events++;
    onlineArea += onlineNow * (t - lastT);
    heldArea += heldNow * (t - lastT);
    lastT = t;
    const u = q.a;
    if (q.kind === VIEW) {
      const v = views[u] as number;
      const item = itemOf(u, v);
      trace?.({ t, type: "request", peer: u, item });
      const idx = (shard[u] as number) * p.items + item;
      requests++;
      if ((holders[idx] as number) > 0) served++;
      holders[idx]!++;
      views[u] = v + 1;
      const Q = quota[u] as number;
      if (v + 1 > Q) holders[(shard[u] as number) * p.items + itemOf(u, v - Q)]!--;
      else heldNow++;
      viewEvent[u] = q.push(t + rng.exp(1 / p.viewsPerS), VIEW, u, 0);
    } else if (q.kind === OFF) {
      online[u] = 0;
      onlineNow--;
      heldNow -= Math.min(views[u] as number, quota[u] as number);
      q.cancel(viewEvent[u] as number);
      hold(u, -1);
      trace?.({ t, type: "off", peer: u });
      q.push(t + rng.exp(offMean), ON, u, 0);
    } else {
      onlineNow++;
      heldNow += Math.min(views[u] as number, quota[u] as number);
      goOnline(u, t);
    }
  }
  onlineArea += onlineNow * (p.horizonS - lastT);
  heldArea += heldNow * (p.horizonS - lastT);
  const meanOnline = onlineArea / p.horizonS;
  const result: CapacityResult = { requests, served, offload: requests ? served / requests : 0, meanOnline, meanHeld: heldArea / p.horizonS / Math.max(1, meanOnline), events };
  if (trace) result.shards = shard;
  return result;
}

/** Poisson draw (inversion for small means, normal approximation above 50). */
function poisson(rng: Rng, mean: number): number {
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * rng.normal()));
  const l = Math.exp(-mean);
  let k = 0, prod = rng.next();
  while (prod > l) { k++; prod *= rng.next(); }
  return k;
}

/**
 * Independent-holder approximation of the same model, for the full-size catalogue where simulation
 * does not fit: a request for item i in shard s finds a holder with probability
 * 1 - (1 - h_i)^(N·w_s), where h_i = 1 - (1 - p_i)^v is the chance one peer holding v views has i.
 * Ranks are bucketed geometrically above 10,000 (p_i varies < 0.1% inside a bucket).
 * @example
 * analyticOffload({ items: 16e6, zipfS: 0.8, online: 2e6, heldViews: 91, shardWeights: [1] });
 */
export function analyticOffload(a: { items: number; zipfS: number; online: number; heldViews: number; shardWeights: readonly number[]; mobileShare?: number; mobileHeldViews?: number }): number {
  const wsum = a.shardWeights.reduce((x, y) => x + y, 0);
  let norm = 0;
  const buckets: [number, number][] = []; // [representative rank (1-based), count]
  for (let k = 1; k <= a.items; ) {
    const width = k < 10_000 ? 1 : Math.max(1, Math.floor(k * 0.001));
    const n = Math.min(width, a.items - k + 1);
    buckets.push([k + (n - 1) / 2, n]);
    k += n;
  }
  for (const [r, n] of buckets) norm += n * Math.pow(r, -a.zipfS);
  const ms = a.mobileShare ?? 0;
  const mv = a.mobileHeldViews ?? a.heldViews;
  let total = 0;
  for (const [r, n] of buckets) {
    const pi = Math.pow(r, -a.zipfS) / norm;
    const hi = (1 - ms) * -Math.expm1(a.heldViews * Math.log1p(-pi)) + ms * -Math.expm1(mv * Math.log1p(-pi));
    let cover = 0;
    for (const w of a.shardWeights) cover += (w / wsum) * -Math.expm1(a.online * (w / wsum) * Math.log1p(-hi));
    total += n * pi * cover;
  }
  return total;
}
