/**
 * Who hears `peer-have` when a peer announces new chunks: recent wanters that lack some of them,
 * nearest to the holder first (same ASN > colo > country > distance > unknown), ties random, at
 * most `fanout` — so leechers learn of new holders without polling, with bounded fan-out.
 */
import type { LivePeer } from "./peer-directory";
import { proximityClass } from "./peer-ranking";

/**
 * The recipients and, per recipient, the announced chunks it lacks.
 * @example
 * for (const t of peerHaveTargets(dir.wantersSince(since), peer, added, 8, Math.random)) send(t.peer.ws, …);
 */
export function peerHaveTargets(wanters: Iterable<LivePeer>, holder: LivePeer, chunks: readonly number[], fanout: number, random: () => number): { peer: LivePeer; lacking: number[] }[] {
  return [...wanters]
    .filter((p) => p.peerId !== holder.peerId && p.lastWantAt > 0)
    .map((p) => ({ peer: p, lacking: chunks.filter((i) => !p.chunks.has(i)), key: proximityClass(p.location, holder.location) + random() }))
    .filter((t) => t.lacking.length > 0)
    .sort((a, b) => a.key - b.key)
    .slice(0, fanout)
    .map(({ peer, lacking }) => ({ peer, lacking }));
}
