/**
 * The edge lane: item-level race against the edge (docs/client.md, "How a download is scheduled").
 *
 * Per-chunk deadlines bound each peer chunk, not the item: a swarm whose upload is slower than the
 * edge delivers every chunk in time yet finishes the item later than the edge alone would (bench §2:
 * one 10 Mbit/s seeder vs a 50 Mbit/s edge, 0.21×). So the scheduler measures both sides — the
 * edge's throughput (EWMA over finished edge runs) and the peers' delivered throughput over a sliding
 * window — and, while the peers are slower, keeps one extra edge run ("lane") working on the chunks
 * nearest the reader while peers keep working further ahead. Total throughput is then ≥ the edge's,
 * and peers still contribute. Hysteresis (open below `openBelow`× the edge rate, close at
 * `closeAbove`×) keeps a swarm near the edge's rate from flapping. Pure bookkeeping: time is passed in.
 */

import type { DownloadTuning } from "./defaults";

export interface EdgeLaneOptions {
  /** Sliding window for the peers' rate, ms; also how long peers are watched before a verdict. */
  windowMs: number;
  /** Open the lane when peer rate < this × edge rate. */
  openBelow: number;
  /** Close it when peer rate ≥ this × edge rate. */
  closeAbove: number;
  /** Open only when peers would finish later than edge-only + this, ms (`laneSlackMs`). */
  slackMs?: number;
}

/** Rate bookkeeping and the open/closed verdict for one download. */
export class EdgeLane {
  /** Edge throughput estimate, bytes/ms; 0 = not measured yet. */
  edgeRate = 0;
  open = false;
  private peerSince = -1;
  private readonly samples: { t: number; bytes: number }[] = [];

  constructor(private readonly o: EdgeLaneOptions) {}

  /** An edge run delivered `bytes` in `ms` of transfer (time stalled on the reader's window excluded). */
  edgeSample(bytes: number, ms: number): void {
    if (bytes <= 0) return;
    const r = bytes / Math.max(1, ms);
    this.edgeRate = this.edgeRate ? 0.5 * this.edgeRate + 0.5 * r : r;
  }

  /** A peer request was sent: the peers' rate is judged from the first one on. */
  peerRequested(now: number): void {
    if (this.peerSince < 0) this.peerSince = now;
  }


  /**
   * The peers ran out of work (nothing in flight: the reader's window is used up). Their rate is
   * judged afresh, a full window after their next request: idle time is not slowness.
   */
  peersIdle(): void {
    this.peerSince = -1;
    this.samples.length = 0;
  }

  /** A verified peer chunk arrived. */
  peerDelivered(now: number, bytes: number): void {
    this.samples.push({ t: now, bytes });
  }

  /** Peers' delivered bytes/ms over the last `windowMs`. */
  peerRate(now: number): number {
    const from = now - this.o.windowMs;
    while (this.samples.length && this.samples[0]!.t <= from) this.samples.shift();
    let sum = 0;
    for (const s of this.samples) sum += s.bytes;
    return sum / this.o.windowMs;
  }

  /**
   * Re-evaluates the verdict. No lane before the edge was measured and the peers were watched for a
   * full window (a fresh download would otherwise always look peer-starved).
   */
  update(now: number): boolean {
    if (!this.edgeRate || this.peerSince < 0 || now - this.peerSince < this.o.windowMs) return (this.open = false);
    const ratio = this.peerRate(now) / this.edgeRate;
    this.open = this.open ? ratio < this.o.closeAbove : ratio < this.o.openBelow;
    return this.open;
  }

  /**
   * The scheduler's question, once per pump, for a download of `total` bytes started at `startedAt`
   * with `left()` bytes left to the peers: `"open"` — race: peers slower than the edge
   * ({@link update}) *and*, at their pace, finishing later than the edge alone would have (from the
   * start, at the measured edge rate) plus `slackMs` (the promise: no visitor waits longer than the
   * edge alone would make them wait, beyond the deadline; slower peers that are on time keep their
   * chunks); `"probe"` — peers watched a full window but the edge never measured (the first chunk
   * came from a peer): one edge chunk should measure it; else nothing.
   */
  verdict(now: number, startedAt: number, total: number, left: () => number): "open" | "probe" | undefined {
    if (this.update(now)) {
      const peers = this.peerRate(now);
      if (peers <= 0 || now + left() / peers > startedAt + total / this.edgeRate + (this.o.slackMs ?? 0)) return "open";
    } else if (!this.edgeRate && this.peerSince >= 0 && now - this.peerSince >= this.o.windowMs) return "probe";
    return undefined;
  }
}

/**
 * The lane of one download with the scheduler's tuning: open below 0.8× the edge's rate, close at 1×.
 *
 * @example
 * new Download({ manifest, edge, peers, lane: edgeLane });
 */
export const edgeLane = (t: DownloadTuning): EdgeLane =>
  // Read through `t` at each use: bench §2's BENCH_SDK_TUNING sets the tuning after construction.
  new EdgeLane({ get windowMs() { return t.laneWindowMs; }, openBelow: 0.8, closeAbove: 1, get slackMs() { return t.laneSlackMs; } });
