/**
 * SQLite rows of a collection swarm's per-member item holdings (`collection-items.ts`): which chunks
 * of which item each member announced. The in-memory index is a cache rebuilt from these rows and
 * the live sockets after hibernation or eviction, as the member index is from `swarm-store.ts`.
 * The table is created by the first write, so an object that never saw an item `have` writes nothing.
 */
import { ChunkBits } from "./chunk-bits";
import { LazySchema } from "./lazy-schema";

/** One stored (member, item) holding. */
export interface StoredHolding {
  peerId: string;
  item: string;
  chunks: ChunkBits;
  /** When the member last announced chunks of the item (its LRU order). */
  at: number;
}

const TABLE = `CREATE TABLE IF NOT EXISTS item_chunks (
  peer_id TEXT NOT NULL, item TEXT NOT NULL, have BLOB NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (peer_id, item))`;

/**
 * @example
 * const s = new CollectionStore(ctx.storage.sql);
 * s.put({ peerId, item, chunks, at: Date.now() }); s.list();
 */
export class CollectionStore {
  readonly #sql: SqlStorage;
  readonly #schema: LazySchema;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#schema = new LazySchema(sql, "item_chunks", (db) => db.exec(TABLE));
  }

  put(h: StoredHolding): void {
    this.#schema.write().exec(
      `INSERT INTO item_chunks (peer_id, item, have, at) VALUES (?, ?, ?, ?)
       ON CONFLICT(peer_id, item) DO UPDATE SET have = excluded.have, at = excluded.at`,
      h.peerId, h.item, h.chunks.bytes, h.at,
    );
  }

  delete(peerId: string, item: string): void {
    if (this.#schema.ready) this.#sql.exec(`DELETE FROM item_chunks WHERE peer_id = ? AND item = ?`, peerId, item);
  }

  deletePeer(peerId: string): void {
    if (this.#schema.ready) this.#sql.exec(`DELETE FROM item_chunks WHERE peer_id = ?`, peerId);
  }

  /** Every stored holding, oldest announcement first. */
  list(): StoredHolding[] {
    if (!this.#schema.ready) return [];
    return this.#sql
      .exec<{ peer_id: string; item: string; have: ArrayBuffer; at: number }>(`SELECT peer_id, item, have, at FROM item_chunks ORDER BY at`)
      .toArray()
      .map((r) => ({ peerId: r.peer_id, item: r.item, chunks: new ChunkBits(new Uint8Array(r.have)), at: r.at }));
  }
}
