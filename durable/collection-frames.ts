/**
 * The coordinator's frames about one item of a collection swarm: the `peers` answer to a
 * `want {item}`, bounded in bytes like the item-scope answer (`peers-frame.ts`), with each entry's
 * `have` over that item's chunks.
 */
import type { PeerEntry } from "../protocol/swarm-protocol";
import type { RankedPeer } from "./peer-ranking";
import type { ItemHolder } from "./collection-items";

/**
 * The `peers` frame for `item`, truncated so its JSON stays within `maxBytes`; the peer ids that
 * made it in are pushed to `included` (the requester now knows them: `leave-audience.ts`).
 * @example
 * ws.send(itemPeersFrame(root, rankPeers({ ...req, candidates: items.want(me, root, now) }), 60 * 1024, []));
 */
export function itemPeersFrame(item: string, ranked: readonly RankedPeer<ItemHolder>[], maxBytes: number, included: { peerId: string }[]): string {
  const head = `{"type":"peers","item":"${item}","peers":[`;
  const parts: string[] = [];
  let bytes = head.length + 2;
  for (const r of ranked) {
    const c = r.candidate;
    const entry: PeerEntry = { peerId: c.peerId, kind: c.kind, have: c.chunks.toBase64(), proximity: r.proximity };
    if (r.distanceKm !== undefined) entry.distanceKm = Math.round(r.distanceKm);
    const e = JSON.stringify(entry);
    bytes += e.length + 1;
    if (bytes > maxBytes) break;
    parts.push(e);
    included.push(c);
  }
  return `${head}${parts.join(",")}]}`;
}
