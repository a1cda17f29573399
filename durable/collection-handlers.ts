/**
 * The coordinator's handlers for frames about one item of a collection swarm (`have {item}`,
 * `want {item}`): validation against the grant's chunks per item, the item index
 * (`collection-items.ts`), the ranked `peers {item}` answer (`collection-frames.ts`) and the
 * `peer-have {item}` fan-out to the item's recent wanters. The coordinator (`swarm-coordinator.ts`)
 * dispatches here when a frame names an `item`; item-scope frames never reach this module.
 */
import type { ErrorCode, HaveMessage, ServerMessage } from "../protocol/swarm-protocol";
import { MAX_TRACKED_CHUNKS } from "./chunk-bits";
import { itemPeersFrame } from "./collection-frames";
import type { CollectionItems } from "./collection-items";
import type { LeaveAudience } from "./leave-audience";
import type { LivePeer, PeerDirectory } from "./peer-directory";
import { rankPeers } from "./peer-ranking";
import type { SocketState } from "./socket-state";
import type { SwarmLimits } from "./swarm-limits";
import { sendRaw } from "./ws-io";

/** What the handlers need from the coordinator (its indexes, clock and frame discipline). */
export interface CollectionHost {
  readonly items: CollectionItems;
  readonly dir: PeerDirectory;
  readonly audience: LeaveAudience;
  limits(): SwarmLimits;
  now(): number;
  random(): number;
  /**
   * Applies a member's new upload slots everywhere they count (item and collection holder counts),
   * charging the recount to its rate bucket; false when it could not pay (frame dropped, peer told).
   */
  changeSlots(ws: WebSocket, state: SocketState, peer: LivePeer, slots: number): boolean;
  /** Counts a bad frame and answers its error (the coordinator's strike policy). */
  strike(ws: WebSocket, state: SocketState, code: ErrorCode, message: string, ref?: string): void;
  send(ws: WebSocket, msg: ServerMessage): boolean;
  /** Arms the flush alarm (holdings reach SQLite in batches, not per frame). */
  armFlush(at: number): void;
}

/**
 * @example
 * const handlers = new CollectionHandlers(host);
 * if (msg.item !== undefined) return handlers.have(ws, state, peer, msg.item, msg);
 */
export class CollectionHandlers {
  readonly #h: CollectionHost;

  constructor(host: CollectionHost) {
    this.#h = host;
  }

  /** `have {item}`: chunks of one item of the collection; `peer-have {item}` to its recent wanters. */
  have(ws: WebSocket, state: SocketState, peer: LivePeer, item: string, msg: HaveMessage): void {
    const h = this.#h;
    const limits = h.limits();
    const limit = Math.min(state.grant.chunks, MAX_TRACKED_CHUNKS);
    if (msg.chunks.some((i) => i >= limit))
      return h.strike(ws, state, "bad-message", `have: chunk indices must be < ${limit} (the grant's chunks per item)`, "have");
    if (msg.uploadSlots !== undefined && msg.uploadSlots !== state.uploadSlots && !h.changeSlots(ws, state, peer, msg.uploadSlots)) return;
    const added = h.items.have(peer, item, msg.chunks);
    if (added.length === 0 || peer.uploadSlots === 0) return;
    const now = h.now();
    h.armFlush(now + limits.statsFlushMs);
    const since = now - limits.peerHaveWindowMs;
    for (const t of h.items.peerHaveTargets(peer, item, added, since, limits.peerHaveFanout, h.random)) {
      const to = h.dir.peers.get(t.peerId);
      if (to && h.send(to.ws, { type: "peer-have", peerId: peer.peerId, item, chunks: t.lacking })) h.audience.tell(t.peerId, peer.peerId);
    }
  }

  /** `want {item}`: the item's holders, ranked as for an item swarm, in a `peers {item}` answer. */
  want(ws: WebSocket, state: SocketState, me: LivePeer | undefined, item: string, chunks: number[] | undefined, max: number, now: number): void {
    const h = this.#h;
    if (!me) return h.strike(ws, state, "not-joined", "not a member of this swarm", "want");
    const ranked = rankPeers({
      requester: { peerId: state.peerId, location: state.location }, candidates: h.items.want(me, item, now), wanted: chunks ?? "all", max, random: h.random,
      holders: h.items.holderCounts(item, me),
    });
    const included: { peerId: string }[] = [];
    sendRaw(ws, itemPeersFrame(item, ranked, h.limits().maxAnswerBytes, included));
    h.audience.tellAll(state.peerId, included);
  }
}
