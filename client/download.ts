/**
 * The download core: one fetch of one content item (or a byte range of it), as a table of chunk
 * tasks (`chunk-tasks.ts`) read by pure policies and served by {@link Source}s — the local store,
 * each peer link, and the edge. Verified chunks leave in order through `ordered-output.ts`; what
 * happens is reported as typed events (`swarm-events.ts`), which is all the SDK counts.
 *
 * Policy (docs/client-core.md, docs/client.md "How a download is scheduled"):
 * - Store first: a held chunk inside the window is read (and verified) from the store.
 * - Fast start: the first `edgeStartChunks` chunks go to the edge unless a linked peer holds them
 *   within `startGraceMs`.
 * - Peers: missing chunks inside a window ahead of the reader go rarest-first to peers, at most
 *   `maxInFlightPerPeer` per peer (`piece-picker.ts`), one request per peer and pass for its picks
 *   (`chunk-reads.ts`). Every peer chunk is SHA-256-verified; a mismatch bans the peer and the
 *   chunk is fetched again.
 * - Deadlines: a peer request not answered within `chunkDeadlineMs` (or by the item's deadline) is
 *   cancelled and the edge takes the chunk. With an item deadline, the edge also takes every missing
 *   chunk once the rest could only just arrive from it in time.
 * - Edge: chunks no connected peer holds (after a short wait for peers) go in long `Range` runs
 *   (`edge-runs.ts`), cut short when a peer turns up holding their tail.
 * - Edge lane: the download is held to the edge alone's schedule while peers may share its link;
 *   once a peer has shown they do not, the edge takes exactly the bytes the peers, at their measured
 *   or expected pace, cannot deliver by the time the edge alone would have finished (`edge-lane.ts`).
 */
import { sha256Hex, type Manifest } from "../protocol/manifest";
import { chunkSpan, type ByteSpan } from "./byte-span";
import type { ChunkStoreLike, ItemInfo } from "./chunk-store";
import {
  realClock,
  type EdgeFetch, type PeerInfo, type PeerSource, type SchedulerClock, type Source, type SourceKind,
} from "./chunk-sources";
import { TaskTable, type EdgeReason } from "./chunk-tasks";
import { downloadTuning, type DownloadTuning } from "./defaults";
import { lanePlan, type EdgeLane, type LanePlan } from "./edge-lane";
import { EdgeRuns, type EdgeRun } from "./edge-runs";
import { OrderedOutput } from "./ordered-output";
import { pickChunks, pickEdgeRun } from "./piece-picker";
import { storeSource } from "./sources";
import { ChunkReads } from "./chunk-reads";
import { planTailCuts } from "./tail-cut";
import type { DownloadEmit, DownloadEventMap } from "./swarm-events";

export type { EdgeReason } from "./chunk-tasks";

/** How often a download with links still connecting re-reads the lane's projection, ms. */
const LANE_RECHECK_MS = 50;

/** What one {@link Download} is given; tuning knobs default to `DEFAULTS` (`defaults.ts`). */
export interface DownloadOptions extends Partial<DownloadTuning> {
  manifest: Manifest;
  /** Bytes to emit; default the whole content. */
  range?: ByteSpan;
  edge: EdgeFetch;
  peers?: PeerSource;
  store?: ChunkStoreLike;
  clock?: SchedulerClock;
  /** Chunk verification; default SHA-256 via WebCrypto. */
  verify?: (bytes: Uint8Array, sha256: string) => Promise<boolean>;
  /**
   * The whole range is due this long after the download starts, ms (e.g. a video segment's
   * playback time). Peers keep what they can deliver by then; the edge takes the rest in time.
   */
  itemDeadlineMs?: number;
  /** The edge lane of this download (`edge-lane.ts`); none = no lane (no peers to race). */
  lane?: (t: DownloadTuning) => EdgeLane;
  /** Edge throughput measured by earlier downloads, bytes/ms (the lane's first estimate). */
  edgeRate?: number;
  /** The fastest peer pace earlier downloads saw (`EdgeLane.peerBest`), bytes/ms. */
  peerRate?: number;
  /** After a fatal error: the plain edge bytes `[start, end)` to finish the stream with. */
  fallback?: (start: number, end: number) => Promise<ReadableStream<Uint8Array>>;
  /** Where the download's events go (the SDK counts them: `peer-stats.ts`). */
  emit?: DownloadEmit;
}

