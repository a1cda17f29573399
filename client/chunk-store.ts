/**
 * The chunk store: verified chunks kept for seeding and re-reading, bounded by a quota, evicted
 * least-recently-used *by content item* (a half-evicted video seeds badly and plays badly; whole
 * items go). The policy lives here; bytes live in a {@link ChunkBackend}: in memory (tests), in
 * IndexedDB (browsers — usable from windows and service workers, see `idb-chunk-backend.ts`), or
 * on disk (the Node supernode).
 *
 * Only bytes that passed SHA-256 verification against their manifest are ever put here, so a
 * seeder never serves what it did not verify.
 */
import { chunkLength } from "../protocol/manifest";

/** What the store remembers about one content item. */
export interface ItemInfo {
  /** Swarm root (names the item). */
  root: string;
  /** Edge URL path of the item (`/c/…`), to re-join its swarm later. */
  url: string;
  size: number;
  chunkSize: number;
  type: string;
}

/**
 * An item's persisted metadata: its info and last use (ms since epoch). Constant-size on purpose:
 * it never lists chunks, so writing it costs the same for chunk 1 and chunk 16,000 (a chunk list
 * rewritten per chunk made index writes O(n²) for big items).
 */
export interface ItemMeta extends ItemInfo {
  lastUsed: number;
}

/** An item as loaded or reported: its metadata, the chunk indices really stored, and their bytes. */
export interface ItemRecord extends ItemMeta {
  chunks: number[];
  bytes: number;
}

/**
 * Where bytes and metadata live. The chunks themselves are the index: `loadItems()` derives each
 * item's held chunks from the chunks it finds, so a chunk the backend lost is never listed, and a
 * chunk without its item's metadata is garbage for the backend to delete. Every method may reject;
 * the store treats failures as misses.
 */
export interface ChunkBackend {
  /** Every item with metadata, with the chunks really stored; persistent backends delete chunks of unknown items. */
  loadItems(): Promise<ItemRecord[]>;
  /** Writes one chunk, and `meta` too when given (in the same transaction where the backend can). */
  putChunk(root: string, index: number, bytes: Uint8Array, meta?: ItemMeta): Promise<void>;
  /**
   * Writes one chunk the caller hands over (nothing else holds, changes or transfers it): kept as
   * it is, without the copy `putChunk` takes. Only where the backend keeps chunks in memory.
   */
  adoptChunk?(root: string, index: number, bytes: Uint8Array, meta?: ItemMeta): Promise<void>;
  /** A copy of a stored chunk: the caller owns it (may modify or transfer it). */
  getChunk(root: string, index: number): Promise<Uint8Array | undefined>;
  /**
   * The stored chunk itself, without a copy, where the backend holds it in memory: read-only, and
   * not to be kept (the seeder sends it frame by frame, then drops it). Absent: `getChunk` is used.
   */
  viewChunk?(root: string, index: number): Uint8Array | undefined;
  deleteChunk(root: string, index: number): Promise<void>;
  /** Deletes an item's metadata and all its chunks. */
  deleteItem(root: string): Promise<void>;
  /** Writes an item's metadata (e.g. a newer `lastUsed`). */
  putMeta(meta: ItemMeta): Promise<void>;
}


/**
 * Items from their metadata and the keys (`<root>/<index>`) of the chunks stored: what a key-value
 * backend's `loadItems()` returns. Keys of no item, past its end or not canonical (never looked
 * up) come back as `garbage`, for the backend to delete.
 */
export function indexChunks(metas: Iterable<ItemMeta>, keys: Iterable<string>): { items: ItemRecord[]; garbage: string[] } {
  const items = new Map<string, ItemRecord>();
  // Values come from storage (older versions, other tabs): skip what could not index chunks.
  for (const m of metas) if (typeof m?.root == "string" && m.chunkSize > 0 && m.size >= 0) items.set(m.root, { ...m, chunks: [], bytes: 0 });
  const garbage: string[] = [];
  for (const key of keys) {
    const [, root, i] = /^(.+)\/(0|[1-9]\d*)$/.exec(key) ?? [];
    const r = items.get(root!);
    const len = r ? chunkLength(r, +i!) : 0;
    if (len) (r!.chunks.push(+i!), (r!.bytes += len));
    else garbage.push(key);
  }
  for (const r of items.values()) r.chunks.sort((x, y) => x - y);
  return { items: [...items.values()], garbage };
}

