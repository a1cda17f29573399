/**
 * Download scheduler for one fetch of one content item (or a byte range of it): decides, chunk by
 * chunk, where bytes come from — the local store, peers, or the edge — and emits the requested
 * bytes strictly in order into a `ReadableStream`.
 *
 * Policy (docs/client.md, "How a download is scheduled"):
 * - Fast start: the first `edgeStartChunks` chunks of the range come from the edge at once.
 * - Peers: missing chunks inside a window ahead of the reader are requested rarest-first, at most
 *   `maxInFlightPerPeer` per peer (`piece-picker.ts`). Every peer chunk is SHA-256-verified against
 *   the manifest before it is used; a mismatch bans the peer and the chunk is fetched again.
 * - Deadlines: a peer request not answered within `deadlineMs` is cancelled and the chunk goes to
 *   the edge; data arriving later for it is dropped.
 * - Edge: chunks no connected peer holds (after a short wait for peers to connect) are fetched in
 *   long contiguous `Range` requests; a request is cut short when a peer turns up holding its tail.
 * - Edge lane: while the peers' measured rate is below the edge's, one bounded edge run at a time
 *   takes the unassigned chunks nearest the reader, peers work further ahead (`edge-lane.ts`).
 *
 * It is transport-agnostic: peers, edge, store, hashing and time are injected (`chunk-sources.ts`).
 * Edge requests in flight are `edge-runs.ts` (each read by `edge-run.ts`); in-order emission is
 * `ordered-output.ts`.
 */
import { chunkRange, sha256Hex, type Manifest } from "../protocol/manifest";
import { chunkSpan, type ByteSpan } from "./byte-span";
import type { ItemInfo } from "./chunk-store";
import {
  PeerRequestError, realClock,
  type ChunkEvent, type PeerInfo, type PeerRequest, type SchedulerClock,
} from "./chunk-sources";
import type { EdgeLane } from "./edge-lane";
import type { EdgeRun } from "./edge-run";
import { EdgeRuns } from "./edge-runs";
import { OrderedOutput } from "./ordered-output";
import { pickChunks, pickEdgeRun } from "./piece-picker";
import { schedulerTuning, type SchedulerOptions, type SchedulerTuning } from "./scheduler-options";


type Claim =
  | { kind: "peer"; peerId: string; req: PeerRequest; timer: unknown; done: boolean }
  | { kind: "edge"; run: EdgeRun }
  | { kind: "store" };

/**
 * Why the edge was given a chunk: `start` fast start, `deadline` a peer missed its deadline,
 * `orphan` no connected peer held it once the swarm had answered, `wait` no peer held it when the
 * wait for peers (`peerWaitMs`) ran out with links still being set up, `lane` the edge lane,
 * `probe` one chunk that measures the edge's rate for the lane when nothing else did.
 */
export type EdgeReason = "start" | "deadline" | "orphan" | "wait" | "lane" | "probe";

/** Scheduler counters. */
export interface SchedulerStats {
  fromPeers: number;
  fromEdge: number;
  fromStore: number;
  byPeer: Record<string, number>;
  hashFailures: number;
  deadlineMisses: number;
  /** Edge-lane runs started (edge racing peers slower than it). */
  laneRuns: number;
}

/**
 * One scheduled download. Read `stream`; cancel it (or call `close()`) to stop.
 *
 * @example
 * const d = new DownloadScheduler({ manifest, edge: edgeFetch, peers });
 * return new Response(d.stream, { headers: { "content-type": manifest.type } });
 */