/**
 * One download. Read `stream`; cancel it (or call `close()`) to stop.
 *
 * @example
 * const d = new Download({ manifest, edge: edgeFetch, peers, itemDeadlineMs: 2000 });
 * return new Response(d.stream, { headers: { "content-type": manifest.type } });
 */
export class Download {
  readonly stream: ReadableStream<Uint8Array>;
  readonly #opts: DownloadOptions;
  readonly tasks: TaskTable;
  readonly lane: EdgeLane | undefined;
  readonly #m: Manifest;
  readonly #range: ByteSpan;
  readonly #first: number;
  readonly #endChunk: number;
  readonly #o: DownloadTuning;
  readonly #clock: SchedulerClock;
  readonly #verify: (bytes: Uint8Array, sha256: string) => Promise<boolean>;
  readonly #info: ItemInfo;
  readonly #out: OrderedOutput;
  readonly #store: Source | undefined;
  readonly #reads: ChunkReads;
  readonly #runs: EdgeRuns;
  readonly #timers = new Set<unknown>();
  readonly #startedAt: number;
  /** When the whole range is due (`Infinity`: no item deadline). */
  readonly #dueAt: number;
  readonly #unsubscribe: () => void;
  #closed = false;
  #wakeQueued = false;
  #graceTimer: unknown;
  #startTimer: unknown;
  #rushTimer: unknown;
  #laneTimer: unknown;

