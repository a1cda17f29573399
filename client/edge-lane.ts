/**
 * The edge lane: item-level race against the edge (docs/client.md, "How a download is scheduled").
 *
 * Per-chunk deadlines bound each peer chunk, not the item: a swarm whose upload is slower than the
 * edge delivers every chunk in time yet finishes the item later than the edge alone would. How the
 * lane keeps the promise depends on whether the peers' bytes share the edge's bottleneck:
 *
 * - Usually they do (one access link, bench §5): no peer byte can make the item sooner, and while
 *   links come up the link must not idle. Until this download knows better, the lane holds it to the
 *   edge alone's schedule ({@link EdgeLane.verdict}): the bytes obtained must keep pace with what the
 *   edge alone would have delivered by now.
 * - Once the sources together, or one peer, have outrun the edge alone ({@link EdgeLane.unshared}:
 *   a path the edge does not bottleneck, bench §1; carried over to the instance's next downloads), the lane
 *   works on the projected finish ({@link edgeNeed}): by the time the edge alone would have finished
 *   the range, how many of the missing bytes can the peers deliver — each linked peer at its
 *   measured pace (an expected pace until it has shown one), links still connecting from when they
 *   are expected to open — and the edge takes exactly the rest, nearest the reader. Peers on time
 *   take everything, also while their links come up.
 *
 * What "the edge alone" delivers is measured as the best rate the edge showed while no peer bytes
 * arrived (a streak of edge chunks with none from peers between them), or of a whole edge run,
 * whichever is larger; before any measurement an assumed rate (`assumedRate`, or the previous
 * download's) stands in. Pure bookkeeping: time is passed in.
 */

import type { DownloadTuning } from "./defaults";

export interface EdgeLaneOptions {
  /** Sliding window for the peers' rate, ms. */
  windowMs: number;
  /** The schedule starts this long after the download, ms (default 0). */
  startMs?: number;
  /** …and this much later again (`laneSlackMs`): peers on time within it keep their chunks, ms. */
  slackMs?: number;
  /** Edge-alone rate assumed before one was measured, bytes/ms. */
  assumedRate?: number;
  /** Longest lane run, chunks (it shrinks with the peers' share of the link). */
  runMax?: number;
  /** A peer's pace assumed before it has shown one, bytes/ms. */
  assumedPeerRate?: number;
  /** How long after the download's start a link still connecting is expected to deliver, ms. */
  linkMs?: number;
}

/** One source of peer bytes as the projection sees it. */
export interface PeerPace {
  /** Its expected pace, bytes/ms. */
  rate: number;
  /** How long from now before its bytes flow, ms (a link still connecting). */
  waitMs: number;
}

/** What {@link edgeNeed} projects. */
export interface NeedInput {
  now: number;
  /** When the edge alone would have finished the range (`EdgeLane.scheduleEnd`). */
  end: number;
  /** Bytes of the range not obtained yet (whoever is fetching them). */
  left: number;
  peers: readonly PeerPace[];
  /** Most the peers deliver together, bytes/ms (`EdgeLane.peerCap`). */
  peerCap: number;
}

/**
 * The bytes the edge must bring for the range to be complete by `end`: what is left less what the
 * peers deliver by then at their paces (each from when its bytes flow; together at most `peerCap`).
 * The lane keeps the edge's claims at this, no more.
 * @example
 * edgeNeed({ now: 0, end: 1000, left: 5e6, peers: [{ rate: 3000, waitMs: 400 }], peerCap: 6250 }); // 3.2e6
 */
export function edgeNeed(o: NeedInput): number {
  const h = Math.max(0, o.end - o.now);
  let peers = 0;
  for (const p of o.peers) peers += Math.max(0, p.rate) * Math.max(0, h - p.waitMs);
  return Math.max(0, o.left - Math.min(peers, Math.max(0, o.peerCap) * h));
}

/** What {@link lanePlan} reads of one download. */
export interface LaneInput {
  now: number;
  startedAt: number;
  /** Bytes of the range. */
  total: number;
  /** Bytes of the range not obtained yet, and those edge runs are bringing. */
  left: number;
  edgeBytes: number;
  /** The tasks of the reader's window (where peers pick). */
  window: Iterable<{ index: number; status: string; source?: string }>;
  /** The usable linked peers: what each holds, and its pace given the prior (`ChunkReads.pace`). */
  peers: readonly { has(i: number): boolean; pace(prior: number): { rate: number; measured: boolean; shown: number } }[];
  /** Links are still connecting (the swarm named holders). */
  pending: boolean;
}

