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

/** One item's persisted record: info, held chunk indices, bytes held, last use (ms since epoch). */
export interface ItemRecord extends ItemInfo {
  chunks: number[];
  bytes: number;
  lastUsed: number;
}

/** Where bytes and records live. Every method may reject; the store treats failures as misses. */
export interface ChunkBackend {
  loadItems(): Promise<ItemRecord[]>;
  /** Writes one chunk and then its item's updated record (atomically where the backend can). */
  putChunk(root: string, index: number, bytes: Uint8Array, record: ItemRecord): Promise<void>;
  getChunk(root: string, index: number): Promise<Uint8Array | undefined>;
  /** Deletes an item's record and the listed chunks. */
  deleteItem(root: string, chunks: readonly number[]): Promise<void>;
  /** Rewrites an item's record (e.g. its `lastUsed`). */
  putRecord(record: ItemRecord): Promise<void>;
}

/** What the downloader and seeder need from a store. */
export interface ChunkStoreLike {
  has(root: string, index: number): boolean;
  held(root: string): number[];
  get(root: string, index: number): Promise<Uint8Array | undefined>;
  put(info: ItemInfo, index: number, bytes: Uint8Array): Promise<boolean>;
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
  record: ItemRecord;
  held: Set<number>;
  /** `lastUsed` as last persisted: reads persist it at most every {@link PERSIST_USE_MS}. */
  saved: number;
}

/** Reads refresh an item's persisted `lastUsed` at most this often (a write per chunk read would double I/O). */
const PERSIST_USE_MS = 10_000;

/**
 * Quota-bounded, LRU-by-item chunk store over a backend. The index (which chunks of which items are
 * held) is kept in memory for synchronous `has()` and persisted in the backend, so it survives
 * reloads.
 *
 * @example
 * const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 });
 * await store.put(info, 0, bytes);
 * store.has(info.root, 0); // true
 */
export class ChunkStore implements ChunkStoreLike {
  private readonly items = new Map<string, Item>();
  private used = 0;

