/**
 * The in-memory index of a swarm's current members, used to answer `want`s, relay signals and fan out
 * `peer-have`/`peer-left` without a SQLite read or an attachment deserialisation per frame. It is
 * only a cache: built lazily from the two durable sources — socket attachments (who is connected,
 * kind, location, upload slots) and the SQLite `peers` table (held chunks) — and written through on
 * every change. After hibernation or eviction the object starts with an empty cache and rebuilds it
 * on first use, so nothing is lost when instance memory is.
 *
 * Besides the members it keeps, per member, its current socket (found again with `getWebSockets()`
 * on rebuild); the members by ASN / colo / country (`nearby-index.ts`); and per-chunk holder counts
 * (`chunk-holders.ts`), so ranking never scans members per chunk. Other modules' caches (encoded
 * entries, leave audience, chunk waiters) are
 * private to those modules, not fields of {@link LivePeer}.
 */
import type { PeerKind, PeerLocation } from "../protocol/swarm-protocol";
import { ChunkBits } from "./chunk-bits";
import { ChunkHolders } from "./chunk-holders";
import { NearbyIndex } from "./nearby-index";
import type { HolderCounts, RankCandidate } from "./peer-ranking";
import { type SocketState, isMember } from "./socket-state";
import type { StoredPeer, SwarmStore } from "./swarm-store";

/** One member of the swarm, as the ranking sees it. */
export interface LivePeer extends RankCandidate {
  kind: PeerKind;
  location: PeerLocation;
  chunks: ChunkBits;
  /** Last `want` (memory is exact; the attachment copy may lag by up to `WANT_SAVE_MS`). */
  lastWantAt: number;
  /** The member's current socket (a cache of `getWebSockets(peerTag(peerId))`). */
  ws: WebSocket;
}

/**
 * Members index over the store and the live sockets.
 * @example
 * const dir = new PeerDirectory(store, () => ctx.getWebSockets(), readSocketState, Date.now);
 * dir.peers.get(peerId)?.chunks.has(3);
 */
export class PeerDirectory {
  readonly #store: SwarmStore;
  readonly #sockets: () => WebSocket[];
  readonly #readState: (ws: WebSocket) => SocketState | null;
  readonly #now: () => number;
  #peers: Map<string, LivePeer> | null = null;
  /** The same members as an array (ranking iterates it: ~2× faster than a Map iterator), with positions. */
  #list: LivePeer[] = [];
  #pos = new Map<string, number>();
  /** The same members by ASN / colo / country, for "any chunk" wants (`nearby-index.ts`). */
  readonly #nearby = new NearbyIndex<LivePeer>();
  /** Per-chunk counts of members with free slots holding it (all / browsers). */
  readonly #holders = new ChunkHolders();
  /** Members whose chunk set changed since it was last written (`have` frames batch: {@link flushChunks}). */
  readonly #dirty = new Set<LivePeer>();
  /** Members whose row is not written yet, with their join time (`hello` batches too: {@link flushChunks}). */
  readonly #unwritten = new Map<LivePeer, number>();

  constructor(store: SwarmStore, sockets: () => WebSocket[], readState: (ws: WebSocket) => SocketState | null, now: () => number) {
    this.#store = store;
    this.#sockets = sockets;
    this.#readState = readState;
    this.#now = now;
  }

  /** Current members (rebuilt from attachments + SQLite on first use after a wake). */
  get peers(): ReadonlyMap<string, LivePeer> {
    return this.#loaded();
  }

  /**
   * Loads the index now if it is not (a no-op otherwise). Callers about to change an attachment
   * that the rebuild reads call it first, so the rebuild sees the state from before the change.
   */
  ensureLoaded(): void {
    this.#loaded();
  }

  /** Current members as an array (same objects as {@link peers}; do not mutate). */
  get list(): readonly LivePeer[] {
    this.#loaded();
    return this.#list;
  }

  /** The members by ASN / colo / country (same objects as {@link peers}; read only). */
  get nearby(): NearbyIndex<LivePeer> {
    this.#loaded();
    return this.#nearby;
  }

  /**
   * Holder counts as the ranking of `requester`'s `want` needs them: over the other members (the
   * requester's own contribution taken out).
   */
  holdersFor(requester: LivePeer | undefined): HolderCounts {
    this.#loaded();
    return this.#holders.except(requester);
  }

  /**
   * Adds or replaces a member. Its row (kind, chunks) is written by the next {@link flushChunks}, as
   * a `have` is: the caller arranges one (the flush alarm, ≤ `statsFlushMs` later), so a join
   * writes no SQLite itself.
   */
  join(peer: LivePeer, now: number): void {
    const old = this.#mutable().get(peer.peerId);
    if (old) {
      this.#dirty.delete(old); // replaced: the new member's row replaces the old one
      this.#unwritten.delete(old);
    }
    this.#unwritten.set(peer, now);
    this.#mutable().set(peer.peerId, peer);
    const at = this.#pos.get(peer.peerId);
    if (at === undefined) {
      this.#pos.set(peer.peerId, this.#list.length);
      this.#list.push(peer);
    } else {
      this.#nearby.remove(this.#list[at]!);
      this.#holders.removePeer(this.#list[at]!);
      this.#list[at] = peer;
    }
    this.#nearby.add(peer);
    this.#holders.addPeer(peer);
  }

