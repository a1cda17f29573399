/**
 * Who hears `peer-have` when a peer announces new chunks: of the members waiting for some of them
 * (their last `want` found no holder: `chunk-waiters.ts`), those that still lack one, nearest to the
 * holder first (proximity class: same ASN > colo > country > distance > unknown), ties random, at
 * most `fanout` — so leechers learn of a first holder without polling, with bounded fan-out. One
 * pass over the waiters keeping the `fanout` best (no sort, no per-waiter arrays).
 */
import type { LivePeer } from "./peer-directory";
import { proximityClass } from "./peer-ranking";

/**
 * The recipients and, per recipient, the announced chunks it lacks.
 * @example
 * for (const t of peerHaveTargets(waiting, peer, added, 8, Math.random)) send(t.peer.ws, …);
 */
export function peerHaveTargets(wanters: Iterable<LivePeer>, holder: LivePeer, chunks: readonly number[], fanout: number, random: () => number): { peer: LivePeer; lacking: number[] }[] {
  if (fanout < 1) return [];
  // Bounded insertion list of the best `fanout`, ordered by key = class + tie draw (draw < 1).
  const best: LivePeer[] = [];
  const keys: number[] = [];
  for (const p of wanters) {
    if (p.peerId === holder.peerId || !(p.lastWantAt > 0) || !lacksAny(p, chunks)) continue;
    const key = proximityClass(p.location, holder.location) + random();
    if (best.length === fanout && key >= keys[fanout - 1]!) continue;
    let j = best.length === fanout ? fanout - 1 : best.length;
    while (j > 0 && keys[j - 1]! > key) {
      best[j] = best[j - 1]!;
      keys[j] = keys[j - 1]!;
      j--;
    }
    best[j] = p;
    keys[j] = key;
  }
  return best.map((peer) => ({ peer, lacking: chunks.filter((i) => !peer.chunks.has(i)) }));
}

/** Whether `p` lacks at least one of `chunks` (early exit). */
function lacksAny(p: LivePeer, chunks: readonly number[]): boolean {
  for (const i of chunks) if (!p.chunks.has(i)) return true;
  return false;
}
