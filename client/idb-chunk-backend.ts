/**
 * IndexedDB bytes for the chunk store: available in windows and service workers alike, survives
 * reloads, counted against the origin's storage quota. Two object stores:
 * - `chunks`: key `<root>/<index>` → bytes. The keys *are* the index of held chunks: nothing lists
 *   them elsewhere, so an index entry without its chunk cannot exist.
 * - `items`: key root → {@link ItemMeta}, constant-size (no chunk list), written with an item's
 *   first chunk in the same transaction and afterwards only when its `lastUsed` must advance.
 *
 * Index bytes written are therefore O(1) per chunk. (Schema version 1 stored a chunk list in each
 * item record and rewrote it with every chunk: O(n²) bytes for an n-chunk item. Its records load
 * fine — the list is ignored — and are replaced by metadata-only ones on their next write.)
 */
import { indexChunks, type ChunkBackend, type ItemMeta, type ItemRecord } from "./chunk-store";

const DB = "edgeswarm";
const CHUNKS = "chunks";
const ITEMS = "items";

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function complete(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

/**
 * Every chunk key of one item. Keys compare as strings and roots never contain "/", so they all
 * lie in [`<root>/`, `<root>0`): "0" (U+0030) is the code unit right after "/" (U+002F).
 */
function itemKeys(root: string): IDBKeyRange {
  return IDBKeyRange.bound(`${root}/`, `${root}0`, false, true);
}

/**
 * Bytes as their own buffer. Structured clone (what IndexedDB stores) copies a view's *whole*
 * ArrayBuffer (HTML §2.7.3 StructuredSerialize of an ArrayBufferView serializes its buffer), so
 * a chunk that is a subarray of a larger download buffer would store that whole buffer.
 */
function compact(bytes: Uint8Array): Uint8Array {
  return bytes.byteLength < bytes.buffer.byteLength ? bytes.slice() : bytes;
}

/**
 * @example
 * const store = await ChunkStore.open(await IdbChunkBackend.open(), { quotaBytes });
 */
export class IdbChunkBackend implements ChunkBackend {
  private constructor(private readonly db: IDBDatabase) {}

  /** Opens (creating on first use) the database; rejects where IndexedDB is unavailable. */
  static async open(idb: IDBFactory = indexedDB, name = DB): Promise<IdbChunkBackend> {
    const req = idb.open(name, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore(CHUNKS);
      req.result.createObjectStore(ITEMS, { keyPath: "root" });
    };
    const db = await done(req);
    // Another context deleting or upgrading the database (e.g. "clear site data") must not be
    // blocked by us: close; later operations then fail and the store treats them as misses.
    db.onversionchange = () => db.close();
    return new IdbChunkBackend(db);
  }

  /** Closes the connection (later calls reject); for tests that re-open the same database. */
  close(): void {
    this.db.close();
  }

  /**
   * Items from their metadata, held chunks from the chunk keys (one key scan, no values read).
   * Chunks of an item without metadata, or past its end, are garbage and deleted.
   */
  async loadItems(): Promise<ItemRecord[]> {
    const tx = this.db.transaction([CHUNKS, ITEMS]);
    const [metas, keys] = await Promise.all([done(tx.objectStore(ITEMS).getAll()), done(tx.objectStore(CHUNKS).getAllKeys())]);
    const { items, garbage } = indexChunks(metas, keys.map(String));
    if (garbage.length) {
      const del = this.db.transaction(CHUNKS, "readwrite");
      for (const key of garbage) del.objectStore(CHUNKS).delete(key);
      await complete(del).catch(() => {}); // retried on the next open
    }
    return items;
  }

  async putChunk(root: string, index: number, bytes: Uint8Array, meta?: ItemMeta): Promise<void> {
    // One transaction: a new item's chunk and its metadata land together or not at all.
    const tx = this.db.transaction(meta ? [CHUNKS, ITEMS] : [CHUNKS], "readwrite");
    tx.objectStore(CHUNKS).put(compact(bytes), `${root}/${index}`);
    if (meta) tx.objectStore(ITEMS).put(meta);
    await complete(tx);
  }

  async getChunk(root: string, index: number): Promise<Uint8Array | undefined> {
    const v = await done(this.db.transaction(CHUNKS).objectStore(CHUNKS).get(`${root}/${index}`));
    return v instanceof Uint8Array ? v : undefined; // every version stored Uint8Arrays
  }

  async deleteChunk(root: string, index: number): Promise<void> {
    const tx = this.db.transaction(CHUNKS, "readwrite");
    tx.objectStore(CHUNKS).delete(`${root}/${index}`);
    await complete(tx);
  }

  async deleteItem(root: string): Promise<void> {
    const tx = this.db.transaction([CHUNKS, ITEMS], "readwrite");
    tx.objectStore(CHUNKS).delete(itemKeys(root));
    tx.objectStore(ITEMS).delete(root);
    await complete(tx);
  }

  async putMeta(meta: ItemMeta): Promise<void> {
    const tx = this.db.transaction(ITEMS, "readwrite");
    tx.objectStore(ITEMS).put(meta);
    await complete(tx);
  }
}