/** What the downloader and seeder need from a store. */
export interface ChunkStoreLike {
  has(root: string, index: number): boolean;
  held(root: string): number[];
  /** A chunk the caller owns (a copy where the backend keeps bytes in memory). */
  get(root: string, index: number): Promise<Uint8Array | undefined>;
  /**
   * A chunk to read and drop (the seeder's uploads): the stored bytes themselves where the backend
   * can give them without a copy. Absent: `get`.
   */
  view?(root: string, index: number): Promise<Uint8Array | undefined>;
  /**
   * True when `put` can keep bytes handed over (`handOver`) without copying them — a backend that
   * holds chunks in memory. Absent or false: every put copies (IndexedDB's structured clone).
   */
  readonly adopts?: boolean;
  /**
   * Stores a verified chunk. `handOver`: the caller gives `bytes` up — nothing else holds, changes
   * or transfers them — so the store may keep them as they are.
   */
  put(info: ItemInfo, index: number, bytes: Uint8Array, handOver?: boolean): Promise<boolean>;
}

export interface QuotaOptions {
  /** Share of the browser's storage quota to use (0..1); default 0.2. */
  share?: number;
  /** Hard cap in bytes; default 1 GiB. */
  maxBytes?: number;
  /** Used when the platform gives no estimate; default 256 MiB. */
  fallbackBytes?: number;
  /** `navigator.storage.estimate` or a stand-in. */
  estimate?: () => Promise<{ quota?: number }>;
}

/**
 * The store's byte budget: `share` × the platform quota (`navigator.storage.estimate()`), capped
 * at `maxBytes`.
 *
 * @example
 * await resolveQuota({ share: 0.2, estimate: () => navigator.storage.estimate() });
 */
export async function resolveQuota(o: QuotaOptions = {}): Promise<number> {
  const share = Math.min(1, Math.max(0, o.share ?? 0.2));
  const cap = o.maxBytes ?? 1024 ** 3;
  let quota: number | undefined;
  try {
    quota = (await o.estimate?.())?.quota;
  } catch {
    // Some browsers reject estimate() in private mode: fall back.
  }
  return Math.floor(Math.min(cap, typeof quota === "number" && quota > 0 ? quota * share : (o.fallbackBytes ?? 256 * 1024 ** 2)));
}

interface Item {
  meta: ItemMeta;
  held: Set<number>;
  /** Bytes held. */
  bytes: number;
  /** `lastUsed` as last persisted; `-Infinity` while the backend has no metadata for the item. */
  saved: number;
}

/** Use refreshes an item's persisted `lastUsed` at most this often (a write per chunk would double I/O). */
const PERSIST_USE_MS = 10_000;
/**
 * …or this often when another item was persisted as used later: the persisted LRU order is then
 * exact to this grain (a seeder reading many items in turn writes ≤ 1 record/s per item, not one per read).
 */
const PERSIST_ORDER_MS = 1_000;

/**
 * Quota-bounded, LRU-by-item chunk store over a backend. The index (which chunks of which items are
 * held) is kept in memory for synchronous `has()`; the backend persists it as the chunks themselves
 * plus one constant-size metadata record per item, so index writes are O(1) per chunk.
 *
 * @example
 * const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 });
 * await store.put(info, 0, bytes);
 * store.has(info.root, 0); // true
 */
export class ChunkStore implements ChunkStoreLike {
  readonly #items = new Map<string, Item>();
  #used = 0;
  /** The newest `lastUsed` persisted for any item: persisted LRU order must match memory's. */
  #newestSaved = -Infinity;

  readonly #backend: ChunkBackend;
  readonly #now: () => number;

  private constructor(
    backend: ChunkBackend,
    /** Byte budget. */
    readonly quota: number,
    now: () => number,
  ) {
    this.#backend = backend;
    this.#now = now;
  }

