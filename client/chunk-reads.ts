/**
 * The reads of one download from the store and its peers: claiming chunks in the task table, one
 * request per run of chunks to a peer, each chunk's deadline, verification, and what a failed read
 * means for that peer (ban, back-off, refusal, "does not upload"). Also each peer's budget of
 * chunks in flight. The edge's runs are `edge-runs.ts`; what to read is decided by `download.ts`.
 */
import { chunkLength, type Manifest } from "../protocol/manifest";
import { PeerRequestError, type PeerChunkSource, type RunTail, type SchedulerClock, type Source, type SourceKind } from "./chunk-sources";
import type { TaskTable } from "./chunk-tasks";
import type { DownloadTuning } from "./defaults";
import type { DownloadEventMap } from "./swarm-events";

/** What the reads need of their download. */
export interface ChunkReadsHost {
  manifest: Manifest;
  tasks: TaskTable;
  tuning: DownloadTuning;
  clock: SchedulerClock;
  verify(bytes: Uint8Array, sha256: string): Promise<boolean>;
  closed(): boolean;
  /** A timer cleared when the download closes. */
  after(ms: number, fn: () => void): unknown;
  clearTimer(t: unknown): void;
  /** Asks for a decision pass. */
  wake(): void;
  /** A verified chunk (a peer's also as its DATA payloads, `parts`), of a read begun at `asked`. */
  accept(i: number, bytes: Uint8Array, kind: SourceKind, peerId: string | undefined, parts: readonly Uint8Array[] | undefined, asked: number): void;
  /** True for a fast-start chunk. */
  isStart(i: number): boolean;
  emit<K extends keyof DownloadEventMap>(type: K, detail: DownloadEventMap[K]): void;
  /** A stored chunk that failed re-verification or vanished: out of the store. */
  forget(i: number): void;
  /** The swarm's ban (closes the link for good). */
  ban(peerId: string, reason: string): void;
}

/** One open request to a peer, as the tail policy sees it (`edge-claims.ts`). */
export interface PeerRun {
  readonly peerId: string;
  /** Its chunks this download still waits for, in the order the peer sends them. */
  waiting(): number[];
  /**
   * Takes back its chunks from index `from` on: the peer drops them unsent (partial CANCEL) and
   * the edge takes them (`edgeOnly`).
   */
  cut(from: number): void;
}

/**
 * @example
 * const reads = new ChunkReads(host);
 * reads.read(peerSource, [4, 5, 9], "peer"); // one request, three chunks
 */
export class ChunkReads {
  /** Chunks in flight, per peer. */
  readonly #inflight = new Map<string, number>();
  /** Until when a peer that answered `busy` is left alone. */
  readonly #cooldown = new Map<string, number>();
  readonly #banned = new Set<string>();
  /** Peers that refuse to upload at all (seeding off): not asked again by this download. */
  readonly #unwilling = new Set<string>();

  /**
   * Per peer asked: when this download first asked it (`asked`), the bytes it delivered since, the
   * time it spent with chunks in flight (`ms`, plus `now - since` while `since` ≥ 0), and its recent
   * deliveries (the lane's window).
   */
  readonly #peers = new Map<string, { asked: number; bytes: number; ms: number; since: number; recent: { t: number; bytes: number }[] }>();

  /** Open peer requests. */
  readonly #runs = new Set<PeerRun>();

  constructor(private readonly h: ChunkReadsHost) {}

  /** Open peer requests with the chunks each still owes. */
  peerRuns(): Iterable<PeerRun> {
    return this.#runs;
  }

  /**
   * Peer `id`'s delivery rate to this download, bytes/ms, since it was first asked; before its
   * first chunk, an upper bound (one chunk by now).
   */
  peerRate(id: string, now: number): number {
    const d = this.#peers.get(id);
    if (!d) return 0;
    return (d.bytes || this.h.manifest.chunkSize) / Math.max(1, now - d.asked);
  }

  /**
   * Peer `id`'s pace to this download, bytes/ms, over the time it had chunks in flight (a peer left
   * without work is not slow); `prior` while it has not shown one — never asked, or fewer than 4
   * chunks delivered, when it is at most the pace of one more chunk by now (a peer asked long ago
   * that delivered nothing is slow, whatever is expected of it). Once it has been busy a whole
   * `windowMs`, its pace over that window: a peer that speeds up or slows down (a token bucket's
   * burst spent) is judged by what it does now. `shown`: bytes over busy time so far, whatever the
   * count — a lower bound of the path's rate, since no byte arrives before it was asked for.
   */
  pace(id: string, now: number, prior: number, windowMs: number): { rate: number; measured: boolean; shown: number } {
    const b = this.#peers.get(id);
    if (!b) return { rate: prior, measured: false, shown: 0 };
    const ms = Math.max(1, b.ms + (b.since >= 0 ? now - b.since : 0));
    const chunk = this.h.manifest.chunkSize;
    const shown = b.bytes / ms;
    if (b.bytes < 4 * chunk) return { rate: Math.min(prior, (b.bytes + chunk) / ms), measured: false, shown };
    if (ms < windowMs) return { rate: shown, measured: true, shown };
    while (b.recent.length && b.recent[0]!.t <= now - windowMs) b.recent.shift();
    let sum = 0;
    for (const r of b.recent) sum += r.bytes;
    return { rate: sum / windowMs, measured: true, shown };
  }

