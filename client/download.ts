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
 *
 * This module runs the decision pass and owns the download's lifetime (timers, close, fallback);
 * the edge's part of the pass — what it claims, what it gives back — is `edge-claims.ts`.
 */
import { sha256Hex, type Manifest } from "../protocol/manifest";
import { chunkSpan, type ByteSpan } from "./byte-span";
import type { ChunkStoreLike, ItemInfo } from "./chunk-store";
import {
  realClock,
  type EdgeFetch, type PeerInfo, type PeerSource, type SchedulerClock, type Source, type SourceKind,
} from "./chunk-sources";
import { TaskTable } from "./chunk-tasks";
import { downloadTuning, type DownloadTuning } from "./defaults";
import { EdgeClaims, type EdgePass } from "./edge-claims";
import type { EdgeLane } from "./edge-lane";
import { OrderedOutput } from "./ordered-output";
import { pickChunks } from "./piece-picker";
import { storeSource } from "./sources";
import { ChunkReads } from "./chunk-reads";
import type { DownloadEmit, DownloadEventMap } from "./swarm-events";

export type { EdgeReason } from "./chunk-tasks";

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
  /** An earlier download saw the sources together outrun the edge alone (`EdgeLane.outran`). */
  unshared?: boolean;
  /** Bytes of the range's start that came with the manifest (a lead, `edge-lead.ts`): asked for before the download. */
  ledBytes?: number;
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
  readonly #edge: EdgeClaims;
  readonly #timers = new Set<unknown>();
  readonly #startedAt: number;
  /** When the whole range is due (`Infinity`: no item deadline). */
  readonly #dueAt: number;
  readonly #unsubscribe: () => void;
  #closed = false;
  #wakeQueued = false;
  #graceTimer: unknown;
  #startTimer: unknown;

  constructor(opts: DownloadOptions) {
    this.#opts = opts;
    this.#m = opts.manifest;
    this.#range = opts.range ?? { start: 0, end: this.#m.size };
    [this.#first, this.#endChunk] = chunkSpan(this.#range, this.#m.chunkSize);
    this.#o = downloadTuning(opts);
    this.lane = opts.lane?.(this.#o);
    if (this.lane && opts.edgeRate) this.lane.edgeRate = opts.edgeRate;
    if (this.lane && opts.peerRate) this.lane.notePeerPace(opts.peerRate);
    if (this.lane && opts.unshared) this.lane.noteOutran();
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
      accept: (i, bytes, kind, peerId, parts, asked) => this.#accept(i, bytes, kind, peerId, parts, asked),
      isStart: (i) => this.#isStart(i),
      emit: (type, detail) => this.#emit(type, detail),
      forget: (i) => (opts.store as { forget?(r: string, i: number): void } | undefined)?.forget?.(this.#m.root, i),
      ban: (peerId, reason) => opts.peers?.ban(peerId, reason),
    });
    this.#edge = new EdgeClaims({
      manifest: this.#m, range: this.#range, first: this.#first, endChunk: this.#endChunk,
      edge: opts.edge, verify: this.#verify, clock: this.#clock, tuning: this.#o,
      tasks: this.tasks, reads: this.#reads, lane: this.lane,
      startedAt: this.#startedAt, dueAt: this.#dueAt, edgeRate: opts.edgeRate,
      cursor: () => this.#out.cursor,
      moved: () => this.#out.moved(),
      closed: () => this.#closed,
      needed: this.#needed,
      isStart: (i) => this.#isStart(i),
      after: (ms, fn) => this.#after(ms, fn),
      wake: () => this.#wake(),
      // Chunks that came with the manifest (`ledBytes`) were asked for before this download began.
      accept: (i, bytes, asked) => this.#accept(i, bytes, "edge", undefined, undefined, i * this.#m.chunkSize < (opts.ledBytes ?? 0) ? -Infinity : asked),
      fail: (e) => this.#fail(e),
      emit: (type, detail) => this.#emit(type, detail),
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
    this.#edge.abortAll();
    this.#out.stop();
    this.#emit("end", { edgeRate: this.lane?.edgeRate ?? 0, peerRate: this.lane?.peerBest ?? 0, unshared: this.lane?.outran ?? false });
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

  #isStart(i: number): boolean {
    return i < this.#first + this.#o.edgeStartChunks;
  }

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
    const anyPeer = (i: number) => view.some((p) => p.has(i));
    // Edge first (edge-claims.ts): its runs and the lane's take the chunks nearest the reader;
    // peers pick after them, further ahead.
    const pass: EdgePass = { now, cursor, to, peers: view, anyPeer, settled, waitOver, startLeft, source: src };
    const verdict = this.#edge.claim(pass);
    // One request per peer per pass: its picks, in index order, as one run (≤ MAX_REQUEST_CHUNKS each).
    const byPeer = new Map<string, number[]>();
    for (const pick of pickChunks({ from: cursor, to, needed: this.#needed, peers: view, supernodeReach: this.#o.supernodeReach })) {
      const list = byPeer.get(pick.peerId);
      if (list) list.push(pick.index);
      else byPeer.set(pick.peerId, [pick.index]);
    }
    for (const [peerId, list] of byPeer) this.#reads.read(src!.source(peers.find((p) => p.id === peerId)!, this.#m), list.sort((a, b) => a - b), "peer");
    // Then what the edge gives back: a slow peer's tail, edge runs a peer now holds the rest of.
    this.#edge.giveBack(pass, verdict);
    if (src?.want && graceOver) {
      const orphans: number[] = [];
      for (const t of this.tasks.span(cursor, to)) if (t.status !== "done" && !anyPeer(t.index)) orphans.push(t.index);
      if (orphans.length) src.want(orphans);
    }
  }

  /**
   * A verified chunk to the store and the reader. A peer's chunk has two owners and two buffers
   * already: where the store can keep a buffer without copying it (`ChunkStore.adopts`), it keeps
   * the assembled `bytes` and the reader gets the DATA payloads (`parts`) — nothing is shared, so
   * a reader that changes or transfers its chunks cannot touch what the store serves to peers.
   * Elsewhere (IndexedDB clones what it writes) the reader gets `bytes`, whole and transferable.
   */
  #accept(i: number, bytes: Uint8Array, source: SourceKind, peerId?: string, parts?: readonly Uint8Array[], asked = -Infinity): void {
    if (this.#closed || this.#out.has(i) || i < this.#out.cursor) return;
    const why = source === "edge" ? this.tasks.get(i).reason : undefined;
    this.tasks.done(i, source, peerId);
    const now = this.#clock.now();
    if (source === "peer") this.lane?.peerDelivered(now, bytes.length);
    else this.lane?.delivered(bytes.length, source === "edge" ? now : undefined);
    if (source !== "store") this.lane?.arrival(asked, now, bytes.length, source === "peer");
    this.#emit("chunk", { index: i, bytes, source, ...(peerId ? { peerId } : {}), why });
    const store = this.#opts.store;
    const adopt = parts !== undefined && store !== undefined && store.adopts;
    if (store && source !== "store") {
      store.put(this.#info, i, bytes, adopt).then((ok) => ok && this.#emit("stored", { index: i }), () => {});
    }
    this.#out.put(i, adopt ? parts : bytes);
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
