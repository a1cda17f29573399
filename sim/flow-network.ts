/**
 * Fluid (flow-level) bandwidth model: no packets, only transfers with rates.
 *
 * A transfer's rate is min(downloader's downlink / its concurrent downloads, uploader's uplink /
 * its concurrent uploads); the edge is an uploader with a per-connection cap only. When a transfer
 * starts or ends, the rates of the other transfers of the same downloader and uploader are
 * recomputed and their completion events moved (a local fair-share update — one hop, not a global
 * max-min fixpoint; documented in docs/simulation.md).
 */
import type { EventQueue } from "./event-queue";

/** Sentinel uploader for the edge. */
export const EDGE = -1;

/**
 * @example
 * const net = new FlowNetwork(queue, KIND_DONE, down, up, 50e6);
 * const t = net.start(EDGE, peer, 1 << 20, downloadId, piece);
 * // later the queue pops (KIND_DONE, t): net.finish(t)
 */
export class FlowNetwork {
  readonly from: number[] = [];
  readonly to: number[] = [];
  /** Engine's tags: the download and the first/last piece of the transfer. */
  readonly tag: number[] = [];
  readonly p0: number[] = [];
  readonly p1: number[] = [];
  readonly bytes: number[] = [];
  private remaining: number[] = [];
  private rate: number[] = [];
  private last: number[] = [];
  private handle: number[] = [];
  readonly alive: boolean[] = [];
  private free: number[] = [];
  private downs: (number[] | undefined)[] = [];
  private ups: (number[] | undefined)[] = [];

  constructor(
    private readonly q: EventQueue,
    private readonly doneKind: number,
    private readonly down: Float64Array,
    private readonly up: Float64Array,
    private readonly edgeRate: number,
  ) {}

  /** Active transfers into / out of a peer. */
  downloadsOf(peer: number): readonly number[] { return this.downs[peer] ?? []; }
  uploadsOf(peer: number): readonly number[] { return this.ups[peer] ?? []; }
  uploadCount(peer: number): number { return this.ups[peer]?.length ?? 0; }

  /** Starts a transfer and returns its id. */
  start(from: number, to: number, bytes: number, tag: number, p0: number, p1: number): number {
    const id = this.free.length ? (this.free.pop() as number) : this.from.length;
    this.from[id] = from; this.to[id] = to; this.tag[id] = tag; this.p0[id] = p0; this.p1[id] = p1;
    this.bytes[id] = bytes; this.remaining[id] = bytes; this.rate[id] = 0; this.last[id] = this.q.now;
    this.handle[id] = -1; this.alive[id] = true;
    (this.downs[to] ??= []).push(id);
    if (from !== EDGE) (this.ups[from] ??= []).push(id);
    this.refresh(to);
    if (from !== EDGE) this.refresh(from);
    return id;
  }

  /** Bytes moved so far by a live transfer. */
  moved(id: number): number {
    return (this.bytes[id] as number) - (this.remaining[id] as number) + (this.rate[id] as number) * (this.q.now - (this.last[id] as number));
  }

  /** Ends a transfer (completed: the engine popped its event; or aborted) and re-shares capacity. */
  end(id: number): void {
    if (!this.alive[id]) return;
    this.alive[id] = false;
    this.q.cancel(this.handle[id] as number);
    const from = this.from[id] as number, to = this.to[id] as number;
    remove(this.downs[to], id);
    if (from !== EDGE) remove(this.ups[from], id);
    this.free.push(id);
    this.refresh(to);
    if (from !== EDGE) this.refresh(from);
  }

  private refresh(peer: number): void {
    for (const id of this.downs[peer] ?? []) this.reschedule(id);
    for (const id of this.ups[peer] ?? []) this.reschedule(id);
  }

  private reschedule(id: number): void {
    const now = this.q.now;
    const to = this.to[id] as number, from = this.from[id] as number;
    const dn = (this.down[to] as number) / (this.downs[to] as number[]).length;
    const upShare = from === EDGE ? this.edgeRate : (this.up[from] as number) / (this.ups[from] as number[]).length;
    const r = Math.min(dn, upShare);
    const old = this.rate[id] as number;
    if (r === old && (this.handle[id] as number) >= 0) return;
    const rem = Math.max(0, (this.remaining[id] as number) - old * (now - (this.last[id] as number)));
    this.remaining[id] = rem;
    this.last[id] = now;
    this.rate[id] = r;
    if ((this.handle[id] as number) >= 0) this.q.cancel(this.handle[id] as number);
    this.handle[id] = r > 0 ? this.q.push(now + rem / r, this.doneKind, id, 0) : -1;
  }
}

function remove(list: number[] | undefined, id: number): void {
  if (!list) return;
  const i = list.indexOf(id);
  if (i < 0) return;
  list[i] = list[list.length - 1] as number;
  list.pop();
}
