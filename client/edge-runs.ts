/**
 * The edge requests of one download: which runs are in flight, how fast the edge delivered them,
 * and how many failed in a row (retry with exponential back-off, then give up). Each run is one read
 * of the {@link EdgeSource}; every chunk is verified here before it is delivered. Which chunks a run
 * claims, and when it is cut short, stays with the edge's claims (`edge-claims.ts`), which learns
 * everything else through an {@link EdgeRunsHost}.
 *
 * The rate a run reports (for the edge lane, `edge-lane.ts`) is its transfer rate: timed from the
 * response on — a request's round trip is latency, not throughput (one fast-start chunk over a 40 ms
 * RTT would otherwise read a 50 Mbit/s edge at half its rate) — with the time stalled on the
 * reader's window left out (reader-bound, not edge-bound).
 */
import type { Manifest } from "../protocol/manifest";
import type { EdgeFetch, SchedulerClock } from "./chunk-sources";
import { EdgeSource } from "./sources";

/** One edge request in progress: chunks `[pos, end)` still to come. `end` may be cut short. */
export interface EdgeRun {
  pos: number;
  end: number;
  ctrl: AbortController;
  /** An edge-lane run (races slow peers, `edge-lane.ts`): not cut short while the lane is open. */
  lane?: boolean;
  /** When its request was made, ms on the download's clock: none of its bytes arrived before. */
  asked: number;
}

/** The edge sent bytes that do not match its own manifest (the content changed underneath). */
export class EdgeIntegrityError extends Error {
  override readonly name = "EdgeIntegrityError";
  constructor(readonly index: number) {
    super(`edge bytes of chunk ${index} do not match the manifest`);
  }
}

/** What the edge runs need from their download. */
export interface EdgeRunsHost {
  manifest: Manifest;
  edge: EdgeFetch;
  verify(bytes: Uint8Array, sha256: string): Promise<boolean>;
  /** True once the download stopped: reading ends quietly. */
  stopped(): boolean;
  /** Resolves when chunk `index` may be read (it is inside the reader's window). */
  room(index: number): Promise<void>;
  clock: SchedulerClock;
  /** Failures in a row tolerated before {@link EdgeRunsHost.fail}. */
  retries: number;
  /** A verified chunk of `run`. */
  deliver(run: EdgeRun, index: number, bytes: Uint8Array): void;
  /** A run ended having moved `bytes` (`chunks` chunks) in `ms` of transfer time (0 bytes: nothing to learn). */
  measured(bytes: number, ms: number, chunks: number): void;
  /** A failure within the retry budget: pick chunks again after `ms`. */
  retryIn(ms: number): void;
  /** Integrity error, or one failure too many: the download cannot go on from the edge. */
  fail(e: unknown): void;
  /** `run` is over (done, failed, cut short or aborted): its remaining claims are stale. */
  ended(run: EdgeRun): void;
}

/**
 * The runs in flight of one download.
 *
 * @example
 * const runs = new EdgeRuns({ manifest, edge, verify, clock, retries: 3, stopped, room, deliver, measured, retryIn, fail, ended });
 * const run = runs.start(0, 8); // chunks [0, 8) in one Range request
 * runs.abortAll();
 */
export class EdgeRuns implements Iterable<EdgeRun> {
  readonly #live = new Set<EdgeRun>();
  #failures = 0;
  readonly #source: EdgeSource;
  readonly #h: EdgeRunsHost;

  constructor(h: EdgeRunsHost) {
    this.#h = h;
    this.#source = new EdgeSource(h.edge, h.manifest);
  }

  /** Runs in flight. */
  get size(): number {
    return this.#live.size;
  }

  /** Whether an edge-lane run is among them. */
  get laneRunning(): boolean {
    return this.laneLeft > 0;
  }

  /**
   * Chunks the edge-lane runs in flight have still to deliver, less those the edge delivers during
   * one request's round trip (at least 1 while a lane run is in flight): the lane starts its next run
   * when this is ≤ 1, so the next run's first byte follows the last one's last byte with no idle
   * round trip between them (bench §5: a run asked with one 42 ms chunk left over a 40 ms RTT left
   * the link idle ~50 ms).
   */
  get laneLeft(): number {
    let n = 0;
    for (const r of this.#live) if (r.lane) n += Math.max(1, r.end - r.pos);
    return n && Math.max(1, n - this.#perRoundTrip);
  }

  /** Chunks the edge delivers in one request round trip (measured: response wait × body rate), 1–4. */
  #perRoundTrip = 1;

  [Symbol.iterator](): Iterator<EdgeRun> {
    return this.#live.values();
  }

  /** Starts one `Range` request for chunks `[start, end)`; `lane` marks an edge-lane run. */
  start(start: number, end: number, lane = false): EdgeRun {
    const h = this.#h;
    const run: EdgeRun = { pos: start, end, ctrl: new AbortController(), ...(lane ? { lane } : {}), asked: h.clock.now() };
    this.#live.add(run);
    const m = { t0: h.clock.now(), last: h.clock.now(), bytes: 0, chunks: 0, stalled: 0 };
    const sink = async (i: number, bytes: Uint8Array): Promise<boolean> => {
      if (h.stopped()) return false;
      if (!(await h.verify(bytes, h.manifest.chunks[i]!))) throw new EdgeIntegrityError(i);
      if (h.stopped()) return false;
      run.pos = i + 1;
      m.bytes += bytes.length;
      m.chunks++;
      m.last = h.clock.now();
      h.deliver(run, i, bytes);
      if (run.pos >= run.end || h.stopped()) return false;
      const t = h.clock.now();
      await h.room(run.pos);
      m.stalled += h.clock.now() - t;
      return !h.stopped() && run.pos < run.end;
    };
    const asked = run.asked;
    let wait = -1;
    const opened = () => {
      m.t0 = m.last = h.clock.now();
      wait = m.t0 - asked;
    };
    void this.#source.read(start, end, sink, run.ctrl.signal, opened).then(
      () => {
        this.#failures = 0;
      },
      (e: unknown) => {
        if (h.stopped()) return;
        if (e instanceof EdgeIntegrityError || ++this.#failures > h.retries) return h.fail(e);
        h.retryIn(100 * 2 ** this.#failures);
      },
    ).finally(() => {
      const ms = m.last - m.t0 - m.stalled;
      h.measured(m.bytes, ms, m.chunks);
      if (wait > 0 && m.chunks >= 4 && ms > 0) {
        const chunk = m.bytes / m.chunks;
        this.#perRoundTrip = Math.min(4, Math.max(1, Math.ceil((wait * m.bytes) / ms / chunk)));
      }
      this.#live.delete(run);
      run.ctrl.abort();
      h.ended(run);
    });
    return run;
  }

  /** Aborts every run in flight (each still ends through {@link EdgeRunsHost.ended}). */
  abortAll(): void {
    for (const r of this.#live) r.ctrl.abort();
  }
}