  private constructor(
    private readonly backend: ChunkBackend,
    /** Byte budget. */
    readonly quota: number,
    private readonly now: () => number,
  ) {}

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
      s.items.set(r.root, { record: r, held: new Set(r.chunks), saved: r.lastUsed });
      s.used += r.bytes;
    }
    // A shrunken quota (another share, less disk) applies on open.
    s.evictUntil(0, "");
    return s;
  }

  /** Bytes held. */
  get usedBytes(): number {
    return this.used;
  }

  has(root: string, index: number): boolean {
    return this.items.get(root)?.held.has(index) ?? false;
  }

  held(root: string): number[] {
    return [...(this.items.get(root)?.held ?? [])].sort((a, b) => a - b);
  }

  /** Info on a held item. */
  info(root: string): ItemRecord | undefined {
    const it = this.items.get(root);
    return it && { ...it.record, chunks: [...it.held] };
  }

  /** Reads a chunk; a chunk the index lists but the backend lost is dropped from the index. */
  async get(root: string, index: number): Promise<Uint8Array | undefined> {
    const it = this.items.get(root);
    if (!it?.held.has(index)) return undefined;
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.backend.getChunk(root, index);
    } catch {
      bytes = undefined;
    }
    if (!bytes) {
      this.forget(root, index);
      return undefined;
    }
    // Reading is use: LRU order must survive a reload for items that are only re-read, never re-put.
    it.record.lastUsed = this.now();
    if (it.record.lastUsed - it.saved >= PERSIST_USE_MS) this.persist(it);
    return bytes;
  }

  /** Drops one chunk from the index (e.g. its bytes failed re-verification). */
  forget(root: string, index: number): void {
    const it = this.items.get(root);
    if (!it?.held.delete(index)) return;
    const size = Math.min(it.record.chunkSize, it.record.size - index * it.record.chunkSize);
    it.record.bytes -= size;
    this.used -= size;
    it.record.chunks = [...it.held];
    this.backend.putRecord({ ...it.record }).catch(() => {});
  }

  /**
   * Stores a verified chunk. Evicts least-recently-used other items to make room; returns `false`
   * (and stores nothing) when the chunk cannot fit even then.
   */
  async put(info: ItemInfo, index: number, bytes: Uint8Array): Promise<boolean> {
    if (this.has(info.root, index)) {
      this.touch(info.root);
      return true;
    }
    // Index updates are synchronous (eviction included), so concurrent puts never overshoot the quota.
    if (bytes.length > this.quota || !this.evictUntil(bytes.length, info.root)) return false;
    let it = this.items.get(info.root);
    if (!it) {
      it = { record: { root: info.root, url: info.url, size: info.size, chunkSize: info.chunkSize, type: info.type, chunks: [], bytes: 0, lastUsed: 0 }, held: new Set(), saved: 0 };
      this.items.set(info.root, it);
    }
    it.held.add(index);
    it.record.bytes += bytes.length;
    it.record.lastUsed = this.now();
    it.record.chunks = [...it.held];
    it.saved = it.record.lastUsed;
    this.used += bytes.length;
    try {
      await this.backend.putChunk(info.root, index, bytes, { ...it.record });
      return true;
    } catch {
      this.forget(info.root, index);
      return false;
    }
  }

  /** Marks an item used now (moves it to the back of the eviction queue). */
  touch(root: string): void {
    const it = this.items.get(root);
    if (!it) return;
    it.record.lastUsed = this.now();
    this.persist(it);
  }

  private persist(it: Item): void {
    it.saved = it.record.lastUsed;
    this.backend.putRecord({ ...it.record }).catch(() => {});
  }

  /** The `n` most recently used items (for re-joining their swarms on start). */
  recent(n: number): ItemRecord[] {
    return [...this.items.values()]
      .filter((it) => it.held.size > 0)
      .sort((a, b) => b.record.lastUsed - a.record.lastUsed)
      .slice(0, Math.max(0, n))
      .map((it) => ({ ...it.record, chunks: [...it.held] }));
  }

  /** Removes a whole item (from the index at once; the backend deletes in the background). */
  remove(root: string): Promise<void> {
    const it = this.items.get(root);
    if (!it) return Promise.resolve();
    this.items.delete(root);
    this.used -= it.record.bytes;
    return this.backend.deleteItem(root, [...it.held]).catch(() => {});
  }

  /** Evicts LRU items other than `keep` until `need` more bytes fit; false if they cannot. */
  private evictUntil(need: number, keep: string): boolean {
    while (this.used + need > this.quota) {
      let victim: Item | undefined;
      for (const it of this.items.values()) {
        if (it.record.root !== keep && (!victim || it.record.lastUsed < victim.record.lastUsed)) victim = it;
      }
      if (!victim) return false;
      void this.remove(victim.record.root);
    }
    return true;
  }
}

/** A backend in memory: for tests and as a fallback where no persistent storage exists. */
export class MemoryChunkBackend implements ChunkBackend {
  readonly chunks = new Map<string, Uint8Array>();
  readonly records = new Map<string, ItemRecord>();

  async loadItems(): Promise<ItemRecord[]> {
    return [...this.records.values()].map((r) => ({ ...r, chunks: [...r.chunks] }));
  }
  async putChunk(root: string, index: number, bytes: Uint8Array, record: ItemRecord): Promise<void> {
    this.chunks.set(`${root}/${index}`, bytes.slice());
    this.records.set(root, { ...record, chunks: [...record.chunks] });
  }
  async getChunk(root: string, index: number): Promise<Uint8Array | undefined> {
    return this.chunks.get(`${root}/${index}`)?.slice();
  }
  async deleteItem(root: string, chunks: readonly number[]): Promise<void> {
    for (const i of chunks) this.chunks.delete(`${root}/${i}`);
    this.records.delete(root);
  }
  async putRecord(record: ItemRecord): Promise<void> {
    if (this.records.has(record.root)) this.records.set(record.root, { ...record, chunks: [...record.chunks] });
  }
}
