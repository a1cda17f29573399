/**
 * News the coordinator pushes to members unasked: `peer-have` when a peer announces chunks some
 * members wait for (`chunk-waiters.ts`, fan-out chosen by `peer-have.ts`), and `peer-left` when a
 * member leaves, to the members told of it (`leave-audience.ts`) — or to all when its audience is
 * unknown (it joined before this instance woke).
 */
import { encodeMessage, type ServerMessage } from "../protocol/swarm-protocol";
import type { ChunkWaiters } from "./chunk-waiters";
import type { CollectionItems } from "./collection-items";
import type { LeaveAudience } from "./leave-audience";
import type { LivePeer, PeerDirectory } from "./peer-directory";
import { peerHaveTargets } from "./peer-have";
import type { SwarmLimits } from "./swarm-limits";
import { sendRaw } from "./ws-io";

/** What the news needs from the coordinator. */
export interface NewsHost {
  readonly dir: PeerDirectory;
  readonly waiters: ChunkWaiters;
  readonly audience: LeaveAudience;
  readonly items: CollectionItems;
  limits(): SwarmLimits;
  now(): number;
  random(): number;
  send(ws: WebSocket, msg: ServerMessage): boolean;
}

/**
 * @example
 * const news = new MemberNews(host);
 * news.announce(peer, added); // after a `have`
 * news.peerLeft(peerId);      // after a leave or a pruned row
 */
export class MemberNews {
  readonly #h: NewsHost;

  constructor(host: NewsHost) {
    this.#h = host;
  }

  /**
   * `peer-have` to the nearest members waiting for some of `chunks` (their last `want` found no
   * holder of them: `chunk-waiters.ts`), which settles those waits.
   */
  announce(peer: LivePeer, chunks: number[]): void {
    const h = this.#h;
    if (chunks.length === 0 || peer.uploadSlots === 0) return;
    const limits = h.limits();
    const ids = h.waiters.waitersOf(chunks, h.now() - limits.peerHaveWindowMs);
    h.waiters.settle(chunks);
    if (ids.length === 0) return;
    const wanters: LivePeer[] = [];
    for (const id of ids) {
      const p = h.dir.peers.get(id);
      if (p && p !== peer) wanters.push(p);
    }
    for (const t of peerHaveTargets(wanters, peer, chunks, limits.peerHaveFanout, h.random)) {
      if (h.send(t.peer.ws, { type: "peer-have", peerId: peer.peerId, chunks: t.lacking })) h.audience.tell(t.peer.peerId, peer.peerId);
    }
  }

  /** `peer-left` to the members that were told about the peer; its collection holdings are dropped. */
  peerLeft(peerId: string): void {
    const h = this.#h;
    h.items.leave(peerId);
    const to = h.audience.leave(peerId);
    const frame = encodeMessage({ type: "peer-left", peerId });
    if (to === "all") {
      for (const p of h.dir.peers.values()) if (p.peerId !== peerId) sendRaw(p.ws, frame);
      return;
    }
    for (const id of to) {
      const p = h.dir.peers.get(id);
      if (p) sendRaw(p.ws, frame);
    }
  }
}