  /**
   * Adds chunks to a member's set; returns those that were new (counted now, written to SQLite by
   * the next {@link flushChunks}: the caller arranges one, as for `stats` frames — a `have` does
   * not write SQLite per frame).
   */
  addChunks(peer: LivePeer, chunks: readonly number[]): number[] {
    const added = chunks.filter((i) => peer.chunks.add(i));
    if (added.length === 0) return added;
    this.#holders.addChunks(peer, added);
    this.#dirty.add(peer);
    return added;
  }

  /** Writes the rows of members joined and the chunk sets changed since the last flush (one statement per member). */
  flushChunks(): void {
    if (this.#unwritten.size > 0) {
      const rows: StoredPeer[] = [];
      for (const [p, joinedAt] of this.#unwritten) {
        if (this.#peers?.get(p.peerId) === p) rows.push({ peerId: p.peerId, kind: p.kind, chunks: p.chunks, joinedAt });
        this.#dirty.delete(p);
      }
      this.#unwritten.clear();
      this.#store.upsertPeers(rows);
    }
    for (const p of this.#dirty) if (this.#peers?.get(p.peerId) === p) this.#store.setChunks(p.peerId, p.chunks);
    this.#dirty.clear();
  }

  /** Whether rows or chunk sets wait for {@link flushChunks}. */
  get unflushed(): boolean {
    return this.#unwritten.size > 0 || this.#dirty.size > 0;
  }

  /** Changes a member's free upload slots (recounting its chunks when it starts or stops counting). */
  setUploadSlots(peer: LivePeer, slots: number): void {
    this.#holders.removePeer(peer);
    peer.uploadSlots = slots;
    this.#holders.addPeer(peer);
  }

  /** Removes a member; returns whether it was one. */
  leave(peerId: string): boolean {
    const peers = this.#mutable(); // load first: the list below must be the loaded one
    this.#store.deletePeer(peerId);
    const gone = peers.get(peerId);
    if (gone) {
      this.#dirty.delete(gone);
      this.#unwritten.delete(gone);
    }
    const at = this.#pos.get(peerId);
    if (at !== undefined) {
      this.#nearby.remove(this.#list[at]!);
      this.#holders.removePeer(this.#list[at]!);
      // Swap-remove: O(1), order is irrelevant (ranking draws its own tie order).
      const last = this.#list.pop()!;
      if (at < this.#list.length) {
        this.#list[at] = last;
        this.#pos.set(last.peerId, at);
      }
      this.#pos.delete(peerId);
    }
    return peers.delete(peerId);
  }

  /** Records a member's `want` at `now`. */
  touchWant(peer: LivePeer, now: number): void {
    peer.lastWantAt = now;
  }

  /**
   * Reconciles SQLite with the live sockets: rows of peers with no member socket are deleted (they
   * left while the object was not running, or a close event was lost). Returns the removed ids.
   */
  reconcile(): string[] {
    const { peers, removed } = this.#load();
    // Memory knows the exact last want; the attachment may lag (see LivePeer.lastWantAt).
    for (const p of peers.values()) p.lastWantAt = Math.max(p.lastWantAt, this.#peers?.get(p.peerId)?.lastWantAt ?? 0);
    this.#install(peers);
    return removed;
  }

  #install(peers: Map<string, LivePeer>): void {
    this.#peers = peers;
    this.#list = [...peers.values()];
    this.#pos = new Map(this.#list.map((p, i) => [p.peerId, i]));
    this.#nearby.reset(this.#list);
    this.#holders.reset();
    for (const p of this.#list) this.#holders.addPeer(p);
  }

  #mutable(): Map<string, LivePeer> {
    return this.#loaded();
  }

  #loaded(): Map<string, LivePeer> {
    if (this.#peers === null) this.#install(this.#load().peers);
    return this.#peers!;
  }

  #load(): { peers: Map<string, LivePeer>; removed: string[] } {
    this.flushChunks(); // rows must be current before they are read back
    const live = new Map<string, { kind: PeerKind; location: PeerLocation; uploadSlots: number; lastWantAt: number; ws: WebSocket }>();
    for (const ws of this.#sockets()) {
      const s = this.#readState(ws);
      if (isMember(s)) live.set(s.peerId, { kind: s.kind, location: s.location, uploadSlots: s.uploadSlots, lastWantAt: s.lastWantAt, ws });
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
        lastWantAt: s.lastWantAt, chunks: row.chunks, ws: s.ws,
      });
    }
    // A member socket without a row (should not happen: hello writes both in one event) still counts,
    // holding nothing, rather than being invisible to peer-left and stats.
    for (const [peerId, s] of live) {
      if (!peers.has(peerId)) {
        const chunks = new ChunkBits();
        peers.set(peerId, { peerId, kind: s.kind, location: s.location, uploadSlots: s.uploadSlots, lastWantAt: s.lastWantAt, chunks, ws: s.ws });
        this.#store.upsertPeer({ peerId, kind: s.kind, chunks, joinedAt: this.#now() });
      }
    }
    return { peers, removed };
  }
}
