/**
 * The task table of one download: one {@link ChunkTask} per chunk of the range, holding everything
 * the download knows about that chunk — whether it is missing, being fetched (from which source, for
 * which reason, by when) or done, how often it was tried, and which peers refused it. The policies
 * (`piece-picker.ts`, `edge-lane.ts`) and the download loop read the table; nothing else keeps
 * per-chunk state.
 */
import type { SourceKind } from "./chunk-sources";

/**
 * Why the edge was given a chunk: `start` fast start, `deadline` a peer missed its deadline or the
 * item's deadline is near, `orphan` no connected peer held it once the swarm had answered, `wait` no
 * peer held it when the wait for peers ran out with links still being set up, `lane` the edge lane,
 * `probe` one chunk that measures the edge's rate for the lane when nothing else did, `cold` an item
 * the edge had not hashed yet (streamed as is; its `index` is then the piece's ordinal in the stream).
 */
export type EdgeReason = "start" | "deadline" | "orphan" | "wait" | "lane" | "probe" | "cold";

/** Where a task stands. */
export type TaskStatus = "missing" | "claimed" | "done";

/** One chunk of a download. */
export interface ChunkTask {
  readonly index: number;
  status: TaskStatus;
  /** The source of the claim in flight, or of the bytes once done. */
  source?: SourceKind | undefined;
  /** The peer of a peer claim (or of the bytes once done). */
  peerId?: string | undefined;
  /** Why the edge was last asked for it (kept after the claim ends: the chunk's `why`). */
  reason?: EdgeReason | undefined;
  /** When the chunk is due, ms on the download's clock (`Infinity`: no deadline but the item's pace). */
  deadline: number;
  /** Claims made so far (any source). */
  attempts: number;
  /** Peers that refused it, missed its deadline or failed on it: not asked for it again. */
  readonly refusals: Set<string>;
  /** The next claim must be the edge's (a peer missed this chunk's deadline). */
  edgeOnly: boolean;
  /** The claim in flight (its identity: a settled claim that is no longer this one is stale). */
  claim?: object | undefined;
}

/**
 * The tasks of chunks `[first, end)`.
 *
 * @example
 * const t = new TaskTable(0, 8, Infinity);
 * t.claim(3, { source: "peer", peerId: "p" }); t.get(3).status; // "claimed"
 */
export class TaskTable {
  readonly #tasks: ChunkTask[] = [];
  /** Chunks done, and chunks claimed by the edge: the lane reads them every pass (no scan of the range). */
  #done = 0;
  #edge = 0;

  /** Chunks not done yet. */
  get notDone(): number {
    return this.end - this.first - this.#done;
  }

  /** Chunks an edge run is bringing. */
  get edgeClaimed(): number {
    return this.#edge;
  }

  constructor(readonly first: number, readonly end: number, deadline: number) {
    for (let i = first; i < end; i++) {
      this.#tasks.push({ index: i, status: "missing", deadline, attempts: 0, refusals: new Set(), edgeOnly: false });
    }
  }

  /** The task of chunk `i` (which must be inside the range). */
  get(i: number): ChunkTask {
    return this.#tasks[i - this.first]!;
  }

  /** True when chunk `i` is inside the range, missing and not claimed. */
  missing(i: number): boolean {
    return i >= this.first && i < this.end && this.#tasks[i - this.first]!.status === "missing";
  }

  /** Claims a missing chunk for a source; returns the claim token. */
  claim(i: number, c: { source: SourceKind; peerId?: string; reason?: EdgeReason }): object {
    const t = this.get(i);
    const token = {};
    if (t.status === "claimed" && t.source === "edge") this.#edge--;
    if (c.source === "edge") this.#edge++;
    t.status = "claimed";
    t.source = c.source;
    t.peerId = c.peerId;
    if (c.reason) t.reason = c.reason;
    t.attempts++;
    t.claim = token;
    return token;
  }

  /** True when `token` is chunk `i`'s claim in flight. */
  holds(i: number, token: object): boolean {
    const t = this.get(i);
    return t.status === "claimed" && t.claim === token;
  }

  /** Drops chunk `i`'s claim (if it is `token`, or any claim without one): the chunk is missing again. */
  release(i: number, token?: object): void {
    const t = this.get(i);
    if (t.status !== "claimed" || (token && t.claim !== token)) return;
    if (t.source === "edge") this.#edge--;
    t.status = "missing";
    t.claim = undefined;
    t.peerId = undefined;
    t.source = undefined;
  }

  /** Chunk `i` arrived and was verified. */
  done(i: number, source: SourceKind, peerId?: string): void {
    const t = this.get(i);
    if (t.status === "claimed" && t.source === "edge") this.#edge--;
    if (t.status !== "done") this.#done++;
    t.status = "done";
    t.claim = undefined;
    t.source = source;
    t.peerId = peerId;
    t.edgeOnly = false;
  }

  /** Marks that `peerId` must not be asked for chunk `i` again. */
  refuse(i: number, peerId: string): void {
    this.get(i).refusals.add(peerId);
  }

  /** Tasks of chunks `[from, to)` (clamped to the range). */
  *span(from: number, to: number): IterableIterator<ChunkTask> {
    for (let i = Math.max(from, this.first); i < Math.min(to, this.end); i++) yield this.#tasks[i - this.first]!;
  }
}
