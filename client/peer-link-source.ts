/**
 * One linked peer of a content's swarm as a {@link Source} (in its own module: it loads with the
 * peer side, not in the first-load bundle).
 */
import { MAX_REQUEST_CHUNKS } from "../protocol/peer-frames";
import { chunkLength, type Manifest } from "../protocol/manifest";
import { PeerRequestError, type ChunkSink, type PeerChunkSource, type PeerInfo, type PeerSource, type RunTail } from "./chunk-sources";

/**
 * One linked peer of a content's swarm as a source: one peer request per run of up to
 * `MAX_REQUEST_CHUNKS` chunks.
 * @example
 * peerLinkSource(contentSwarm, { id: "pk_…", has }, manifest).readList([4, 7, 9], sink, signal);
 */
export function peerLinkSource(swarm: PeerSource, peer: PeerInfo, m: Manifest): PeerChunkSource {
  const readList = async (indices: readonly number[], sink: ChunkSink, signal: AbortSignal, tail: RunTail = {}): Promise<void> => {
    let stopAt = Infinity;
    let cutRun = (_from: number) => {};
    tail.cut = (from) => {
      stopAt = Math.min(stopAt, from);
      cutRun(from);
    };
    try {
      for (let k = 0; k < indices.length; k += MAX_REQUEST_CHUNKS) {
        const run = indices.slice(k, k + MAX_REQUEST_CHUNKS).filter((i) => i < stopAt);
        if (!run.length || !(await readRun(run, sink, signal, (cut) => (cutRun = cut)))) return;
      }
    } finally {
      delete tail.cut;
    }
  };
  const readRun = async (run: readonly number[], sink: ChunkSink, signal: AbortSignal, onCut: (cut: (from: number) => void) => void): Promise<boolean> => {
    if (signal.aborted) throw new PeerRequestError("cancelled");
    let wanted = true;
    const sinks: Promise<unknown>[] = [];
    const req = swarm.request(peer.id, run.map((i) => ({ index: i, length: chunkLength(m, i) })), (i, bytes, parts) => {
      if (!wanted) return;
      sinks.push(Promise.resolve(sink(i, bytes, parts)).then((more) => {
        if (!more && wanted) {
          wanted = false;
          req.cancel();
        }
      }));
    });
    onCut((from) => {
      const keep = run.findIndex((i) => i >= from);
      if (keep > 0) req.trim(keep);
      else if (keep === 0 && wanted) {
        wanted = false;
        req.cancel();
      }
    });
    let cancel = () => {};
    // An abort ends the read at once, whatever the transport does with the cancelled request.
    const aborted = new Promise<never>((_, reject) => {
      cancel = () => {
        req.cancel();
        reject(new PeerRequestError("cancelled"));
      };
    });
    signal.addEventListener("abort", cancel, { once: true });
    try {
      await Promise.race([req.done.catch((e: unknown) => {
        if (wanted) throw e; // the sink said stop: the cancellation is ours
      }), aborted]);
      await Promise.all(sinks);
    } finally {
      signal.removeEventListener("abort", cancel);
    }
    return wanted;
  };
  return {
    kind: "peer",
    id: peer.id,
    has: (i) => peer.has(i),
    read: (start, end, sink, signal) => readList(Array.from({ length: Math.max(0, end - start) }, (_, k) => start + k), sink, signal),
    readList,
  };
}