  /** Whether peer `id` has delivered a chunk to this download (so its pace is known). */
  delivered(id: string): boolean {
    return (this.#peers.get(id)?.bytes ?? 0) > 0;
  }

  /**
   * The chunks peer `id` may have in flight (K): enough to keep its link busy while a request makes
   * its round trip — what it delivers in `peerQueueMs` at its measured rate — between
   * `slowPeerInFlight` (also before its first chunk) and `maxInFlightPerPeer`. A peer's queue so
   * drains within about `peerQueueMs` (a deep queue at a slow peer would be the item's tail), and a
   * fast peer is asked again before it runs dry: bench §2 found a 60 MiB/s seeder idle between runs
   * at K = 8 (docs/client-core.md, "Peer path").
   */
  #budget(id: string, now: number): number {
    const t = this.h.tuning;
    const lo = Math.min(t.slowPeerInFlight, t.maxInFlightPerPeer);
    const d = this.#peers.get(id);
    if (!d || !d.bytes) return lo;
    const rate = d.bytes / Math.max(1, now - d.asked);
    return Math.max(lo, Math.min(t.maxInFlightPerPeer, Math.floor((rate * t.peerQueueMs) / this.h.manifest.chunkSize)));
  }

  /** False for peers this download banned or that do not upload. */
  usable(peerId: string): boolean {
    return !this.#banned.has(peerId) && !this.#unwilling.has(peerId);
  }

