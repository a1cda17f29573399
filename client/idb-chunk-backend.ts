/**
 * IndexedDB bytes for the chunk store: available in windows and service workers alike, survives
 * reloads, counted against the origin's storage quota. Two object stores: `chunks` (key
 * `<root>/<index>` → bytes) and `items` (key root → {@link ItemRecord}); a chunk and its item record
 * are written in one transaction, so the index never lists a chunk whose write was lost.
 */
import type { ChunkBackend, ItemRecord } from "./chunk-store";

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

  async loadItems(): Promise<ItemRecord[]> {
    return done(this.db.transaction(ITEMS).objectStore(ITEMS).getAll() as IDBRequest<ItemRecord[]>);
  }

  async putChunk(root: string, index: number, bytes: Uint8Array, record: ItemRecord): Promise<void> {
    const tx = this.db.transaction([CHUNKS, ITEMS], "readwrite");
    tx.objectStore(CHUNKS).put(bytes, `${root}/${index}`);
    tx.objectStore(ITEMS).put(record);
    await complete(tx);
  }

  async getChunk(root: string, index: number): Promise<Uint8Array | undefined> {
    const v = await done(this.db.transaction(CHUNKS).objectStore(CHUNKS).get(`${root}/${index}`));
    return v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : undefined;
  }

  async deleteItem(root: string, chunks: readonly number[]): Promise<void> {
    const tx = this.db.transaction([CHUNKS, ITEMS], "readwrite");
    const cs = tx.objectStore(CHUNKS);
    for (const i of chunks) cs.delete(`${root}/${i}`);
    tx.objectStore(ITEMS).delete(root);
    await complete(tx);
  }

  async putRecord(record: ItemRecord): Promise<void> {
    const tx = this.db.transaction(ITEMS, "readwrite");
    tx.objectStore(ITEMS).put(record);
    await complete(tx);
  }
}