export class DownloadScheduler {
  readonly stream: ReadableStream<Uint8Array>;
  readonly stats: SchedulerStats = { fromPeers: 0, fromEdge: 0, fromStore: 0, byPeer: {}, hashFailures: 0, deadlineMisses: 0, laneRuns: 0 };
  private readonly m: Manifest;
  private readonly range: ByteSpan;
  private readonly first: number;
  private readonly endChunk: number;
  private readonly o: SchedulerTuning;
  private readonly clock: SchedulerClock;
  private readonly verify: (bytes: Uint8Array, sha256: string) => Promise<boolean>;
  private readonly info: ItemInfo;
  private readonly out: OrderedOutput;
  private readonly busy = new Map<number, Claim>();
  private readonly refused = new Map<number, Set<string>>();
  private readonly forceEdge = new Set<number>();
  /** Why the edge claimed each chunk it holds a claim on (diagnostics: `ChunkEvent.why`). */
  private readonly why: EdgeReason[] = [];
  private readonly inflight = new Map<string, number>();
  private readonly cooldown = new Map<string, number>();
  private readonly banned = new Set<string>();
  /** Peers that refuse to upload at all (seeding off): not asked again by this download. */
  private readonly unwilling = new Set<string>();
  private readonly runs: EdgeRuns;
  private readonly timers = new Set<unknown>();
  /**
   * Given by the peer side (`edge-lane.ts`, loaded with it): without peers there is nothing to race.
   * Its `edgeRate` is what this download measured (or was given), bytes/ms.
   */
  readonly lane: EdgeLane | undefined;
  private closed = false;
  private wakeQueued = false;
  private graceTimer: unknown;
  private startTimer: unknown;
  private probed = false;
  private readonly startedAt: number;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: SchedulerOptions) {
    this.m = opts.manifest;
    this.range = opts.range ?? { start: 0, end: this.m.size };
    [this.first, this.endChunk] = chunkSpan(this.range, this.m.chunkSize);
    this.o = schedulerTuning(opts);
    this.lane = opts.lane?.(this.o);
    if (this.lane && opts.edgeRate) this.lane.edgeRate = opts.edgeRate;
    this.clock = opts.clock ?? realClock;
    this.verify = opts.verify ?? (async (b, h) => (await sha256Hex(b)) === h);
    this.info = { root: this.m.root, url: this.m.url, size: this.m.size, chunkSize: this.m.chunkSize, type: this.m.type };
    this.startedAt = this.clock.now();
    this.runs = new EdgeRuns({
      manifest: this.m, edge: opts.edge, verify: this.verify, clock: this.clock, retries: this.o.edgeRetries,
      stopped: () => this.closed,
      // Read no further than the window ahead of the reader: TCP backpressure bounds memory.
      room: async (i) => {
        while (i >= this.out.cursor + this.o.window && !this.closed) await this.out.moved();
      },
      deliver: (run, i, bytes) => {
        if (this.runOf(i) === run) this.busy.delete(i);
        this.accept(i, bytes, "edge");
      },
      measured: (bytes, ms) => this.lane?.edgeSample(bytes, ms),
      retryIn: (ms) => this.after(ms, () => this.wake()),
      fail: (e) => this.fail(e),
      ended: (run) => {
        for (let k = run.pos; k < run.end; k++) if (this.runOf(k) === run) this.busy.delete(k);
        this.wake();
      },
    });
    this.unsubscribe = opts.peers?.subscribe(() => this.wake()) ?? (() => {});
    this.out = new OrderedOutput(this.range, this.m.chunkSize, this.first, this.endChunk, {
      onPull: () => this.wake(),
      onCancel: () => this.close(),
      onComplete: () => this.close(),
    });
    this.stream = this.out.stream;
    if (this.first >= this.endChunk) {
      this.closed = true;
      this.out.closeEmpty();
      this.unsubscribe();
    } else this.wake();
  }

  /** Stops everything: pending peer requests are cancelled, edge requests aborted. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const [i, c] of this.busy) this.release(i, c, true);
    this.runs.abortAll();
    this.out.stop();
    this.opts.onEnd?.();
  }

  /** Stops and errors the stream (e.g. the caller's `AbortSignal` fired). */
  abort(reason?: unknown): void {
    if (this.closed) return;
    this.close();
    this.out.error(reason ?? new DOMException("aborted", "AbortError"));
  }

  private len(i: number): number {
    const [a, b] = chunkRange(this.m, i);
    return b - a;
  }

  /** The edge run that claims chunk `i`, if any. */
  private runOf(i: number): EdgeRun | undefined {
    const c = this.busy.get(i);
    return c?.kind === "edge" ? c.run : undefined;
  }

  private isStart(i: number): boolean {
    return i < this.first + this.o.edgeStartChunks;
  }

  /** Bytes left to the peers: missing chunks no edge request is bringing (for the lane's verdict). */
  private leftToPeers = (): number => {
    let left = 0;
    for (let i = this.out.cursor; i < this.endChunk; i++) if (!this.out.has(i) && !this.runOf(i)) left += this.m.chunkSize;
    return left;
  };

  private needed = (i: number): boolean => i >= this.out.cursor && i < this.endChunk && !this.out.has(i) && !this.busy.has(i);

  /** Coalesces bursts of events into one pump per microtask. */
  private wake(): void {
    if (this.wakeQueued || this.closed) return;
    this.wakeQueued = true;
    queueMicrotask(() => {
      this.wakeQueued = false;
      try {
        this.pump();
      } catch (e) {
        this.fail(e);
      }
    });
  }

  private after(ms: number, fn: () => void): unknown {
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.clock.now();
    const cursor = this.out.cursor;
    const to = Math.min(this.endChunk, cursor + this.o.window);
    const store = this.opts.store;
    if (store) for (let i = cursor; i < to; i++) if (this.needed(i) && store.has(this.m.root, i)) this.fromStore(i);

    const src = this.opts.peers;
    const peers = src ? src.peers().filter((p) => !this.banned.has(p.id) && !this.unwilling.has(p.id)) : [];
    const usable = (p: PeerInfo, i: number) => p.has(i) && !this.refused.get(i)?.has(p.id);
    const view = peers.map((p) => ({
      id: p.id,
      kind: p.kind,
      has: (i: number) => usable(p, i),
      free: (this.cooldown.get(p.id) ?? 0) > now ? 0 : this.o.maxInFlightPerPeer - (this.inflight.get(p.id) ?? 0),
    }));

    const settled = !src || !src.pending();
    const waitLeft = this.startedAt + this.o.peerWaitMs - now;
    const graceOver = settled || waitLeft <= 0;
    if (!graceOver && !this.graceTimer) this.graceTimer = this.after(waitLeft, () => this.wake());
    const startLeft = this.startedAt + this.o.startGraceMs - now;
    if (startLeft > 0 && !settled && !this.startTimer) this.startTimer = this.after(startLeft, () => this.wake());
    // Edge first: fast-start chunks no linked peer holds (after the start grace; all of them when
    // it is 0), and chunks no peer can serve; then peers pick from the rest.
    const anyPeer = (i: number) => view.some((p) => p.has(i));
    const edgeable = (i: number) =>
      this.forceEdge.has(i) ||
      (this.isStart(i) && (this.o.startGraceMs <= 0 || (!anyPeer(i) && (settled || startLeft <= 0)))) ||
      (graceOver && !anyPeer(i));
    while (this.runs.size < this.o.edgeConcurrency) {
      const run = pickEdgeRun({ from: cursor, startBy: to, to: this.endChunk, needed: this.needed, edgeable, maxRun: this.o.edgeRunMax });
      if (!run) break;
      this.fromEdge(run[0], run[1], false, (i) =>
        this.forceEdge.has(i) ? "deadline" : this.isStart(i) ? "start" : settled ? "orphan" : "wait");
    }
    // Edge lane: peers slower than the edge → one bounded run takes the free chunks nearest the
    // reader (peers pick after it, i.e. further ahead), so the item finishes no later than edge-only.
    // No edge rate yet (the first chunk came from a peer, no earlier download measured one) and the
    // peers watched for a window: one chunk from the edge measures it, so the lane can judge.
    const verdict = this.lane?.verdict(now, this.startedAt, this.range.end - this.range.start, this.leftToPeers);
    const laneOpen = verdict === "open";
    const probe = verdict === "probe" && !this.probed && !this.runs.size;
    if ((laneOpen || probe) && this.runs.size < this.o.edgeConcurrency && !this.runs.laneRunning) {
      const run = pickEdgeRun({ from: cursor, startBy: to, to: this.endChunk, needed: this.needed, edgeable: () => true, maxRun: probe ? 1 : this.o.laneRunMax });
      if (run) {
        if (probe) this.probed = true;
        else this.stats.laneRuns++;
        this.fromEdge(run[0], run[1], true, () => (probe ? "probe" : "lane"));
      }
    }
    for (const pick of pickChunks({ from: cursor, to, needed: this.needed, peers: view, supernodeReach: this.o.supernodeReach })) this.fromPeer(pick.peerId, pick.index);
    // Cut edge runs short where a peer now holds the rest (offload beats a long edge request).
    for (const r of this.runs) {
      if (r.lane && laneOpen) continue;
      for (let j = r.pos + 1; j < r.end; j++) {
        if (!this.isStart(j) && !this.forceEdge.has(j) && anyPeer(j)) {
          for (let k = j; k < r.end; k++) if (this.runOf(k) === r) this.busy.delete(k);
          r.end = j;
          this.wake();
          break;
        }
      }
    }
    if (src?.want && graceOver) {
      const orphans: number[] = [];
      for (let i = cursor; i < to; i++) if (!this.out.has(i) && !anyPeer(i)) orphans.push(i);
      if (orphans.length) src.want(orphans);
    }
  }

  private fromStore(i: number): void {
    const claim: Claim = { kind: "store" };
    this.busy.set(i, claim);
    void (async () => {
      const bytes = await this.opts.store!.get(this.m.root, i).catch(() => undefined);
      const ok = !!bytes && bytes.length === this.len(i) && (await this.verify(bytes, this.m.chunks[i]!).catch(() => false));
      if (this.closed || this.busy.get(i) !== claim) return;
      this.busy.delete(i);
      if (ok) this.accept(i, bytes!, "store");
      else {
        (this.opts.store as { forget?(r: string, i: number): void }).forget?.(this.m.root, i);
        this.wake();
      }
    })();
  }

  private fromPeer(peerId: string, i: number): void {
    const req = this.opts.peers!.request(peerId, i, this.len(i));
    const claim: Claim & { kind: "peer" } = { kind: "peer", peerId, req, timer: undefined, done: false };
    this.busy.set(i, claim);
    this.lane?.peerRequested(this.clock.now());
    this.inflight.set(peerId, (this.inflight.get(peerId) ?? 0) + 1);
    // A fast-start chunk asked of a peer gets a short deadline: the edge would have sent it at once.
    const dl = this.o.deadlineMs;
    claim.timer = this.after(this.isStart(i) ? Math.min(1000, dl) : dl, () => {
      if (this.busy.get(i) !== claim) return;
      // Deadline missed: the edge takes this chunk; whatever the peer sends later is dropped.
      this.stats.deadlineMisses++;
      this.release(i, claim, true);
      this.refuse(i, peerId);
      this.forceEdge.add(i);
      this.wake();
    });
    req.done.then(
      async (bytes) => {
        const current = this.busy.get(i) === claim;
        this.release(-1, claim, false);
        if (!current || this.closed) return;
        const ok = bytes.length === this.len(i) && (await this.verify(bytes, this.m.chunks[i]!).catch(() => false));
        if (this.closed || this.busy.get(i) !== claim) return;
        this.busy.delete(i);
        if (ok) return this.accept(i, bytes, "peer", peerId);
        this.stats.hashFailures++;
        this.opts.onHashFailure?.(peerId, i);
        this.ban(peerId, "hash-mismatch");
        this.wake();
      },
      (err: unknown) => {
        const current = this.busy.get(i) === claim;
        this.release(current ? i : -1, claim, false);
        if (!current || this.closed) return;
        const code = err instanceof PeerRequestError ? err.code : "internal";
        if (code === "protocol") this.ban(peerId, "protocol");
        else if (code === "unavailable") this.unwilling.add(peerId);
        else if (code === "busy") {
          // No slot free at that peer right now: back off from it briefly, keep it as a source.
          this.cooldown.set(peerId, this.clock.now() + 250);
          this.after(260, () => this.wake());
        } else this.refuse(i, peerId);
        this.wake();
      },
    );
  }

  /** Ends a peer claim: frees its in-flight slot and timer; optionally unclaims chunk `i` and cancels. */
  private release(i: number, claim: Claim, cancel: boolean): void {
    if (i >= 0 && this.busy.get(i) === claim) this.busy.delete(i);
    if (claim.kind !== "peer" || claim.done) return;
    claim.done = true;
    this.inflight.set(claim.peerId, (this.inflight.get(claim.peerId) ?? 1) - 1);
    this.clock.clearTimeout(claim.timer);
    this.timers.delete(claim.timer);
    if (cancel) claim.req.cancel();
  }

  private refuse(i: number, peerId: string): void {
    let s = this.refused.get(i);
    if (!s) this.refused.set(i, (s = new Set()));
    s.add(peerId);
  }

  private ban(peerId: string, reason: string): void {
    if (this.banned.has(peerId)) return;
    this.banned.add(peerId);
    this.opts.peers?.ban(peerId, reason);
  }

  private fromEdge(start: number, end: number, lane: boolean, why: (i: number) => EdgeReason): void {
    const run = this.runs.start(start, end, lane);
    for (let k = start; k < end; k++) {
      this.busy.set(k, { kind: "edge", run });
      this.why[k] = why(k);
    }
  }

  private accept(i: number, bytes: Uint8Array, source: ChunkEvent["source"], peerId?: string): void {
    if (this.closed || this.out.has(i) || i < this.out.cursor) return;
    this.forceEdge.delete(i);
    this.refused.delete(i);
    const s = this.stats;
    if (source === "peer") {
      this.lane?.peerDelivered(this.clock.now(), bytes.length);
      s.fromPeers += bytes.length;
      s.byPeer[peerId!] = (s.byPeer[peerId!] ?? 0) + bytes.length;
    } else if (source === "edge") s.fromEdge += bytes.length;
    else s.fromStore += bytes.length;
    this.opts.onChunk?.({ index: i, bytes, source, ...(peerId ? { peerId } : {}), why: source === "edge" ? this.why[i] : undefined });
    if (this.opts.store && source !== "store") {
      this.opts.store.put(this.info, i, bytes).then((ok) => ok && this.opts.onStored?.(i), () => {});
    }
    this.out.put(i, bytes);
    this.wake();
  }

  /** A fatal error: finish with plain edge bytes if a fallback is configured, else error the stream. */
  private fail(e: unknown): void {
    if (this.closed) return;
    const offset = Math.max(this.range.start, this.out.cursor * this.m.chunkSize);
    this.close();
    const fb = this.opts.fallback;
    if (!fb) return this.out.error(e);
    fb(offset, this.range.end).then((body) => this.out.finish(body), (err: unknown) => this.out.error(err));
  }
}
