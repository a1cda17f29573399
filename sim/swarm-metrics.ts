/**
 * What the swarm engine measures, in time bins and in total: bytes from peers / edge / origin,
 * coordinator messages per Durable Object per second, swarm sizes, storage, completion times.
 */

/** Per-bin series (index = bin). */
export interface Bins {
  peerBytes: number[];
  edgeBytes: number[];
  originBytes: number[];
  /** Highest inbound messages/s seen by any one coordinator object during the bin. */
  maxMsgsPerObject: number[];
  /** Highest number of members of any one swarm shard (sockets on one object), sampled. */
  maxSwarm: number[];
  online: number[];
  /** Storage used by online browsers / their quotas, sampled. */
  storageUsed: number[];
}

/**
 * Inbound frames per coordinator object, rolled over each simulated second: the busiest object's
 * count and the number of active objects, per second.
 */
export class ObjectLoad {
  /** Max inbound messages/s over objects, per simulated second. */
  readonly perSecondMax: number[] = [];
  /** Number of objects that received any message, per simulated second. */
  readonly perSecondObjects: number[] = [];
  private sec = 0;
  private counts = new Map<number, number>();

  /** `n` inbound frames to object `key` at time `t` (non-decreasing). */
  add(t: number, key: number, n: number): void {
    const s = Math.floor(t);
    if (s !== this.sec) this.rollover(s);
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  /** Flushes the current second and returns its busiest object's count. */
  rollover(next: number): number {
    let m = 0;
    for (const v of this.counts.values()) if (v > m) m = v;
    while (this.perSecondMax.length < this.sec) { this.perSecondMax.push(0); this.perSecondObjects.push(0); }
    this.perSecondMax[this.sec] = m;
    this.perSecondObjects[this.sec] = this.counts.size;
    this.counts.clear();
    const sec = this.sec;
    this.sec = next;
    return sec;
  }
}

/**
 * Collects the metrics. `msg()` counts inbound frames per object and rolls over each simulated
 * second; the per-second maximum across objects is kept as a 1 s series too.
 */
export class SwarmMetrics {
  readonly bins: Bins = { peerBytes: [], edgeBytes: [], originBytes: [], maxMsgsPerObject: [], maxSwarm: [], online: [], storageUsed: [] };
  /** Inbound frames per object per second (the run's own sharding). */
  readonly load = new ObjectLoad();
  /** Max inbound messages/s over objects, per simulated second. */
  get perSecondMax(): number[] { return this.load.perSecondMax; }
  /** Number of objects that received any message, per simulated second. */
  get perSecondObjects(): number[] { return this.load.perSecondObjects; }
  readonly ttc: number[] = [];
  readonly ttcEdgeOnly: number[] = [];
  totals = { peerBytes: 0, edgeBytes: 0, originBytes: 0, pinBytes: 0, wastedBytes: 0, msgs: 0, downloads: 0, completed: 0, abandoned: 0, localHits: 0, deadlineMisses: 0, refused: 0, spillHops: 0, segments: 0 };
  constructor(readonly binS: number, readonly warmupS: number) {}

  private bin(t: number): number {
    return Math.floor(t / this.binS);
  }
  private add(series: number[], t: number, v: number): void {
    const b = this.bin(t);
    while (series.length <= b) series.push(0);
    series[b] = (series[b] as number) + v;
  }
  private max(series: number[], t: number, v: number): void {
    const b = this.bin(t);
    while (series.length <= b) series.push(0);
    if (v > (series[b] as number)) series[b] = v;
  }

  bytes(t: number, peer: number, edge: number): void {
    this.add(this.bins.peerBytes, t, peer);
    this.add(this.bins.edgeBytes, t, edge);
    if (t >= this.warmupS) { this.totals.peerBytes += peer; this.totals.edgeBytes += edge; }
  }
  origin(t: number, bytes: number): void {
    this.add(this.bins.originBytes, t, bytes);
    if (t >= this.warmupS) this.totals.originBytes += bytes;
  }
  /** Inbound frames after warm-up by protocol step (`MSG` key): which frames dominate per requester. */
  readonly msgsByKind: Record<string, number> = {};
  /** `n` inbound frames of protocol step `kind` to coordinator object `key` at time `t`. */
  msg(t: number, key: number, n: number, kind = "other"): void {
    const s = Math.floor(t);
    if (s !== this.lastSec) { this.flush(this.load.rollover(s)); this.lastSec = s; }
    this.load.add(t, key, n);
    if (t >= this.warmupS) { this.totals.msgs += n; this.msgsByKind[kind] = (this.msgsByKind[kind] ?? 0) + n; }
  }
  /** Flushes the current second (call once at the end too). */
  rollover(next: number): void {
    this.flush(this.load.rollover(next));
    this.lastSec = next;
  }
  private lastSec = 0;
  private flush(sec: number): void {
    this.max(this.bins.maxMsgsPerObject, sec, this.load.perSecondMax[sec] as number);
  }
  sample(t: number, maxSwarm: number, online: number, storage: number): void {
    this.max(this.bins.maxSwarm, t, maxSwarm);
    this.max(this.bins.online, t, online);
    this.max(this.bins.storageUsed, t, storage);
  }
  completed(t: number, started: number, edgeOnly: number): void {
    if (started < this.warmupS) return;
    this.totals.completed++;
    this.ttc.push(t - started);
    this.ttcEdgeOnly.push(edgeOnly);
  }

  /** Bytes-weighted share that came from peers after warm-up. */
  get offload(): number {
    const all = this.totals.peerBytes + this.totals.edgeBytes;
    return all ? this.totals.peerBytes / all : 0;
  }
}

/** Quantile of an unsorted list (nearest rank); NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}