  /**
   * Chunks peer `id` may be asked for now: its K ({@link #budget}) minus its chunks in flight, in
   * batches — while some are in flight, a new request waits until at least half of K is free, so
   * requests carry runs of chunks (one request round trip and one `send` per run, not per chunk) and
   * the peer's queue never runs dry (the other half is still being sent when the next request arrives).
   */
  free(id: string, now: number): number {
    if ((this.#cooldown.get(id) ?? 0) > now) return 0;
    const k = this.#budget(id, now);
    const busy = this.#inflight.get(id) ?? 0;
    return busy > 0 && k - busy < Math.ceil(k / 2) ? 0 : k - busy;
  }

  /**
   * Claims chunks `indices` (increasing) for one read from the store or one request to a peer and
   * runs it. Peer chunks carry a deadline each: the chunk's own (the item's), capped at
   * `chunkDeadlineMs` (`startChunkDeadlineMs` for a fast-start chunk: the edge would have sent it at
   * once). A missed deadline gives that chunk to the edge and cancels the rest of the request (its
   * chunks are picked again: the peer's queue is FIFO, so they would be later still).
   */
  read(source: Source, indices: readonly number[], kind: Exclude<SourceKind, "edge">): void {
    const ctrl = new AbortController();
    const peerId = kind === "peer" ? source.id : undefined;
    const now = this.h.clock.now();
    const tokens = new Map<number, object>();
    if (peerId) {
      const before = this.#inflight.get(peerId) ?? 0;
      this.#inflight.set(peerId, before + indices.length);
      const b = this.#peers.get(peerId) ?? { asked: now, bytes: 0, ms: 0, since: -1, recent: [] };
      if (b.since < 0 && indices.length) b.since = now;
      this.#peers.set(peerId, b);
    }
    const cancelRest = () => {
      for (const [k, tk] of tokens) if (this.h.tasks.holds(k, tk)) this.cancelClaim(k);
      ctrl.abort();
    };
    for (const i of indices) {
      const token = this.h.tasks.claim(i, { source: kind, ...(peerId ? { peerId } : {}) });
      tokens.set(i, token);
      let timer: unknown;
      if (peerId) {
        const cap = this.h.isStart(i) ? Math.min(this.h.tuning.startChunkDeadlineMs, this.h.tuning.chunkDeadlineMs) : this.h.tuning.chunkDeadlineMs;
        const due = Math.min(cap, Math.max(1, this.h.tasks.get(i).deadline - now));
        timer = this.h.after(due, () => {
          if (!this.h.tasks.holds(i, token)) return;
          // Deadline missed: the edge takes this chunk; whatever the peer sends later is dropped.
          this.h.emit("deadline-miss", { index: i, peerId });
          this.h.tasks.refuse(i, peerId);
          this.h.tasks.get(i).edgeOnly = true;
          cancelRest();
          this.h.wake();
        });
      }
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        if (peerId) {
          const left = (this.#inflight.get(peerId) ?? 1) - 1;
          this.#inflight.set(peerId, left);
          const b = this.#peers.get(peerId);
          if (b && left <= 0 && b.since >= 0) {
            b.ms += this.h.clock.now() - b.since;
            b.since = -1;
          }
        }
        this.h.clearTimer(timer);
      };
      Object.assign(token, { ctrl, settle });
    }
    const settleOf = (i: number) => (tokens.get(i) as { settle?: () => void } | undefined)?.settle?.();
    const arrived = new Set<number>();
    const tail: RunTail = {};
    const run: PeerRun | undefined = peerId ? {
      peerId,
      waiting: () => indices.filter((i) => !arrived.has(i) && this.h.tasks.holds(i, tokens.get(i)!)),
      cut: (from) => {
        tail.cut?.(from);
        for (const i of indices) {
          if (i < from || arrived.has(i) || !this.h.tasks.holds(i, tokens.get(i)!)) continue;
          this.h.tasks.release(i, tokens.get(i));
          settleOf(i);
          this.h.tasks.get(i).edgeOnly = true;
        }
        this.h.wake();
      },
    } : undefined;
    if (run) this.#runs.add(run);
    const sink = async (index: number, bytes: Uint8Array, parts?: readonly Uint8Array[]): Promise<boolean> => {
      const token = tokens.get(index);
      arrived.add(index);
      settleOf(index);
      const busy = peerId ? this.#peers.get(peerId) : undefined;
      if (busy) {
        busy.bytes += bytes.length;
        busy.recent.push({ t: this.h.clock.now(), bytes: bytes.length });
        if (busy.recent.length > 256) busy.recent.shift();
      }
      if (this.h.closed()) return false;
      if (!token || !this.h.tasks.holds(index, token)) return true; // a chunk given up on (deadline): the rest still counts
      const ok = bytes.length === chunkLength(this.h.manifest, index) && (await this.h.verify(bytes, this.h.manifest.chunks[index]!).catch(() => false));
      if (this.h.closed()) return false;
      if (!this.h.tasks.holds(index, token)) return true;
      this.h.tasks.release(index, token);
      if (ok) this.h.accept(index, bytes, kind, peerId, parts, now);
      else if (peerId) {
        this.h.emit("hash-failure", { index, peerId, bytes: bytes.length });
        this.ban(peerId, "hash-mismatch");
        cancelRest();
        this.h.wake();
        return false;
      } else this.h.forget(index);
      this.h.wake();
      return true;
    };
    const read = peerId ? (source as PeerChunkSource).readList(indices, sink, ctrl.signal, tail) : source.read(indices[0]!, indices[0]! + 1, sink, ctrl.signal);
    read.catch((err: unknown) => {
      const held: number[] = [];
      for (const [i, token] of tokens) {
        settleOf(i);
        if (this.h.tasks.holds(i, token)) {
          held.push(i);
          this.h.tasks.release(i, token);
        }
      }
      if (!held.length || this.h.closed()) return;
      if (!peerId) {
        for (const i of held) this.h.forget(i);
        return this.h.wake();
      }
      const code = err instanceof PeerRequestError ? err.code : "internal";
      if (code === "protocol") this.ban(peerId, "protocol");
      else if (code === "unavailable") this.#unwilling.add(peerId);
      else if (code === "busy") {
        // No slot free at that peer right now: back off from it briefly, keep it as a source.
        this.#cooldown.set(peerId, this.h.clock.now() + this.h.tuning.busyBackoffMs);
        this.h.after(this.h.tuning.busyBackoffMs + 10, () => this.h.wake());
      } else for (const i of held) this.h.tasks.refuse(i, peerId);
      this.h.wake();
    }).finally(() => {
      if (run) this.#runs.delete(run);
      for (const i of indices) settleOf(i);
    });
  }

  /** Cancels chunk `i`'s store/peer claim (its read is aborted) or drops it from its edge run. */
  cancelClaim(i: number): void {
    const t = this.h.tasks.get(i);
    const c = t.claim as { ctrl?: AbortController; settle?: () => void } | undefined;
    this.h.tasks.release(i);
    c?.settle?.();
    c?.ctrl?.abort();
  }

  /** Bans `peerId` for this download and tells the swarm (it drops the link for good). */
  ban(peerId: string, reason: string): void {
    if (this.#banned.has(peerId)) return;
    this.#banned.add(peerId);
    this.h.ban(peerId, reason);
  }
}
