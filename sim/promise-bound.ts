/**
 * The promise bound: the most peer bytes any scheduler could deliver on a recorded trace while
 * keeping edgeswarm's promise — no visitor waits longer than the edge alone would have made it
 * wait — with every holder's upload capped.
 *
 * The trace limit (`offload-limit.ts`) asks only whether some holder is online; it counts a
 * request as all-peer even when the one holder's uplink could not carry it in time. This bound
 * adds bandwidth and deadlines and is still an upper bound (a relaxation of every real schedule):
 *
 * - request r of S bytes, started at t, must be complete by its edge-alone finish
 *   d = t + `edgeOverheadS` + S ÷ `edgeBytesPerSec`; peer bytes count only if they arrive by d;
 * - the holders are the trace limit's: the peers online at the request's start that had started
 *   their own request of the item by then (whether or not they have the bytes yet), the requester
 *   excluded; each uploads at most `uploadBytesPerSec` while online, shared by every request it
 *   serves at the same time — so with unbounded uplinks the bound is the trace limit;
 * - links cost nothing: every pair is linked, with no round trips and no chunk granularity; the
 *   requester's own downlink is not a constraint (peer data channels are not shaped in bench §1).
 *
 * Solved as a maximum flow over time slots: source → (holder, slot) [upload × slot] →
 * (request) [upload × overlap of the slot with the request's window] → sink [S].
 */
import { MaxFlow } from "./max-flow";
import type { TraceEvent } from "./offload-limit";

/** What bounds the bytes: rates, the edge-alone yardstick and the time grid. */
export interface PromiseBoundOptions {
  /** Item size in bytes. */
  sizeOf: (item: number) => number;
  /** A holder's upload cap, bytes/s (the SDK's `maxUploadBytesPerSec`). */
  uploadBytesPerSec: number;
  /** The edge alone's rate on the visitor's link, bytes/s. */
  edgeBytesPerSec: number;
  /** The edge alone's fixed cost before its bytes flow (connect, request round trip), s. */
  edgeOverheadS: number;
  /** Time grid, s (default 0.05). */
  slotS?: number;
}

/** Outcome of {@link promiseBound}. */
export interface PromiseBound {
  requestedBytes: number;
  /** Most bytes peers could deliver within the requests' edge-alone windows. */
  peerBytes: number;
  /** Bytes of repeat requests the requester already held (as the trace limit counts them). */
  localBytes: number;
  /** (peerBytes + localBytes) ÷ requestedBytes: the best offload that keeps the promise. */
  offload: number;
  /** Peer bytes per request, in trace order of the requests. */
  perRequest: number[];
}

/**
 * Computes the promise bound of a trace (one swarm shard: every peer may serve every other).
 * @example
 * promiseBound([on(0, 1), on(0, 2), req(0, 1, 7), req(1, 2, 7)],
 *   { sizeOf: () => 8e6, uploadBytesPerSec: 4e6, edgeBytesPerSec: 8e6, edgeOverheadS: 0 }).peerBytes; // 4e6
 */
export function promiseBound(trace: readonly TraceEvent[], o: PromiseBoundOptions): PromiseBound {
  const slot = o.slotS ?? 0.05;
  const online = new Map<number, [number, number][]>(); // peer → online intervals [on, off)
  const requests: { t: number; peer: number; item: number }[] = [];
  for (const e of trace) {
    const iv = online.get(e.peer) ?? [];
    online.set(e.peer, iv);
    const open = iv.length > 0 && iv[iv.length - 1]![1] === Infinity;
    if (e.type === "on" && !open) iv.push([e.t, Infinity]);
    else if (e.type === "off" && open) iv[iv.length - 1]![1] = e.t;
    else if (e.type === "request") requests.push(e);
  }
  const since = new Map<string, number>(); // `${peer}:${item}` → start of its own first request
  const byItem = new Map<number, { peer: number; from: number }[]>(); // item → its requesters, first request each
  for (const r of requests) {
    const k = `${r.peer}:${r.item}`;
    if (since.has(k)) continue;
    since.set(k, r.t);
    const list = byItem.get(r.item) ?? [];
    list.push({ peer: r.peer, from: r.t });
    byItem.set(r.item, list);
  }

  const g = new MaxFlow();
  const source = g.node();
  const sink = g.node();
  const holderSlot = new Map<string, number>(); // `${peer}:${slot}` → node
  const slotNode = (peer: number, k: number) => {
    const key = `${peer}:${k}`;
    let n = holderSlot.get(key);
    if (n === undefined) {
      n = g.node();
      holderSlot.set(key, n);
      g.edge(source, n, o.uploadBytesPerSec * slot);
    }
    return n;
  };
  const out: PromiseBound = { requestedBytes: 0, peerBytes: 0, localBytes: 0, offload: 0, perRequest: [] };
  const sinkEdges: (number | null)[] = [];
  for (const r of requests) {
    const size = o.sizeOf(r.item);
    out.requestedBytes += size;
    if (since.get(`${r.peer}:${r.item}`)! < r.t) {
      out.localBytes += size; // a repeat view: the requester holds it (the trace limit's local hit)
      sinkEdges.push(null);
      continue;
    }
    const end = r.t + o.edgeOverheadS + size / o.edgeBytesPerSec;
    const rn = g.node();
    sinkEdges.push(g.edge(rn, sink, size));
    for (const h of byItem.get(r.item) ?? []) {
      if (h.peer === r.peer || h.from > r.t) continue;
      const iv = online.get(h.peer) ?? [];
      if (!iv.some(([on, off]) => on <= r.t && r.t < off)) continue;
      for (const [on, off] of iv) {
        const lo = Math.max(r.t, on);
        const hi = Math.min(end, off);
        for (let k = Math.floor(lo / slot); k * slot < hi; k++) {
          const overlap = Math.min(hi, (k + 1) * slot) - Math.max(lo, k * slot);
          if (overlap > 0) g.edge(slotNode(h.peer, k), rn, o.uploadBytesPerSec * overlap);
        }
      }
    }
  }
  out.peerBytes = g.solve(source, sink);
  out.perRequest = sinkEdges.map((e) => (e === null ? 0 : g.flowOn(e)));
  out.offload = out.requestedBytes === 0 ? 0 : (out.peerBytes + out.localBytes) / out.requestedBytes;
  return out;
}
