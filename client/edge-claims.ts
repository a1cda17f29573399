/**
 * The edge's share of one download's chunks: what the edge claims in a decision pass (fast start,
 * orphans and the peer wait, the item deadline, the edge lane's run) and what it gives back (runs
 * cut short where a peer now holds their tail; a slow peer's queued tail taken back by the edge).
 * It owns the download's {@link EdgeRuns} and the claim ↔ run bookkeeping; the download (`download.ts`)
 * runs the pass around it — store reads, peer picks, `want`s — and calls {@link EdgeClaims.claim}
 * before the peers pick and {@link EdgeClaims.giveBack} after, so edge runs take the chunks nearest
 * the reader and peers the ones further ahead.
 */
import type { Manifest } from "../protocol/manifest";
import type { ByteSpan } from "./byte-span";
import type { EdgeFetch, PeerInfo, PeerSource, SchedulerClock } from "./chunk-sources";
import type { ChunkReads } from "./chunk-reads";
import type { EdgeReason, TaskTable } from "./chunk-tasks";
import type { DownloadTuning } from "./defaults";
import { lanePlan, type EdgeLane, type LanePlan } from "./edge-lane";
import { EdgeRuns, type EdgeRun } from "./edge-runs";
import { pickEdgeRun } from "./piece-picker";
import { planTailCuts } from "./tail-cut";
import type { DownloadEmit } from "./swarm-events";

/** The pace a fresh peer is given chunks for (`#leaveFresh`), as a share of the edge alone's. */
const FRESH_PACE = 0.2;

/** How often a download with links still connecting re-reads the lane's projection, ms. */
const LANE_RECHECK_MS = 50;

/** What {@link EdgeClaims} reads of its download and calls back into. */
export interface EdgeClaimsHost {
  manifest: Manifest;
  range: ByteSpan;
  /** The range's chunks `[first, endChunk)`. */
  first: number;
  endChunk: number;
  edge: EdgeFetch;
  verify: (bytes: Uint8Array, sha256: string) => Promise<boolean>;
  clock: SchedulerClock;
  tuning: DownloadTuning;
  tasks: TaskTable;
  reads: ChunkReads;
  lane: EdgeLane | undefined;
  startedAt: number;
  /** When the whole range is due (`Infinity`: no item deadline). */
  dueAt: number;
  /** Edge throughput measured by earlier downloads (`DownloadOptions.edgeRate`), bytes/ms. */
  edgeRate: number | undefined;
  /** The reader's next chunk (live: it moves while runs deliver). */
  cursor(): number;
  /** Resolves when the reader's cursor next moves. */
  moved(): Promise<void>;
  closed(): boolean;
  /** Chunk `i` is at or ahead of the reader and nobody has it yet. */
  needed(i: number): boolean;
  /** Chunk `i` is one of the fast-start chunks. */
  isStart(i: number): boolean;
  after(ms: number, fn: () => void): unknown;
  /** Queue another decision pass. */
  wake(): void;
  /** A verified edge chunk, of a request made at `asked`. */
  accept(i: number, bytes: Uint8Array, asked: number): void;
  fail(e: unknown): void;
  emit: DownloadEmit;
}

/** One usable linked peer as a pass sees it: what it holds (in range, not refused), its free slots. */
export interface PassPeer {
  id: string;
  kind: PeerInfo["kind"];
  has(i: number): boolean;
  free: number;
}

/** What the download's pass decided before the edge's part, shared with it. */
export interface EdgePass {
  now: number;
  /** The reader's cursor at the start of the pass, and the window's end. */
  cursor: number;
  to: number;
  peers: readonly PassPeer[];
  /** Some linked peer holds chunk `i`. */
  anyPeer(i: number): boolean;
  /** No links are still connecting. */
  settled: boolean;
  /** Links still connecting are no longer waited for: the edge takes chunks no linked peer holds. */
  waitOver: boolean;
  /** Time left of the start grace, ms (≤ 0: over). */
  startLeft: number;
  source: PeerSource | undefined;
}

/** The edge's verdict in one pass, which {@link EdgeClaims.giveBack} reads. */
export interface EdgeVerdict {
  /** The item deadline is near: the edge takes everything and gives nothing back. */
  rush: boolean;
  /** The lane's projection (with a lane), and whether it rules (a peer has shown an unshared path). */
  plan: LanePlan | undefined;
  projected: boolean;
  laneOpen: boolean;
}

