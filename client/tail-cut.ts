/**
 * The tail race: at the end of a download, chunks queued behind the one a slow peer is sending
 * would arrive after the edge could have delivered them (bench §5: a 10 Mbit/s seeder's queued
 * chunks landed ~0.7 s after the edge was done). Once nothing is left unclaimed, each such run is
 * cut where the peer's expected finish and the edge's meet, and the edge takes the rest
 * (docs/client-core.md, "Tail"). Pure: the download passes in rates and time.
 */

/** One open peer run as the policy sees it. */
export interface TailRun {
  /** Chunk indices the peer still owes, in the order it sends them. */
  waiting: readonly number[];
  /** The peer's delivery rate to this download, bytes/ms. */
  rate: number;
}

export interface TailInput {
  now: number;
  /** Bytes of one chunk. */
  chunkBytes: number;
  /** The edge alone's rate, bytes/ms. */
  edgeRate: number;
  /** Bytes the edge is still bringing (claimed by edge runs). */
  edgeBytes: number;
  /** When the edge alone would have finished (slack included): a run due by then is left alone. */
  scheduleEnd: number;
}

/**
 * For each run, the chunk index to cut it from (the peer keeps what comes before), or undefined to
 * leave it. The peer keeps at least the chunk it is sending; the cut minimises the later of the
 * peer's and the edge's finish, preferring the peer (offload) on a tie. Runs are taken in order,
 * each cut adding to the edge's share.
 * @example
 * planTailCuts([{ waiting: [30, 31, 32], rate: 1 }], { now, chunkBytes, edgeRate: 10, edgeBytes: 0, scheduleEnd: now }); // [31]
 */
export function planTailCuts(runs: readonly TailRun[], o: TailInput): (number | undefined)[] {
  let edgeBytes = o.edgeBytes;
  return runs.map((r) => {
    const n = r.waiting.length;
    if (n < 2 || !(o.edgeRate > 0)) return undefined;
    const peerEnd = (j: number) => (r.rate > 0 ? o.now + (j * o.chunkBytes) / r.rate : Infinity);
    if (peerEnd(n) <= o.scheduleEnd) return undefined;
    let best = n;
    let bestEnd = Math.max(peerEnd(n), o.now + edgeBytes / o.edgeRate);
    for (let j = n - 1; j >= 1; j--) {
      const end = Math.max(peerEnd(j), o.now + (edgeBytes + (n - j) * o.chunkBytes) / o.edgeRate);
      if (end < bestEnd) [best, bestEnd] = [j, end];
    }
    if (best === n) return undefined;
    edgeBytes += (n - best) * o.chunkBytes;
    return r.waiting[best];
  });
}
