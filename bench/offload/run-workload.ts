/**
 * Plays a generated workload against the real system in real time and records the trace that
 * actually happened: when each peer came online, when each request started, when each peer left.
 * The theoretical limit is computed from that recorded trace (not the plan), because requests start
 * later than planned when a peer's previous download is still running, and peers leave only after
 * their running download completes.
 *
 * Peers leave at their planned departure, or — whatever the plan — once every peer has issued all
 * its requests (the run ends there; no-churn peers stay online until then).
 */
import type { TraceEvent } from "../../sim/offload-limit";
import type { SdkFetchResult, SdkTotals } from "../peer/sdk-protocol";
import type { BenchPeer } from "./bench-peer";
import type { PlannedPeer, Workload } from "./workload";

/** One completed (or failed) request of the run. */
export interface FetchRecord {
  peer: number;
  kind: "chromium" | "node";
  item: number;
  size: number;
  /** Start, s from the run start. */
  t: number;
  result: SdkFetchResult;
}

/** What happened in one run. */
export interface RunRecord {
  trace: TraceEvent[];
  fetches: FetchRecord[];
  totals: (SdkTotals | null)[];
  /** Requests planned but not issued (the peer left, or the hard stop came first). */
  skipped: number;
  wallS: number;
}

/** How the runner reaches the system. */
export interface RunEnv {
  url(item: number): string;
  sha256(item: number): string;
  makePeer(p: PlannedPeer): BenchPeer;
  log(msg: string): void;
  /** No request starts after this many seconds; running ones are given until `hardStopS`. */
  hardStopS: number;
}

/** Sleeps `ms` (≤ 0: next tick); Infinity never resolves (a peer without a planned departure). */
const sleep = (ms: number) => new Promise<void>((r) => {
  if (Number.isFinite(ms)) setTimeout(r, Math.max(0, ms));
});

/**
 * Runs the workload; resolves when every peer has left.
 * @example
 * const rec = await runWorkload(makeWorkload(params), env); offloadLimit(rec.trace, { shardOf: () => 0 })
 */
export async function runWorkload(w: Workload, env: RunEnv): Promise<RunRecord> {
  const t0 = performance.now();
  const now = () => (performance.now() - t0) / 1000;
  const trace: TraceEvent[] = [];
  const fetches: FetchRecord[] = [];
  const totals: (SdkTotals | null)[] = [];
  let skipped = 0;
  let pendingPeers = w.peers.length;
  let allIssued!: () => void;
  const allRequestsIssued = new Promise<void>((r) => (allIssued = r));
  const doneIssuing = () => {
    if (--pendingPeers === 0) allIssued();
  };

  const runPeer = async (p: PlannedPeer) => {
    let issuing = true;
    const stopIssuing = () => {
      if (issuing) {
        issuing = false;
        doneIssuing();
      }
    };
    await sleep(p.onS * 1000 - (performance.now() - t0));
    const peer = env.makePeer(p);
    try {
      await peer.open();
    } catch (e) {
      env.log(`peer ${p.index} (${p.kind}) could not open: ${e instanceof Error ? e.message : e}`);
      skipped += p.requests.length;
      stopIssuing();
      return;
    }
    trace.push({ t: now(), type: "on", peer: p.index });
    let i = 0;
    for (; i < p.requests.length; i++) {
      const r = p.requests[i]!;
      await sleep(r.t * 1000 - (performance.now() - t0));
      if (now() >= p.offS || now() >= env.hardStopS) break;
      const t = now();
      trace.push({ t, type: "request", peer: p.index, item: r.item });
      const result = await peer.fetch(env.url(r.item), env.sha256(r.item), Math.max(5_000, (env.hardStopS + 30 - t) * 1000));
      fetches.push({ peer: p.index, kind: p.kind, item: r.item, size: w.sizes[r.item]!, t, result });
      if (!result.ok) env.log(`peer ${p.index} (${p.kind}) item ${r.item}: ${result.error ?? result.status}`);
    }
    skipped += p.requests.length - i;
    stopIssuing();
    await Promise.race([sleep(p.offS * 1000 - (performance.now() - t0)), allRequestsIssued]);
    totals.push(await peer.close());
    trace.push({ t: now(), type: "off", peer: p.index });
  };

  await Promise.all(w.peers.map(runPeer));
  // Stable sort by time: events recorded in the same millisecond keep their causal order.
  trace.sort((a, b) => a.t - b.t);
  return { trace, fetches, totals, skipped, wallS: now() };
}