/**
 * The edge's claims on one download's chunk table.
 *
 * @example
 * const verdict = edge.claim(pass); // edge runs first: the chunks nearest the reader
 * // … peers pick what is left …
 * edge.giveBack(pass, verdict);
 */
export class EdgeClaims {
  readonly #h: EdgeClaimsHost;
  readonly #runs: EdgeRuns;
  #rushTimer: unknown;
  #laneTimer: unknown;
  /** Fresh peers a lane run's tail was left to (`#leaveFresh`). */
  readonly #leftTo = new Set<string>();

  constructor(host: EdgeClaimsHost) {
    const h = (this.#h = host);
    this.#runs = new EdgeRuns({
      manifest: h.manifest, edge: h.edge, verify: h.verify, clock: h.clock, retries: h.tuning.edgeRetries,
      stopped: () => h.closed(),
      // Read no further than the window ahead of the reader: TCP backpressure bounds memory.
      room: async (i) => {
        while (i >= h.cursor() + h.tuning.window && !h.closed()) await h.moved();
      },
      deliver: (run, i, bytes) => {
        if (this.#runOf(i) === run) h.tasks.release(i);
        h.accept(i, bytes, run.asked);
      },
      measured: (bytes, ms, chunks) => h.lane?.edgeSample(bytes, ms, chunks),
      retryIn: (ms) => h.after(ms, () => h.wake()),
      fail: (e) => h.fail(e),
      ended: (run) => {
        for (let k = run.pos; k < run.end; k++) if (this.#runOf(k) === run) h.tasks.release(k);
        h.wake();
      },
    });
  }

  /** Aborts every edge request (the download closed). */
  abortAll(): void {
    this.#runs.abortAll();
  }

  /**
   * The edge's claims of one pass: runs for fast-start chunks no linked peer holds (after the start
   * grace; all of them when it is 0), chunks no peer can serve, everything once the item deadline
   * is near; then the edge lane's run.
   */
  claim(p: EdgePass): EdgeVerdict {
    const h = this.#h;
    const o = h.tuning;
    const rush = this.#rushing(p.now);
    const edgeable = (i: number) =>
      rush || h.tasks.get(i).edgeOnly ||
      (h.isStart(i) && (o.startGraceMs <= 0 || (!p.anyPeer(i) && (p.settled || p.startLeft <= 0)))) ||
      (p.waitOver && !p.anyPeer(i));
    const reason = (i: number): EdgeReason =>
      rush || h.tasks.get(i).edgeOnly ? "deadline" : h.isStart(i) ? "start" : p.settled ? "orphan" : "wait";
    while (this.#runs.size < o.edgeConcurrency) {
      const run = pickEdgeRun({ from: p.cursor, startBy: p.to, to: h.endChunk, needed: h.needed, edgeable, maxRun: o.edgeRunMax });
      if (!run) break;
      this.#fromEdge(run[0], run[1], false, reason);
    }
    const lane = this.#laneRun(p);
    return { rush, ...lane };
  }

  /**
   * What the edge gives back (none while rushing): with a lane, the tail cuts; then edge runs cut
   * short where a peer now holds the rest (offload beats a long edge request).
   */
  giveBack(p: EdgePass, v: EdgeVerdict): void {
    const h = this.#h;
    if (h.lane && !v.rush) this.#cutTails(p.now, p.cursor, h.lane);
    if (h.lane && !v.rush && !v.projected) this.#leaveFresh(p);
    // A lane run: on the schedule, not while the lane is open (the bytes on their way are link time
    // a shared link cannot make up); on the projection, by what the edge claims beyond the deficit.
    if (v.rush) return;
    let excess = v.plan && v.projected ? Math.floor((v.plan.edgeBytes - v.plan.need) / h.manifest.chunkSize) : v.laneOpen ? 0 : Infinity;
    for (const r of this.#runs) {
      if (r.lane && excess <= 0) continue;
      for (let j = Math.max(r.pos + 1, r.lane ? r.end - excess : 0); j < r.end; j++) {
        if (!h.isStart(j) && !h.tasks.get(j).edgeOnly && p.anyPeer(j)) {
          for (let k = j; k < r.end; k++) if (this.#runOf(k) === r) h.tasks.release(k);
          if (r.lane) excess -= r.end - j;
          r.end = j;
          h.wake();
          break;
        }
      }
    }
  }

  /**
   * Edge lane (edge-lane.ts). While the peers may share the edge's link: the edge alone's schedule
   * — one run at a time while the bytes obtained lag it, sized to the edge's share of the window.
   * Once a peer has shown it does not (`unshared`): the projected deficit — the edge's claims are
   * kept at what the peers cannot deliver by the time the edge alone would have finished; peers on
   * time, linked or with links expected to open in time, keep every chunk. Lane runs take the free
   * chunks nearest the reader (peers pick after them, i.e. further ahead).
   */
  #laneRun(p: EdgePass): Omit<EdgeVerdict, "rush"> {
    const h = this.#h;
    const o = h.tuning;
    const { now, cursor, to, peers: view, settled } = p;
    const plan = h.lane && this.#lanePlan(p);
    const projected = !!plan && h.lane!.unshared;
    let laneOpen = false;
    if (plan && projected) laneOpen = h.lane!.open = plan.need > 0 && plan.need >= plan.edgeBytes;
    else if (h.lane) laneOpen = h.lane.verdict(now, h.startedAt, h.range.end - h.range.start, view.length > 0) === "open";
    // Nothing else may wake a download whose links are still connecting (no chunk, no peer event),
    // while the schedule and the deficit grow with every millisecond they take: look again soon.
    if (h.lane && !settled && !this.#laneTimer) {
      this.#laneTimer = h.after(LANE_RECHECK_MS, () => ((this.#laneTimer = undefined), h.wake()));
    }
    // A new run starts while the last one's final chunks are still coming (`laneLeft`): the edge's
    // stream has no idle round trip. It leaves linked peers their free request slots in the window,
    // and the fast-start chunks to the start grace.
    const deficit = plan && projected ? Math.ceil((plan.need - plan.edgeBytes) / h.manifest.chunkSize) : 1;
    if (laneOpen && deficit > 0 && this.#runs.size < o.edgeConcurrency && this.#runs.laneLeft <= 1) {
      const slots = view.reduce((n, q) => n + Math.max(0, q.free), 0);
      const laneable = (i: number) => !h.isStart(i) || p.startLeft <= 0 || settled;
      // No cap on a run while links are still connecting: a shorter run keeps bytes for a link that
      // may open, but leaves the visitor's link short of the edge alone's pace (docs/client.md §7).
      // On the schedule, a linked peer that has not delivered yet keeps its free slots of what is
      // left: its first chunks show whether its path is the edge's (`unshared`); a small item's
      // run would otherwise take every chunk but the start grace's, and the peer never show it.
      let fresh = 0;
      for (const q of view) if (!h.reads.delivered(q.id)) fresh += Math.max(0, q.free);
      let left = 0;
      for (let i = cursor; i < to; i++) if (h.needed(i)) left++;
      if (to < h.endChunk) left = Infinity; // more than the window: nothing to leave
      const maxRun = projected
        ? Math.max(1, Math.min(deficit, o.laneRunMax, o.window - slots))
        : Math.max(1, Math.min(h.lane!.runLength(now, o.window - slots, view.length > 0), left - fresh));
      const run = pickEdgeRun({ from: cursor, startBy: to, to: h.endChunk, needed: h.needed, edgeable: laneable, maxRun });
      if (run) {
        h.emit("lane-open", { from: run[0], to: run[1] });
        this.#fromEdge(run[0], run[1], true, () => "lane");
      }
    }
    return { plan: plan || undefined, projected, laneOpen };
  }

  /**
   * On the schedule, a holder linked after the lane claimed the rest of the window gets its free
   * slots from the far end of a lane run, as a fresh peer gets them when a run is sized
   * (`#laneRun`): its first chunks show whether its path is the edge's (`EdgeLane.arrival`), and
   * with every chunk claimed it would never get one (bench §1: 4–9 MiB items, a window or so, got
   * 1 peer byte in 23 later requests). On a shared link the bytes are the same; a peer slower than
   * the edge gives them back through the tail cut.
   */
  #leaveFresh(p: EdgePass): void {
    const h = this.#h;
    const lane = h.lane!;
    // Only chunks it brings before the schedule's end at a fifth of the edge's pace (§5's 10 Mbit/s
    // seeders on a 50 Mbit/s link) while the edge's link carries them too: never the item's tail.
    const left = lane.scheduleEnd(h.startedAt, h.range.end - h.range.start) - p.now;
    const fit = Math.floor((left * lane.aloneRate) / (1 / FRESH_PACE + 1) / h.manifest.chunkSize);
    if (!(fit > 0)) return;
    for (const q of p.peers) {
      const slots = Math.min(q.free, fit);
      // Once per peer: chunks the tail cut took back from it are not its to show again.
      if (slots <= 0 || h.reads.delivered(q.id) || this.#leftTo.has(q.id)) continue;
      let pickable = false;
      for (let i = p.cursor; i < p.to && !pickable; i++) pickable = h.needed(i) && q.has(i);
      if (pickable) continue;
      for (const r of this.#runs) {
        if (!r.lane || r.end > p.to) continue;
        let j = r.end;
        while (j - 1 > r.pos + 1 && r.end - (j - 1) <= slots && q.has(j - 1) && !h.isStart(j - 1) && !h.tasks.get(j - 1).edgeOnly) j--;
        if (j === r.end) continue;
        for (let k = j; k < r.end; k++) if (this.#runOf(k) === r) h.tasks.release(k);
        r.end = j;
        this.#leftTo.add(q.id);
        h.wake();
        break;
      }
    }
  }

  /** The lane's projection of this download now (edge-lane.ts `lanePlan`). */
  #lanePlan(p: EdgePass): LanePlan {
    const h = this.#h;
    const cursor = h.cursor();
    return lanePlan(h.lane!, {
      now: p.now, startedAt: h.startedAt, total: h.range.end - h.range.start,
      left: h.tasks.notDone * h.manifest.chunkSize, edgeBytes: h.tasks.edgeClaimed * h.manifest.chunkSize,
      window: h.tasks.span(cursor, cursor + h.tuning.window),
      peers: p.peers.map((q) => ({ has: (i: number) => q.has(i), pace: (prior: number) => h.reads.pace(q.id, p.now, prior, h.tuning.laneWindowMs) })),
      pending: !!p.source?.pending(),
    });
  }

  /**
   * The item deadline's verdict: true once the edge must take every missing chunk for the range to
   * arrive in time (the rest at the edge's measured or assumed rate would otherwise be late).
   */
  #rushing(now: number): boolean {
    const h = this.#h;
    if (h.dueAt === Infinity) return false;
    const rate = h.lane?.edgeRate || h.edgeRate || h.tuning.assumedEdgeBytesPerMs;
    const rushAt = h.dueAt - this.#leftToPeers() / rate;
    if (now >= rushAt) return true;
    if (!this.#rushTimer) this.#rushTimer = h.after(rushAt - now, () => ((this.#rushTimer = undefined), h.wake()));
    return false;
  }

  /** Bytes left to the peers: missing chunks no edge request is bringing (for the item deadline). */
  #leftToPeers(): number {
    const h = this.#h;
    let left = 0;
    for (const t of h.tasks.span(h.cursor(), h.endChunk)) if (t.status !== "done" && t.source !== "edge") left += h.manifest.chunkSize;
    return left;
  }

