/**
 * The item index of a collection swarm (protocol/collection.ts): per member, which chunks of which
 * items it holds (at most {@link MAX_ITEMS_PER_MEMBER} items each, least recently announced dropped
 * first — a live stream's window slides out of the index as members move on), and per item who
 * holds it and who asked for it lately (for `peer-have`). An item with neither holders nor recent
 * wanters is forgotten, so memory is bounded by members × items per member, not by the stream's
 * length.
 *
 * Each item keeps per-chunk holder counts (`chunk-holders.ts`), so ranking a `want {item}` never
 * scans the item's holders per chunk (issue 11: a silent member claiming every chunk beside a
 * supernode made each honest `want` cost O(chunks × holders)).
 *
 * Memory is a cache: holdings are written to SQLite in batches (`collection-store.ts`, on the
 * coordinator's flush) and reloaded for the current members after a wake; wanters are memory only
 * (like `lastWantAt`, they only steer `peer-have` for a few seconds).
 */
import { MAX_ITEMS_PER_MEMBER } from "../protocol/collection";
import type { PeerKind, PeerLocation } from "../protocol/swarm-protocol";
import { ChunkBits } from "./chunk-bits";
import { ChunkHolders } from "./chunk-holders";
import { CollectionStore } from "./collection-store";
import type { LivePeer } from "./peer-directory";
import { proximityClass, type HolderCounts, type RankCandidate } from "./peer-ranking";

/** One member's holding of one item, as the ranking sees it. */
export interface ItemHolder extends RankCandidate {
  kind: PeerKind;
  location: PeerLocation;
  chunks: ChunkBits;
}

interface ItemEntry {
  holders: Map<string, ItemHolder>;
  /** Per-chunk counts over `holders` with a free upload slot (the ranking's lookups). */
  counts: ChunkHolders;
  /** peer id → last `want` of this item, oldest first. */
  wanters: Map<string, number>;
}

/** Most recent wanters remembered per item (`peer-have` fans out to a few of them anyway). */
const MAX_WANTERS_PER_ITEM = 256;

/**
 * @example
 * const items = new CollectionItems(ctx.storage.sql, () => dir.peers);
 * const added = items.have(peer, root, [0, 1], 4096);
 * rankPeers({ ..., candidates: items.want(peer, root, now), holders: items.holderCounts(root, peer) });
 */
export class CollectionItems {
  readonly #store: CollectionStore;
  readonly #members: () => ReadonlyMap<string, LivePeer>;
  #items = new Map<string, ItemEntry>();
  /** peer id → item → holding, least recently announced first (Map insertion order). */
  #held = new Map<string, Map<string, ItemHolder>>();
  /** peer id → items it asked for lately, least recent first (bounds the wanter records). */
  #wanted = new Map<string, Set<string>>();
  #dirty = new Set<ItemHolder>();
  #holdingKeys = new WeakMap<ItemHolder, string>();
  #loaded = false;

  constructor(sql: SqlStorage, members: () => ReadonlyMap<string, LivePeer>) {
    this.#store = new CollectionStore(sql);
    this.#members = members;
  }

  /** Items currently indexed (holders or recent wanters). */
  get size(): number {
    this.#load();
    return this.#items.size;
  }