/** The bytes the edge must bring by the edge alone's finish, and those its runs are bringing. */
export interface LanePlan {
  need: number;
  edgeBytes: number;
}

/**
 * The lane's projection of one download: what is left less what the peers deliver by the edge
 * alone's finish ({@link edgeNeed}) — each linked peer holding a chunk still wanted at its pace
 * (the expected one until it has shown one), links still connecting as one peer from when they are
 * expected to open — and the bytes edge runs are already bringing. Also notes a peer pace the
 * edge's link could not carry (even from one chunk: bytes arrive no sooner than they are asked
 * for), which makes the lane {@link EdgeLane.unshared}.
 * @example
 * const { need, edgeBytes } = lanePlan(lane, { now, startedAt, total, left, edgeBytes, window, peers, pending: false });
 */
export function lanePlan(lane: EdgeLane, o: LaneInput): LanePlan {
  const wanted: number[] = [];
  for (const t of o.window) if (t.status === "missing" || (t.status === "claimed" && t.source !== "edge")) wanted.push(t.index);
  const prior = lane.peerPrior;
  const paces: PeerPace[] = [];
  for (const p of o.peers) {
    const pace = p.pace(prior);
    if (pace.measured || pace.shown > 1.1 * lane.aloneRate) lane.notePeerPace(Math.max(pace.rate, pace.shown));
    if (wanted.some((i) => p.has(i))) paces.push({ rate: pace.rate, waitMs: 0 });
  }
  if (o.pending) paces.push({ rate: prior, waitMs: Math.max(lane.linkMs - (o.now - o.startedAt), lane.linkMs / 4) });
  const end = lane.scheduleEnd(o.startedAt, o.total);
  return { need: edgeNeed({ now: o.now, end, left: o.left, peers: paces, peerCap: lane.peerCap }), edgeBytes: o.edgeBytes };
}

/** Shortest window {@link EdgeLane.arrival} judges, ms: a 32 KiB token bucket at 50 Mbit/s is 5 % of it. */
export const OUTRUN_MIN_MS = 100;
/** Arrivals {@link EdgeLane.arrival} keeps (a window of 32 chunks and the runs around it). */
const OUTRUN_SAMPLES = 96;

/** Rate bookkeeping of one download (the edge alone, the peers) and the schedule's verdict. */
export class EdgeLane {
  /** The edge's claims are short of what it must bring (`edgeNeed`): lane runs are not cut short. */
  open = false;
  #edge = 0;
  /** Pace of the fastest peer seen, bytes/ms (0: none), for peers that have not shown one. */
  #peer = 0;
  /** Bytes obtained (every source): progress on the edge alone's schedule. */
  #got = 0;
  /** Best rate of a streak of edge chunks with no peer chunk between them, bytes/ms. */
  #alone = 0;
  /** The current streak: its first chunk's time, bytes after it, chunks. */
  #streak = { t: 0, bytes: 0, n: 0 };
  /** A rate measured well enough to replace the assumed one (a run of ≥ 4 chunks, or a streak). */
  #credible = false;
  /** The sources together outran the edge alone's link ({@link arrival}), or an earlier download saw it. */
  #outran = false;
  /** Recent chunk arrivals, every source: when asked for, bytes, from a peer. */
  readonly #arrivals: { asked: number; bytes: number; peer: boolean }[] = [];
  private readonly samples: { t: number; bytes: number }[] = [];

  constructor(private readonly o: EdgeLaneOptions) {}