  /** Opens a store: loads the backend's index. A backend that fails to load starts empty. */
  static async open(backend: ChunkBackend, opts: { quotaBytes: number; now?: () => number }): Promise<ChunkStore> {
    const s = new ChunkStore(backend, opts.quotaBytes, opts.now ?? Date.now);
    let records: ItemRecord[] = [];
    try {
      records = await backend.loadItems();
    } catch {
      records = [];
    }
    for (const r of records) {
      // Metadata without chunks (its chunks were lost or never written): nothing to seed or read.
      if (!r.chunks.length) {
        void backend.deleteItem(r.root).catch(() => {});
        continue;
      }
      // Only the metadata fields: older versions also stored a chunk list, never to be written again.
      s.#items.set(r.root, { meta: metaOf(r, r.lastUsed), held: new Set(r.chunks), bytes: r.bytes, saved: r.lastUsed });
      s.#used += r.bytes;
      s.#newestSaved = Math.max(s.#newestSaved, r.lastUsed);
    }
    // A shrunken quota (another share, less disk) applies on open.
    s.#evictUntil(0, "");
    return s;
  }

  /** Bytes held. */
  get usedBytes(): number {
    return this.#used;
  }

  has(root: string, index: number): boolean {
    return this.#items.get(root)?.held.has(index) ?? false;
  }

