/**
 * The edge lane: item-level race against the edge (docs/client.md, "How a download is scheduled").
 *
 * Per-chunk deadlines bound each peer chunk, not the item: a swarm whose upload is slower than the
 * edge delivers every chunk in time yet finishes the item later than the edge alone would. So the
 * lane holds the download to the edge alone's schedule: from the start (plus `slackMs`), the bytes obtained must keep pace with what the edge alone would have delivered
 * by now; while they do not, one edge run at a time ("lane") streams the free chunks nearest the
 * reader, peers working further ahead. A download whose peers are not linked yet is behind from the
 * start, so the edge streams at once rather than after a wait for peers (bench §5: 1–1.5 s of idle
 * link before this).
 *
 * What "the edge alone" delivers is the visitor's link, which edge and peer bytes share (one access
 * link, bench §5): an edge run measured while peers deliver reads only the link's remainder. So the
 * estimate is the best rate the edge showed while no peer bytes arrived (a streak of edge chunks
 * with none from peers between them: at a download's start, before peer links are up, the lane
 * streams alone), or of a whole edge run, whichever is larger; peers whose path does not share the
 * edge's bottleneck leave the edge's rate as it is, so they are judged against the edge alone.
 * Where the peers' path does not share the edge's bottleneck that overestimates the edge alone and
 * the lane takes more than it must — the safe side of the promise. Before any measurement, an
 * assumed rate (`assumedRate`, or the previous download's) stands in. Pure bookkeeping: time is
 * passed in.
 */

import type { DownloadTuning } from "./defaults";

export interface EdgeLaneOptions {
  /** Sliding window for the peers' rate, ms. */
  windowMs: number;
  /** Open when the bytes obtained fall below this share of the edge alone's schedule. */
  openBelow: number;
  /** Close when they reach this share of it (hysteresis). */
  closeAbove: number;
  /** The schedule starts this long after the download, ms (default 0). */
  startMs?: number;
  /** …and this much later again (`laneSlackMs`): peers on time within it keep their chunks, ms. */
  slackMs?: number;
  /** Edge-alone rate assumed before one was measured, bytes/ms. */
  assumedRate?: number;
  /** Longest lane run, chunks (it shrinks with the peers' share of the link). */
  runMax?: number;
}

/** Rate bookkeeping and the open/closed verdict for one download. */
export class EdgeLane {
  open = false;
  #edge = 0;
  /** Best rate of a streak of edge chunks with no peer chunk between them, bytes/ms. */
  #alone = 0;
  /** The current streak: its first chunk's time, bytes after it, chunks. */
  #streak = { t: 0, bytes: 0, n: 0 };
  #got = 0;
  /** A rate measured well enough to replace the assumed one (a run of ≥ 4 chunks, or a streak). */
  #credible = false;
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
    this.#got += bytes;
    this.#streak.n = 0;
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
   * The scheduler's question, once per pump, for a download of `total` bytes started at
   * `startedAt`: `"open"` while the bytes obtained lag what the edge alone would have delivered by
   * now (from the start, after the slack, at {@link edgeRate}) — open below `openBelow` of it,
   * closed again at `closeAbove` while a peer is `linked` (with none, the edge keeps streaming) —
   * else nothing.
   */
  verdict(now: number, startedAt: number, total: number, linked = true): "open" | undefined {
    const since = now - startedAt - (this.o.startMs ?? 0) - (this.o.slackMs ?? 0);
    const r = this.aloneRate;
    // Ahead of the schedule with no peer linked is still no reason to stop: the edge is the only
    // source then, and stopping idles the link until the download falls behind again.
    const behind = this.#got < Math.min(total, r * since) * (this.open ? this.o.closeAbove : this.o.openBelow);
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
 * The lane of one download with the scheduler's tuning: open below 0.9 of the edge alone's
 * schedule, closed at 1.
 *
 * @example
 * new Download({ manifest, edge, peers, lane: edgeLane });
 */
export const edgeLane = (t: DownloadTuning): EdgeLane =>
  // Read through `t` at each use: bench §2's BENCH_SDK_TUNING sets the tuning after construction.
  new EdgeLane({
    get windowMs() { return t.laneWindowMs; },
    openBelow: 0.9,
    closeAbove: 1,
    get slackMs() { return t.laneSlackMs; },
    get assumedRate() { return t.assumedEdgeBytesPerMs; },
    get runMax() { return t.laneRunMax; },
  });