  /**
   * The edge alone's rate estimate, bytes/ms (0 = not measured): the best edge run's, or the best
   * the edge showed with no peer chunk arriving, whichever is larger. Set it to carry a rate over.
   */
  get edgeRate(): number {
    return Math.max(this.#edge, this.#alone);
  }

  set edgeRate(v: number) {
    this.#edge = v;
    this.#credible = v > 0;
  }

  /**
   * Whether the peers' path is known not to be the edge's bottleneck: the sources together outran
   * the edge alone ({@link arrival}), or a peer showed a pace (its bytes over the time it had chunks
   * in flight, from its first chunk on) above the edge alone's rate (by a tenth) — bytes cannot
   * arrive faster than they were asked for, and the time asked includes the request's round trip,
   * so neither a stalled event loop nor a burst fakes either on a shared link.
   */
  get unshared(): boolean {
    return this.#outran || this.#peer > 1.1 * this.aloneRate;
  }

  /** Whether the sources together have outrun the edge alone's link (carried over: `DownloadOptions.unshared`). */
  get outran(): boolean {
    return this.#outran;
  }

  /** Carries over an earlier download's finding that the peers' path is not the edge's ({@link outran}). */
  noteOutran(): void {
    this.#outran = true;
  }

  /**
   * A verified chunk of `bytes` arrived at `now` that was asked for at `asked` (`-Infinity`: unknown,
   * e.g. bytes that came with the manifest), from a peer or the edge. Several sources together can
   * show what none shows alone (bench §1: 4 MiB/s seeders beside a 50 Mbit/s edge): the peers' path
   * is not the edge's once the bytes of every chunk asked for at or after some instant `a` and
   * arrived by now, over `now - a`, exceed the edge alone's rate (by a tenth, and by at least
   * {@link OUTRUN_MIN_MS} — a token bucket's depth is no burst over that), with peers bringing a
   * tenth of it. No byte arrives before it was asked for, so on one shared link that sum over that
   * time cannot exceed the link's rate whatever the event loop did: a stall that hands over a burst
   * of arrivals only lengthens the window of the chunks asked before it.
   */
  arrival(asked: number, now: number, bytes: number, peer: boolean): void {
    if (this.#outran || !(asked > -Infinity)) return;
    const a = this.#arrivals;
    a.push({ asked, bytes, peer });
    if (a.length > OUTRUN_SAMPLES) a.shift();
    const link = 1.1 * Math.max(this.aloneRate, this.o.assumedRate ?? 0);
    if (!(link > 0)) return;
    // Latest asked first: the sums of every chunk asked at or after each instant.
    const byAsked = [...a].sort((x, y) => y.asked - x.asked);
    let sum = 0;
    let fromPeers = 0;
    for (const e of byAsked) {
      sum += e.bytes;
      if (e.peer) fromPeers += e.bytes;
      const ms = now - e.asked;
      if (ms >= OUTRUN_MIN_MS && sum > link * ms && fromPeers > 0.1 * link * ms) {
        this.#outran = true;
        return;
      }
    }
  }

  /** What peers deliver together at most, bytes/ms: unbounded once {@link unshared}, else the edge alone's rate (one shared link). */
  get peerCap(): number {
    return this.unshared ? Infinity : this.aloneRate;
  }

  /** The pace expected of a peer that has not shown one: the fastest seen, else the assumed one, bytes/ms. */
  get peerPrior(): number {
    return Math.max(this.#peer, this.o.assumedPeerRate ?? 0);
  }

  /** Best pace a peer showed (carried over), bytes/ms. */
  get peerBest(): number {
    return this.#peer;
  }

  /** Notes a pace a peer showed: {@link peerBest} keeps the fastest. */
  notePeerPace(v: number): void {
    this.#peer = Math.max(this.#peer, v);
  }

  /** When a link still connecting is expected to deliver, ms after the download's start. */
  get linkMs(): number {
    return this.o.linkMs ?? 0;
  }

  /**
   * An edge run of `chunks` chunks delivered `bytes` in `ms` of transfer (time stalled on the
   * reader's window excluded). The best run counts: a run shares the link with peers and reads only
   * its remainder, and one short run (the fast-start chunk, in TCP slow start) reads low, so a run
   * of fewer than 4 chunks replaces the assumed rate only when it reads above it.
   */
  edgeSample(bytes: number, ms: number, chunks = 4): void {
    if (bytes <= 0) return;
    this.#edge = Math.max(this.#edge, bytes / Math.max(1, ms));
    if (chunks >= 4) this.#credible = true;
  }

  /** A verified peer chunk arrived. */
  peerDelivered(now: number, bytes: number): void {
    this.samples.push({ t: now, bytes });
    this.#streak.n = 0;
    this.#got += bytes;
  }

  /**
   * A verified chunk from the edge (`now` given) or the store arrived: progress on the schedule.
   * Edge chunks in a row with no peer chunk between them measure the edge alone (from the first
   * one's arrival on: no request latency) once they span ≥ 3 chunks and 50 ms.
   */
  delivered(bytes: number, now?: number): void {
    this.#got += bytes;
    if (now === undefined) return;
    const s = this.#streak;
    if (s.n === 0) Object.assign(s, { t: now, bytes: 0, n: 1 });
    else {
      s.bytes += bytes;
      s.n++;
      if (s.n >= 3 && now - s.t >= 50) {
        this.#alone = Math.max(this.#alone, s.bytes / (now - s.t));
        this.#credible = true;
      }
    }
  }

  /** The edge alone's rate the schedule runs on: measured once credible, else at least the assumed one, bytes/ms. */
  get aloneRate(): number {
    return this.#credible ? this.edgeRate : Math.max(this.edgeRate, this.o.assumedRate ?? 0);
  }

  /** When the edge alone would have delivered `total` bytes of a download started at `startedAt`, slack included. */
  scheduleEnd(startedAt: number, total: number): number {
    const r = this.aloneRate;
    return r > 0 ? startedAt + (this.o.startMs ?? 0) + (this.o.slackMs ?? 0) + total / r : Infinity;
  }

  /** Peers' delivered bytes/ms over the last `windowMs`. */
  peerRate(now: number): number {
    return rate(this.samples, now, this.o.windowMs);
  }

  /**
   * The lane while the peers may share the edge's link (not {@link unshared}): `"open"` while the
   * bytes obtained lag what the edge alone would have delivered by now (from the start, after the
   * slack) — open below 0.9 of it, closed again at 1× while a peer is `linked` (with none, the edge
   * keeps streaming). On one shared link no peer byte makes the item sooner, and each costs link
   * time in framing and queue gaps (bench §5: ~37 of 50 Mbit/s carried while peers deliver), so
   * the edge keeps the link full on the edge alone's schedule.
   */
  verdict(now: number, startedAt: number, total: number, linked = true): "open" | undefined {
    const since = now - startedAt - (this.o.startMs ?? 0) - (this.o.slackMs ?? 0);
    const r = this.aloneRate;
    // Ahead of the schedule with no peer linked is still no reason to stop: the edge is the only
    // source then, and stopping idles the link until the download falls behind again.
    const behind = this.#got < Math.min(total, r * since) * (this.open ? 1 : 0.9);
    this.open = since > 0 && r > 0 && (behind || (this.open && !linked));
    return this.open ? "open" : undefined;
  }

  /**
   * How many chunks the next lane run may take: the edge's share of a `window`-chunk window at the
   * peers' current share of the link — all of it while no peer is linked, half while linked peers
   * have delivered nothing yet (their pace unknown) — at least 2, at most `runMax`.
   */
  runLength(now: number, window: number, linked = false): number {
    const peers = this.peerRate(now);
    const share = peers && this.edgeRate ? Math.min(1, peers / this.edgeRate) : linked ? 0.5 : 0;
    return Math.max(2, Math.min(this.o.runMax ?? window, Math.round(window * (1 - share))));
  }
}

/** Bytes/ms over the last `windowMs` of `samples` (older ones are dropped). */
function rate(samples: { t: number; bytes: number }[], now: number, windowMs: number): number {
  while (samples.length && samples[0]!.t <= now - windowMs) samples.shift();
  let sum = 0;
  for (const s of samples) sum += s.bytes;
  return sum / windowMs;
}

/**
 * The lane of one download with the scheduler's tuning.
 *
 * @example
 * new Download({ manifest, edge, peers, lane: edgeLane });
 */
export const edgeLane = (t: DownloadTuning): EdgeLane =>
  // Read through `t` at each use: bench §2's BENCH_SDK_TUNING sets the tuning after construction.
  new EdgeLane({
    get windowMs() { return t.laneWindowMs; },
    get assumedPeerRate() { return t.assumedPeerBytesPerMs; },
    get linkMs() { return t.assumedLinkMs; },
    get slackMs() { return t.laneSlackMs; },
    get assumedRate() { return t.assumedEdgeBytesPerMs; },
    get runMax() { return t.laneRunMax; },
  });