  /** Items `peerId` holds chunks of (for tests and stats). */
  heldBy(peerId: string): string[] {
    this.#load();
    return [...(this.#held.get(peerId)?.keys() ?? [])];
  }

  /**
   * Records chunks of `item` held by `peer`; returns the ones that are new. A member's item beyond
   * {@link MAX_ITEMS_PER_MEMBER} evicts its least recently announced one.
   */
  have(peer: LivePeer, item: string, chunks: readonly number[]): number[] {
    this.#load();
    let mine = this.#held.get(peer.peerId);
    if (!mine) this.#held.set(peer.peerId, (mine = new Map()));
    let h = mine.get(item);
    if (h) mine.delete(item); // re-inserted below: most recent last
    else {
      if (mine.size >= MAX_ITEMS_PER_MEMBER) this.#drop(peer.peerId, mine.keys().next().value!);
      h = { peerId: peer.peerId, kind: peer.kind, location: peer.location, uploadSlots: peer.uploadSlots, chunks: new ChunkBits() };
      this.#holdingKeys.set(h, item);
      this.#entry(item).holders.set(peer.peerId, h);
    }
    mine.set(item, h);
    const added: number[] = [];
    for (const i of chunks) if (h.chunks.add(i)) added.push(i);
    this.#items.get(item)!.counts.addChunks(h, added);
    // The LRU position changed even when no chunk did: written with the next flush either way.
    this.#dirty.add(h);
    return added;
  }

  /**
   * The holders of `item` (ranking candidates) and records `peer` as wanting it at `now`.
   */
  want(peer: LivePeer, item: string, now: number): Iterable<ItemHolder> {
    this.#load();
    const e = this.#entry(item);
    e.wanters.delete(peer.peerId);
    e.wanters.set(peer.peerId, now);
    if (e.wanters.size > MAX_WANTERS_PER_ITEM) this.#unwant(e.wanters.keys().next().value!, item);
    let mine = this.#wanted.get(peer.peerId);
    if (!mine) this.#wanted.set(peer.peerId, (mine = new Set()));
    mine.delete(item);
    mine.add(item);
    if (mine.size > MAX_ITEMS_PER_MEMBER) this.#unwant(peer.peerId, mine.values().next().value!);
    return e.holders.values();
  }

  /**
   * Who should hear that `holder` now has `chunks` of `item`: members that asked for the item since
   * `since` and lack some of them, nearest to the holder first, at most `fanout`.
   */
  peerHaveTargets(holder: LivePeer, item: string, chunks: readonly number[], since: number, fanout: number, random: () => number): { peerId: string; lacking: number[] }[] {
    const e = this.#items.get(item);
    if (!e || fanout < 1 || chunks.length === 0) return [];
    const members = this.#members();
    const scored: { peerId: string; key: number; lacking: number[] }[] = [];
    for (const [peerId, at] of e.wanters) {
      if (at < since || peerId === holder.peerId) continue;
      const m = members.get(peerId);
      if (!m) continue;
      const theirs = e.holders.get(peerId)?.chunks;
      const lacking = theirs ? chunks.filter((i) => !theirs.has(i)) : [...chunks];
      if (lacking.length > 0) scored.push({ peerId, key: proximityClass(m.location, holder.location) + random(), lacking });
    }
    scored.sort((a, b) => a.key - b.key);
    return scored.slice(0, fanout).map(({ peerId, lacking }) => ({ peerId, lacking }));
  }

  /**
   * `item`'s part of the collection, for its figures: each holder's holding, and each member that
   * asked for it without holding any as holding nothing (the demand a supernode follows).
   */
  holdings(item: string): { kind: PeerKind; chunks: ChunkBits }[] {
    this.#load();
    const e = this.#items.get(item);
    if (!e) return [];
    const out: { kind: PeerKind; chunks: ChunkBits }[] = [...e.holders.values()];
    const members = this.#members();
    for (const id of e.wanters.keys()) {
      const m = members.get(id);
      if (m && !e.holders.has(id)) out.push({ kind: m.kind, chunks: new ChunkBits() });
    }
    return out;
  }

  /** Chunks `peerId` holds over all its items (what a change of its upload slots recounts). */
  heldChunks(peerId: string): number {
    this.#load();
    let n = 0;
    for (const h of this.#held.get(peerId)?.values() ?? []) n += h.chunks.size;
    return n;
  }

  /**
   * Per-chunk holder counts of `item` as the ranking of `requester`'s `want {item}` needs them (its
   * own holding taken out).
   */
  holderCounts(item: string, requester: LivePeer): HolderCounts {
    this.#load();
    const e = this.#items.get(item);
    if (!e) return new ChunkHolders();
    return e.counts.except(e.holders.get(requester.peerId));
  }

  /** A member's upload slots changed: its holdings rank with the new count (and are recounted). */
  setSlots(peerId: string, uploadSlots: number): void {
    this.#load();
    for (const [item, h] of this.#held.get(peerId) ?? []) {
      const counts = this.#items.get(item)?.counts;
      counts?.removePeer(h);
      h.uploadSlots = uploadSlots;
      counts?.addPeer(h);
    }
  }

  /** A member left: its holdings and wants are forgotten (rows deleted). */
  leave(peerId: string): void {
    this.#load();
    for (const item of [...(this.#held.get(peerId)?.keys() ?? [])]) this.#drop(peerId, item, false);
    for (const item of [...(this.#wanted.get(peerId) ?? [])]) this.#unwant(peerId, item);
    this.#held.delete(peerId);
    this.#wanted.delete(peerId);
    this.#store.deletePeer(peerId);
  }

  /** Writes changed holdings to SQLite (the coordinator's flush alarm), stamped `now`. */
  flush(now: number): void {
    for (const h of this.#dirty) {
      const item = this.#holdingKeys.get(h)!;
      if (this.#held.get(h.peerId)?.get(item) === h) this.#store.put({ peerId: h.peerId, item, chunks: h.chunks, at: now });
    }
    this.#dirty.clear();
  }

  #entry(item: string): ItemEntry {
    let e = this.#items.get(item);
    if (!e) this.#items.set(item, (e = { holders: new Map(), counts: new ChunkHolders(), wanters: new Map() }));
    return e;
  }

  #drop(peerId: string, item: string, deleteRow = true): void {
    const h = this.#held.get(peerId)?.get(item);
    if (!h) return;
    this.#held.get(peerId)!.delete(item);
    this.#dirty.delete(h);
    const e = this.#items.get(item);
    e?.counts.removePeer(h);
    e?.holders.delete(peerId);
    if (e && e.holders.size === 0 && e.wanters.size === 0) this.#items.delete(item);
    if (deleteRow) this.#store.delete(peerId, item);
  }

  #unwant(peerId: string, item: string): void {
    this.#wanted.get(peerId)?.delete(item);
    const e = this.#items.get(item);
    if (!e) return;
    e.wanters.delete(peerId);
    if (e.holders.size === 0 && e.wanters.size === 0) this.#items.delete(item);
  }

  /** After a wake: holdings of current members from SQLite (rows of departed members deleted). */
  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    const members = this.#members();
    for (const row of this.#store.list()) {
      const m = members.get(row.peerId);
      if (!m) {
        this.#store.delete(row.peerId, row.item);
        continue;
      }
      let mine = this.#held.get(row.peerId);
      if (!mine) this.#held.set(row.peerId, (mine = new Map()));
      const h: ItemHolder = { peerId: m.peerId, kind: m.kind, location: m.location, uploadSlots: m.uploadSlots, chunks: row.chunks };
      this.#holdingKeys.set(h, row.item);
      mine.set(row.item, h);
      const e = this.#entry(row.item);
      e.holders.set(row.peerId, h);
      e.counts.addPeer(h);
    }
  }
}