  constructor(opts: DownloadOptions) {
    this.#opts = opts;
    this.#m = opts.manifest;
    this.#range = opts.range ?? { start: 0, end: this.#m.size };
    [this.#first, this.#endChunk] = chunkSpan(this.#range, this.#m.chunkSize);
    this.#o = downloadTuning(opts);
    this.lane = opts.lane?.(this.#o);
    if (this.lane && opts.edgeRate) this.lane.edgeRate = opts.edgeRate;
    if (this.lane && opts.peerRate) this.lane.peerBest = opts.peerRate;
    this.#clock = opts.clock ?? realClock;
    this.#verify = opts.verify ?? (async (b, h) => (await sha256Hex(b)) === h);
    this.#info = { root: this.#m.root, url: this.#m.url, size: this.#m.size, chunkSize: this.#m.chunkSize, type: this.#m.type };
    this.#startedAt = this.#clock.now();
    this.#dueAt = opts.itemDeadlineMs !== undefined && opts.itemDeadlineMs >= 0 ? this.#startedAt + opts.itemDeadlineMs : Infinity;
    this.tasks = new TaskTable(this.#first, this.#endChunk, this.#dueAt);
    this.#store = opts.store ? storeSource(opts.store, this.#m) : undefined;
    this.#reads = new ChunkReads({
      manifest: this.#m, tasks: this.tasks, tuning: this.#o, clock: this.#clock, verify: this.#verify,
      closed: () => this.#closed,
      after: (ms, fn) => this.#after(ms, fn),
      clearTimer: (t) => {
        this.#clock.clearTimeout(t);
        this.#timers.delete(t);
      },
      wake: () => this.#wake(),
      accept: (i, bytes, kind, peerId) => this.#accept(i, bytes, kind, peerId),
      isStart: (i) => this.#isStart(i),
      emit: (type, detail) => this.#emit(type, detail),
      forget: (i) => (opts.store as { forget?(r: string, i: number): void } | undefined)?.forget?.(this.#m.root, i),
      ban: (peerId, reason) => opts.peers?.ban(peerId, reason),
    });
    this.#runs = new EdgeRuns({
      manifest: this.#m, edge: opts.edge, verify: this.#verify, clock: this.#clock, retries: this.#o.edgeRetries,
      stopped: () => this.#closed,
      // Read no further than the window ahead of the reader: TCP backpressure bounds memory.
      room: async (i) => {
        while (i >= this.#out.cursor + this.#o.window && !this.#closed) await this.#out.moved();
      },
      deliver: (run, i, bytes) => {
        if (this.#runOf(i) === run) this.tasks.release(i);
        this.#accept(i, bytes, "edge");
      },
      measured: (bytes, ms, chunks) => this.lane?.edgeSample(bytes, ms, chunks),
      retryIn: (ms) => this.#after(ms, () => this.#wake()),
      fail: (e) => this.#fail(e),
      ended: (run) => {
        for (let k = run.pos; k < run.end; k++) if (this.#runOf(k) === run) this.tasks.release(k);
        this.#wake();
      },
    });
    this.#unsubscribe = opts.peers?.subscribe(() => this.#wake()) ?? (() => {});
    this.#out = new OrderedOutput(this.#range, this.#m.chunkSize, this.#first, this.#endChunk, {
      onPull: () => this.#wake(),
      onCancel: () => this.close(),
      onComplete: () => this.close(),
    });
    this.stream = this.#out.stream;
    if (this.#first >= this.#endChunk) {
      this.#closed = true;
      this.#out.closeEmpty();
      this.#unsubscribe();
    } else this.#wake();
  }

  /** Stops everything: peer requests are cancelled, edge requests aborted. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    this.#timers.clear();
    for (const t of this.tasks.span(this.#first, this.#endChunk)) if (t.status === "claimed") this.#reads.cancelClaim(t.index);
    this.#runs.abortAll();
    this.#out.stop();
    this.#emit("end", { edgeRate: this.lane?.edgeRate ?? 0, peerRate: this.lane?.peerBest ?? 0 });
  }

  /** Stops and errors the stream (e.g. the caller's `AbortSignal` fired). */
  abort(reason?: unknown): void {
    if (this.#closed) return;
    this.close();
    this.#out.error(reason ?? new DOMException("aborted", "AbortError"));
  }

  #emit<K extends keyof DownloadEventMap>(type: K, detail: DownloadEventMap[K]): void {
    this.#opts.emit?.(type, detail);
  }

  /** The edge run that claims chunk `i`, if any. */
  #runOf(i: number): EdgeRun | undefined {
    const t = this.tasks.get(i);
    return t.status === "claimed" && t.source === "edge" ? (t.claim as { run?: EdgeRun }).run : undefined;
  }