  held(root: string): number[] {
    return [...(this.#items.get(root)?.held ?? [])].sort((a, b) => a - b);
  }

  /** Info on a held item. */
  info(root: string): ItemRecord | undefined {
    const it = this.#items.get(root);
    return it && recordOf(it);
  }

  /** Reads a chunk; a chunk the index lists but the backend lost is dropped from the index. */
  get(root: string, index: number): Promise<Uint8Array | undefined> {
    return this.#read(root, index, false);
  }

  /** As {@link get}, without a copy where the backend can (`ChunkBackend.viewChunk`): read-only, not to be kept. */
  view(root: string, index: number): Promise<Uint8Array | undefined> {
    return this.#read(root, index, true);
  }

  async #read(root: string, index: number, shared: boolean): Promise<Uint8Array | undefined> {
    const it = this.#items.get(root);
    if (!it?.held.has(index)) return undefined;
    let bytes: Uint8Array | undefined;
    try {
      const b = this.#backend;
      bytes = shared && b.viewChunk ? b.viewChunk(root, index) : await b.getChunk(root, index);
    } catch {
      bytes = undefined;
    }
    if (!bytes) {
      this.forget(root, index);
      return undefined;
    }
    // Reading is use: LRU order must survive a reload for items that are only re-read, never re-put.
    this.touch(root);
    return bytes;
  }

  /** Drops one chunk (e.g. its bytes failed re-verification): from the index now, from the backend in the background. */
  forget(root: string, index: number): void {
    const it = this.#items.get(root);
    if (!it?.held.delete(index)) return;
    const size = chunkLength(it.meta, index);
    it.bytes -= size;
    this.#used -= size;
    this.#backend.deleteChunk(root, index).catch(() => {});
  }

  /** True when handed-over chunks are kept without a copy (the backend has `adoptChunk`). */
  get adopts(): boolean {
    return this.#backend.adoptChunk !== undefined;
  }

  /**
   * Stores a verified chunk. Evicts least-recently-used other items to make room; returns `false`
   * (and stores nothing) when the chunk cannot fit even then. `handOver`: the caller gives `bytes`
   * up, and a backend with `adoptChunk` keeps them without a copy.
   */
  async put(info: ItemInfo, index: number, bytes: Uint8Array, handOver = false): Promise<boolean> {
    if (this.has(info.root, index)) {
      this.touch(info.root);
      return true;
    }
    // Index updates are synchronous (eviction included), so concurrent puts never overshoot the quota.
    if (bytes.length > this.quota || !this.#evictUntil(bytes.length, info.root)) return false;
    let it = this.#items.get(info.root);
    if (!it) {
      it = { meta: metaOf(info, 0), held: new Set(), bytes: 0, saved: -Infinity };
      this.#items.set(info.root, it);
    }
    it.held.add(index);
    it.bytes += bytes.length;
    this.#used += bytes.length;
    it.meta.lastUsed = this.#now();
    // Metadata rides along only when new or stale: O(1) index bytes per chunk, not the whole list.
    const meta = this.#claimMeta(it);
    try {
      const b = this.#backend;
      await (handOver && b.adoptChunk ? b.adoptChunk(info.root, index, bytes, meta) : b.putChunk(info.root, index, bytes, meta));
    } catch {
      if (meta) it.saved = -Infinity; // the next write carries it again
      if (this.#items.get(info.root) === it) this.forget(info.root, index);
      return false;
    }
    // Evicted or forgotten while being written: the write may have landed after the deletion, so
    // delete it again (metadata left without chunks is dropped on open).
    if (this.has(info.root, index)) return true;
    this.#backend.deleteChunk(info.root, index).catch(() => {});
    return false;
  }

  /** Marks an item used now (moves it to the back of the eviction queue). */
  touch(root: string): void {
    const it = this.#items.get(root);
    if (!it) return;
    it.meta.lastUsed = this.#now();
    const meta = this.#claimMeta(it);
    if (meta) this.#backend.putMeta(meta).catch(() => {});
  }

  /**
   * The metadata to persist now, if any: when the backend has none, when the persisted `lastUsed`
   * is {@link PERSIST_USE_MS} old, or {@link PERSIST_ORDER_MS} old while another item was persisted
   * as used later (else a reload would evict in another order than this session). Marks it persisted.
   */
  #claimMeta(it: Item): ItemMeta | undefined {
    const t = it.meta.lastUsed;
    const age = t - it.saved; // Infinity while never persisted
    if (age < PERSIST_USE_MS && (age < PERSIST_ORDER_MS || this.#newestSaved <= it.saved)) return undefined;
    it.saved = t;
    this.#newestSaved = Math.max(this.#newestSaved, t);
    return { ...it.meta };
  }

  /** The `n` most recently used items (for re-joining their swarms on start). */
  recent(n: number): ItemRecord[] {
    return [...this.#items.values()]
      .filter((it) => it.held.size > 0)
      .sort((a, b) => b.meta.lastUsed - a.meta.lastUsed)
      .slice(0, Math.max(0, n))
      .map(recordOf);
  }

  /** Removes a whole item (from the index at once; the backend deletes in the background). */
  remove(root: string): Promise<void> {
    const it = this.#items.get(root);
    if (!it) return Promise.resolve();
    this.#items.delete(root);
    this.#used -= it.bytes;
    return this.#backend.deleteItem(root).catch(() => {});
  }

  /** Evicts LRU items other than `keep` until `need` more bytes fit; false if they cannot. */
  #evictUntil(need: number, keep: string): boolean {
    while (this.#used + need > this.quota) {
      let victim: Item | undefined;
      for (const it of this.#items.values()) {
        if (it.meta.root !== keep && (!victim || it.meta.lastUsed < victim.meta.lastUsed)) victim = it;
      }
      if (!victim) return false;
      void this.remove(victim.meta.root);
    }
    return true;
  }
}

function metaOf(r: ItemInfo, lastUsed: number): ItemMeta {
  return { root: r.root, url: r.url, size: r.size, chunkSize: r.chunkSize, type: r.type, lastUsed };
}

function recordOf(it: Item): ItemRecord {
  return { ...it.meta, chunks: [...it.held].sort((a, b) => a - b), bytes: it.bytes };
}

/** A backend in memory: for tests and as a fallback where no persistent storage exists. */
export class MemoryChunkBackend implements ChunkBackend {
  /** `<root>/<index>` → bytes. */
  readonly chunks = new Map<string, Uint8Array>();
  readonly metas = new Map<string, ItemMeta>();

  /** Items as a reload would find them. */
  get records(): Map<string, ItemRecord> {
    return new Map(indexChunks(this.metas.values(), this.chunks.keys()).items.map((r) => [r.root, r]));
  }
  async loadItems(): Promise<ItemRecord[]> {
    return [...this.records.values()];
  }
  async putChunk(root: string, index: number, bytes: Uint8Array, meta?: ItemMeta): Promise<void> {
    return this.adoptChunk(root, index, bytes.slice(), meta);
  }
  async adoptChunk(root: string, index: number, bytes: Uint8Array, meta?: ItemMeta): Promise<void> {
    this.chunks.set(`${root}/${index}`, bytes);
    if (meta) this.metas.set(root, { ...meta });
  }
  async getChunk(root: string, index: number): Promise<Uint8Array | undefined> {
    return this.chunks.get(`${root}/${index}`)?.slice();
  }
  viewChunk(root: string, index: number): Uint8Array | undefined {
    return this.chunks.get(`${root}/${index}`);
  }
  async deleteChunk(root: string, index: number): Promise<void> {
    this.chunks.delete(`${root}/${index}`);
  }
  async deleteItem(root: string): Promise<void> {
    for (const key of this.chunks.keys()) if (key.startsWith(`${root}/`)) this.chunks.delete(key);
    this.metas.delete(root);
  }
  async putMeta(meta: ItemMeta): Promise<void> {
    this.metas.set(meta.root, { ...meta });
  }
}
