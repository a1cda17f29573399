/**
 * A Durable Object's SQLite schema, created by its first write rather than by the constructor: an
 * object that is only read (a `stats()` of a swarm nobody joined, a collection that never saw an
 * item `have`) must not become a stored object. Reads check {@link LazySchema.ready} and answer
 * "nothing stored" without touching SQLite.
 */

/**
 * @example
 * const schema = new LazySchema(ctx.storage.sql, "item_chunks", (sql) => sql.exec(TABLE));
 * if (schema.ready) rows = sql.exec("SELECT …").toArray();
 * schema.write().exec("INSERT …");
 */
export class LazySchema {
  readonly #sql: SqlStorage;
  readonly #create: (sql: SqlStorage) => void;
  #ready: boolean;

  /**
   * @param probe a table `create` makes — the last one, when it makes several: the runtime commits
   *   one event's writes atomically, so that table existing means the whole schema does
   * @param create makes the schema (run once, by the first {@link write})
   */
  constructor(sql: SqlStorage, probe: string, create: (sql: SqlStorage) => void) {
    this.#sql = sql;
    this.#create = create;
    this.#ready = sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, probe).toArray().length > 0;
  }

  /** Whether the schema exists (false: nothing was ever written). */
  get ready(): boolean {
    return this.#ready;
  }

  /** The database, with the schema created first if this is the first write. */
  write(): SqlStorage {
    if (!this.#ready) {
      this.#create(this.#sql);
      this.#ready = true;
    }
    return this.#sql;
  }
}