  /**
   * The tail: once every missing chunk is claimed, the edge takes back the chunks a slow peer has
   * queued that it would deliver after the edge could (`tail-cut.ts`; partial CANCEL).
   */
  #cutTails(now: number, cursor: number, lane: EdgeLane): void {
    const h = this.#h;
    let edgeBytes = 0;
    for (const t of h.tasks.span(cursor, h.endChunk)) {
      if (t.status === "missing") return; // work still free: not the tail yet
      if (t.status === "claimed" && t.source === "edge") edgeBytes += h.manifest.chunkSize;
    }
    const runs = [...h.reads.peerRuns()];
    if (!runs.length) return;
    const cuts = planTailCuts(runs.map((r) => ({ waiting: r.waiting(), rate: h.reads.peerRate(r.peerId, now) })), {
      now, chunkBytes: h.manifest.chunkSize, edgeRate: lane.aloneRate, edgeBytes,
      scheduleEnd: lane.scheduleEnd(h.startedAt, h.range.end - h.range.start),
    });
    cuts.forEach((from, k) => from !== undefined && runs[k]!.cut(from));
  }

  /** Claims `[start, end)` for one new edge run (`why`: each chunk's reason, for the `chunk` event). */
  #fromEdge(start: number, end: number, lane: boolean, why: (i: number) => EdgeReason): void {
    const run = this.#runs.start(start, end, lane);
    for (let k = start; k < end; k++) Object.assign(this.#h.tasks.claim(k, { source: "edge", reason: why(k) }), { run });
  }

  /** The edge run that claims chunk `i`, if any. */
  #runOf(i: number): EdgeRun | undefined {
    const t = this.#h.tasks.get(i);
    return t.status === "claimed" && t.source === "edge" ? (t.claim as { run?: EdgeRun }).run : undefined;
  }
}
