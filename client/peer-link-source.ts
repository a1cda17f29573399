/**
 * One linked peer of a content's swarm as a {@link Source} (in its own module: it loads with the
 * peer side, not in the first-load bundle).
 */
import { chunkLength, type Manifest } from "../protocol/manifest";
import { PeerRequestError, type PeerInfo, type PeerSource, type Source } from "./chunk-sources";

/**
 * One linked peer of a content's swarm as a source: one peer request per chunk.
 * @example
 * peerLinkSource(contentSwarm, { id: "pk_…", has }, manifest).read(4, 5, sink, signal);
 */
export function peerLinkSource(swarm: PeerSource, peer: PeerInfo, m: Manifest): Source {
  return {
    kind: "peer",
    id: peer.id,
    has: (i) => peer.has(i),
    async read(start, end, sink, signal) {
      for (let i = start; i < end; i++) {
        if (signal.aborted) throw new PeerRequestError("cancelled");
        const req = swarm.request(peer.id, i, chunkLength(m, i));
        let cancel = () => {};
        // An abort ends the read at once, whatever the transport does with the cancelled request.
        const aborted = new Promise<never>((_, reject) => {
          cancel = () => {
            req.cancel();
            reject(new PeerRequestError("cancelled"));
          };
        });
        signal.addEventListener("abort", cancel, { once: true });
        let bytes: Uint8Array;
        try {
          bytes = await Promise.race([req.done, aborted]);
        } finally {
          signal.removeEventListener("abort", cancel);
        }
        if (!(await sink(i, bytes))) return;
      }
    },
  };
}
