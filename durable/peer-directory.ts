/**
 * The in-memory index of a swarm's current members, used to answer `want`s without a SQLite scan per
 * frame. It is only a cache: built lazily from the two durable sources — socket attachments (who is
 * connected, kind, location, upload slots) and the SQLite `peers` table (held chunks) — and written
 * through on every change. After hibernation or eviction the object starts with an empty cache and
 * rebuilds it on first use, so nothing is lost when instance memory is.
 */
import type { PeerKind, PeerLocation } from "../protocol/swarm-protocol";
import { ChunkBits } from "./chunk-bits";
import type { RankCandidate } from "./peer-ranking";
import { isMember, readSocketState } from "./socket-state";
import type { SwarmStore } from "./swarm-store";

/** One member of the swarm, as the ranking sees it. */
export interface LivePeer extends RankCandidate {
  kind: PeerKind;
  location: PeerLocation;
  chunks: ChunkBits;
  lastWantAt: number;
}

/**
 * Members index over the store and the live sockets.
 * @example
 * const dir = new PeerDirectory(store, () => ctx.getWebSockets(), Date.now);
 * dir.peers.get(peerId)?.chunks.has(3);
 */
export class PeerDirectory {
  readonly #store: SwarmStore;
  readonly #sockets: () => WebSocket[];
  readonly #now: () => number;
  #peers: Map<string, LivePeer> | null = null;

  constructor(store: SwarmStore, sockets: () => WebSocket[], now: () => number) {
    this.#store = store;
    this.#sockets = sockets;
    this.#now = now;
  }

  /** Current members (rebuilt from attachments + SQLite on first use after a wake). */
  get peers(): ReadonlyMap<string, LivePeer> {
    return (this.#peers ??= this.#load().peers);
  }

  /** Adds or replaces a member and persists its chunks. */
  join(peer: LivePeer, now: number): void {
    this.#store.upsertPeer({ peerId: peer.peerId, kind: peer.kind, chunks: peer.chunks, joinedAt: now });
    this.#mutable().set(peer.peerId, peer);
  }

  /** Persists a member's chunk set after it changed in place. */
  saveChunks(peer: LivePeer): void {
    this.#store.setChunks(peer.peerId, peer.chunks);
  }

  /** Removes a member; returns whether it was one. */
  leave(peerId: string): boolean {
    this.#store.deletePeer(peerId);
    return this.#mutable().delete(peerId);
  }

  /**
   * Reconciles SQLite with the live sockets: rows of peers with no member socket are deleted (they
   * left while the object was not running, or a close event was lost). Returns the removed ids.
   */
  reconcile(): string[] {
    const { peers, removed } = this.#load();
    this.#peers = peers;
    return removed;
  }

  #mutable(): Map<string, LivePeer> {
    this.peers;
    return this.#peers!;
  }

  #load(): { peers: Map<string, LivePeer>; removed: string[] } {
    const live = new Map<string, { kind: PeerKind; location: PeerLocation; uploadSlots: number; lastWantAt: number }>();
    for (const ws of this.#sockets()) {
      const s = readSocketState(ws);
      if (isMember(s)) live.set(s.peerId, s);
    }
    const peers = new Map<string, LivePeer>();
    const removed: string[] = [];
    for (const row of this.#store.listPeers()) {
      const s = live.get(row.peerId);
      if (!s) {
        this.#store.deletePeer(row.peerId);
        removed.push(row.peerId);
        continue;
      }
      peers.set(row.peerId, {
        peerId: row.peerId, kind: s.kind, location: s.location, uploadSlots: s.uploadSlots,
        lastWantAt: s.lastWantAt, chunks: row.chunks,
      });
    }
    // A member socket without a row (should not happen: hello writes both in one event) still counts,
    // holding nothing, rather than being invisible to peer-left and stats.
    for (const [peerId, s] of live) {
      if (!peers.has(peerId)) {
        const chunks = new ChunkBits();
        peers.set(peerId, { peerId, kind: s.kind, location: s.location, uploadSlots: s.uploadSlots, lastWantAt: s.lastWantAt, chunks });
        this.#store.upsertPeer({ peerId, kind: s.kind, chunks, joinedAt: this.#now() });
      }
    }
    return { peers, removed };
  }
}