  #isStart(i: number): boolean {
    return i < this.#first + this.#o.edgeStartChunks;
  }

  /** Bytes left to the peers: missing chunks no edge request is bringing (for the lane and deadlines). */
  #leftToPeers = (): number => {
    let left = 0;
    for (const t of this.tasks.span(this.#out.cursor, this.#endChunk)) if (t.status !== "done" && t.source !== "edge") left += this.#m.chunkSize;
    return left;
  };

  #needed = (i: number): boolean => i >= this.#out.cursor && this.tasks.missing(i);

  /** Coalesces bursts of events into one pass per microtask. */
  #wake(): void {
    if (this.#wakeQueued || this.#closed) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      try {
        this.#pass();
      } catch (e) {
        this.#fail(e);
      }
    });
  }

  #after(ms: number, fn: () => void): unknown {
    const t = this.#clock.setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  /**
   * The item deadline's verdict: true once the edge must take every missing chunk for the range to
   * arrive in time (the rest at the edge's measured or assumed rate would otherwise be late).
   */
  #rushing(now: number): boolean {
    if (this.#dueAt === Infinity) return false;
    const rate = this.lane?.edgeRate || this.#opts.edgeRate || this.#o.assumedEdgeBytesPerMs;
    const rushAt = this.#dueAt - this.#leftToPeers() / rate;
    if (now >= rushAt) return true;
    if (!this.#rushTimer) this.#rushTimer = this.#after(rushAt - now, () => ((this.#rushTimer = undefined), this.#wake()));
    return false;
  }

  /** One decision pass over the table: store reads, edge runs, the lane, peer picks, `want`s. */
  #pass(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const cursor = this.#out.cursor;
    const to = Math.min(this.#endChunk, cursor + this.#o.window);
    if (this.#store) for (let i = cursor; i < to; i++) if (this.#needed(i) && this.#store.has(i)) this.#reads.read(this.#store, [i], "store");

    const src = this.#opts.peers;
    const peers = src ? src.peers().filter((p) => this.#reads.usable(p.id)) : [];
    const usable = (p: PeerInfo, i: number) => p.has(i) && !this.tasks.get(i).refusals.has(p.id);
    const view = peers.map((p) => ({
      id: p.id,
      kind: p.kind,
      has: (i: number) => i >= this.#first && i < this.#endChunk && usable(p, i),
      free: this.#reads.free(p.id, now),
    }));

    const settled = !src || !src.pending();
    const waitLeft = this.#startedAt + this.#o.peerWaitMs - now;
    const graceOver = settled || waitLeft <= 0;
    // With a lane on the edge alone's schedule (no slack), links still connecting after
    // `peerWaitMs` are waited for: the lane already keeps the promise, so edge runs for the chunks
    // the connecting peers would bring ("wait") only took bytes they could still serve (bench §1).
    // A lane held off by `laneSlackMs` would let a swarm that never settles stall the download for
    // the whole slack: there, `peerWaitMs` still bounds the wait.
    const waitOver = settled || (waitLeft <= 0 && !(this.lane && this.#o.laneSlackMs <= 0));
    if (!graceOver && !this.#graceTimer) this.#graceTimer = this.#after(waitLeft, () => this.#wake());
    const startLeft = this.#startedAt + this.#o.startGraceMs - now;
    if (startLeft > 0 && !settled && !this.#startTimer) this.#startTimer = this.#after(startLeft, () => this.#wake());
    const rush = this.#rushing(now);
    // Edge first: fast-start chunks no linked peer holds (after the start grace; all of them when
    // it is 0), chunks no peer can serve, and everything once the item deadline is near.
    const anyPeer = (i: number) => view.some((p) => p.has(i));
    const edgeable = (i: number) =>
      rush || this.tasks.get(i).edgeOnly ||
      (this.#isStart(i) && (this.#o.startGraceMs <= 0 || (!anyPeer(i) && (settled || startLeft <= 0)))) ||
      (waitOver && !anyPeer(i));
    const reason = (i: number): EdgeReason =>
      rush || this.tasks.get(i).edgeOnly ? "deadline" : this.#isStart(i) ? "start" : settled ? "orphan" : "wait";
    while (this.#runs.size < this.#o.edgeConcurrency) {
      const run = pickEdgeRun({ from: cursor, startBy: to, to: this.#endChunk, needed: this.#needed, edgeable, maxRun: this.#o.edgeRunMax });
      if (!run) break;
      this.#fromEdge(run[0], run[1], false, reason);
    }
    // Edge lane (edge-lane.ts). While the peers may share the edge's link: the edge alone's
    // schedule — one run at a time while the bytes obtained lag it, sized to the edge's share of the
    // window. Once a peer has shown it does not (`unshared`): the projected deficit — the edge's
    // claims are kept at what the peers cannot deliver by the time the edge alone would have
    // finished; peers on time, linked or with links expected to open in time, keep every chunk. Lane
    // runs take the free chunks nearest the reader (peers pick after them, i.e. further ahead).
    const plan = this.lane && this.#lanePlan(now, view, src);
    const projected = !!plan && this.lane!.unshared;
    let laneOpen = false;
    if (plan && projected) laneOpen = this.lane!.open = plan.need > 0 && plan.need >= plan.edgeBytes;
    else if (this.lane) laneOpen = this.lane.verdict(now, this.#startedAt, this.#range.end - this.#range.start, view.length > 0) === "open";
    // Nothing else may wake a download whose links are still connecting (no chunk, no peer event),
    // while the schedule and the deficit grow with every millisecond they take: look again soon.
    if (this.lane && !settled && !this.#laneTimer) {
      this.#laneTimer = this.#after(LANE_RECHECK_MS, () => ((this.#laneTimer = undefined), this.#wake()));
    }
    // A new run starts while the last one's final chunks are still coming (`laneLeft`): the edge's
    // stream has no idle round trip. It leaves linked peers their free request slots in the window,
    // and the fast-start chunks to the start grace.
    const deficit = plan && projected ? Math.ceil((plan.need - plan.edgeBytes) / this.#m.chunkSize) : 1;
    if (laneOpen && deficit > 0 && this.#runs.size < this.#o.edgeConcurrency && this.#runs.laneLeft <= 1) {
      const slots = view.reduce((n, p) => n + Math.max(0, p.free), 0);
      const laneable = (i: number) => !this.#isStart(i) || startLeft <= 0 || settled;
      // No cap on a run while links are still connecting: a shorter run keeps bytes for a link that
      // may open, but leaves the visitor's link short of the edge alone's pace (docs/client.md §7).
      // On the schedule, a linked peer that has not delivered yet keeps its free slots of what is
      // left: its first chunks show whether its path is the edge's (`unshared`); a small item's
      // run would otherwise take every chunk but the start grace's, and the peer never show it.
      let fresh = 0;
      for (const p of view) if (!this.#reads.delivered(p.id)) fresh += Math.max(0, p.free);
      let left = 0;
      for (let i = cursor; i < to; i++) if (this.#needed(i)) left++;
      if (to < this.#endChunk) left = Infinity; // more than the window: nothing to leave
      const maxRun = projected
        ? Math.max(1, Math.min(deficit, this.#o.laneRunMax, this.#o.window - slots))
        : Math.max(1, Math.min(this.lane!.runLength(now, this.#o.window - slots, view.length > 0), left - fresh));
      const run = pickEdgeRun({ from: cursor, startBy: to, to: this.#endChunk, needed: this.#needed, edgeable: laneable, maxRun });
      if (run) {
        this.#emit("lane-open", { from: run[0], to: run[1] });
        this.#fromEdge(run[0], run[1], true, () => "lane");
      }
    }
    // One request per peer per pass: its picks, in index order, as one run (≤ MAX_REQUEST_CHUNKS each).
    const byPeer = new Map<string, number[]>();
    for (const pick of pickChunks({ from: cursor, to, needed: this.#needed, peers: view, supernodeReach: this.#o.supernodeReach })) {
      const list = byPeer.get(pick.peerId);
      if (list) list.push(pick.index);
      else byPeer.set(pick.peerId, [pick.index]);
    }
    for (const [peerId, list] of byPeer) this.#reads.read(src!.source(peers.find((p) => p.id === peerId)!, this.#m), list.sort((a, b) => a - b), "peer");
    if (this.lane && !rush) this.#cutTails(now, cursor, this.lane);
    // Cut edge runs short where a peer now holds the rest (offload beats a long edge request). A
    // lane run: on the schedule, not while the lane is open (the bytes on their way are link time a
    // shared link cannot make up); on the projection, by what the edge claims beyond the deficit.
    if (!rush) {
      let excess = plan && projected ? Math.floor((plan.edgeBytes - plan.need) / this.#m.chunkSize) : laneOpen ? 0 : Infinity;
      for (const r of this.#runs) {
        if (r.lane && excess <= 0) continue;
        for (let j = Math.max(r.pos + 1, r.lane ? r.end - excess : 0); j < r.end; j++) {
          if (!this.#isStart(j) && !this.tasks.get(j).edgeOnly && anyPeer(j)) {
            for (let k = j; k < r.end; k++) if (this.#runOf(k) === r) this.tasks.release(k);
            if (r.lane) excess -= r.end - j;
            r.end = j;
            this.#wake();
            break;
          }
        }
      }
    }
    if (src?.want && graceOver) {
      const orphans: number[] = [];
      for (const t of this.tasks.span(cursor, to)) if (t.status !== "done" && !anyPeer(t.index)) orphans.push(t.index);
      if (orphans.length) src.want(orphans);
    }
  }

  /** The lane's projection of this download now (edge-lane.ts `lanePlan`). */
  #lanePlan(now: number, view: readonly { id: string; has(i: number): boolean }[], src: PeerSource | undefined): LanePlan {
    return lanePlan(this.lane!, {
      now, startedAt: this.#startedAt, total: this.#range.end - this.#range.start,
      left: this.tasks.notDone * this.#m.chunkSize, edgeBytes: this.tasks.edgeClaimed * this.#m.chunkSize,
      window: this.tasks.span(this.#out.cursor, this.#out.cursor + this.#o.window),
      peers: view.map((p) => ({ has: (i: number) => p.has(i), pace: (prior: number) => this.#reads.pace(p.id, now, prior, this.#o.laneWindowMs) })),
      pending: !!src?.pending(),
    });
  }

  /**
   * The tail: once every missing chunk is claimed, the edge takes back the chunks a slow peer has
   * queued that it would deliver after the edge could (`tail-cut.ts`; partial CANCEL).
   */
  #cutTails(now: number, cursor: number, lane: EdgeLane): void {
    let edgeBytes = 0;
    for (const t of this.tasks.span(cursor, this.#endChunk)) {
      if (t.status === "missing") return; // work still free: not the tail yet
      if (t.status === "claimed" && t.source === "edge") edgeBytes += this.#m.chunkSize;
    }
    const runs = [...this.#reads.peerRuns()];
    if (!runs.length) return;
    const cuts = planTailCuts(runs.map((r) => ({ waiting: r.waiting(), rate: this.#reads.peerRate(r.peerId, now) })), {
      now, chunkBytes: this.#m.chunkSize, edgeRate: lane.aloneRate, edgeBytes,
      scheduleEnd: lane.scheduleEnd(this.#startedAt, this.#range.end - this.#range.start),
    });
    cuts.forEach((from, k) => from !== undefined && runs[k]!.cut(from));
  }

  #fromEdge(start: number, end: number, lane: boolean, why: (i: number) => EdgeReason): void {
    const run = this.#runs.start(start, end, lane);
    for (let k = start; k < end; k++) Object.assign(this.tasks.claim(k, { source: "edge", reason: why(k) }), { run });
  }

  #accept(i: number, bytes: Uint8Array, source: SourceKind, peerId?: string): void {
    if (this.#closed || this.#out.has(i) || i < this.#out.cursor) return;
    const why = source === "edge" ? this.tasks.get(i).reason : undefined;
    this.tasks.done(i, source, peerId);
    if (source === "peer") this.lane?.peerDelivered(this.#clock.now(), bytes.length);
    else this.lane?.delivered(bytes.length, source === "edge" ? this.#clock.now() : undefined);
    this.#emit("chunk", { index: i, bytes, source, ...(peerId ? { peerId } : {}), why });
    if (this.#opts.store && source !== "store") {
      this.#opts.store.put(this.#info, i, bytes).then((ok) => ok && this.#emit("stored", { index: i }), () => {});
    }
    this.#out.put(i, bytes);
    this.#wake();
  }

  /** A fatal error: finish with plain edge bytes if a fallback is configured, else error the stream. */
  #fail(e: unknown): void {
    if (this.#closed) return;
    const offset = Math.max(this.#range.start, this.#out.cursor * this.#m.chunkSize);
    this.close();
    const fb = this.#opts.fallback;
    if (!fb) return this.#out.error(e);
    fb(offset, this.#range.end).then((body) => this.#out.finish(body), (err: unknown) => this.#out.error(err));
  }
}
