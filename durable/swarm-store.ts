/**
 * The coordinator's durable state, in the Durable Object's SQLite storage: which chunks each joined
 * peer holds, cumulative byte counters per peer, rolled-up totals, and the swarm's identity (root,
 * shard). Everything a woken object needs besides the WebSocket attachments lives here.
 *
 * SQLite calls are synchronous within the object (`ctx.storage.sql`), so each method is atomic with
 * respect to other events of the object (input gates: no interleaving without an `await`).
 */
import { HEALTH_COUNTERS, type HealthCounters, type PeerKind } from "../protocol/swarm-protocol";
import { ChunkBits } from "./chunk-bits";
import { LazySchema } from "./lazy-schema";

/** Byte counters, as in the `stats` frame. */
export interface ByteCounters {
  fromPeers: number;
  fromEdge: number;
  uploaded: number;
}

/** SQL column of each {@link HealthCounters} field (in peer_stats and totals). */
const HEALTH_COLUMNS: Record<keyof HealthCounters, string> = {
  hashFailures: "hash_failures", bannedPeers: "banned_peers", edgeLaneBytes: "edge_lane_bytes", deadlineFallbackBytes: "deadline_fallback_bytes",
};
const HEALTH_SQL = HEALTH_COUNTERS.map((k) => HEALTH_COLUMNS[k]);

/** One stored peer row. */
export interface StoredPeer {
  peerId: string;
  kind: PeerKind;
  chunks: ChunkBits;
  joinedAt: number;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS peers (
     peer_id TEXT PRIMARY KEY, kind TEXT NOT NULL, have BLOB NOT NULL, joined_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS peer_stats (
     peer_id TEXT PRIMARY KEY, from_peers INTEGER NOT NULL, from_edge INTEGER NOT NULL,
     uploaded INTEGER NOT NULL, updated_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS totals (
     id INTEGER PRIMARY KEY CHECK (id = 1), from_peers INTEGER NOT NULL, from_edge INTEGER NOT NULL, uploaded INTEGER NOT NULL)`,
  `INSERT OR IGNORE INTO totals (id, from_peers, from_edge, uploaded) VALUES (1, 0, 0, 0)`,
];

/**
 * The health columns, added to both tables (also to objects whose tables predate them: `CREATE
 * TABLE IF NOT EXISTS` leaves an existing table as it is). DEFAULT 0 = "an old client sent none".
 */
function addHealthColumns(sql: SqlStorage): void {
  for (const table of ["peer_stats", "totals"]) {
    const have = new Set(sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().map((r) => r.name));
    for (const col of HEALTH_SQL) if (!have.has(col)) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${col} INTEGER NOT NULL DEFAULT 0`);
  }
}

/**
 * Typed access to the coordinator's tables. The schema is created by the first write, not by the
 * constructor: an object nobody joined (e.g. woken by an unauthenticated `GET /swarm/<root>/stats`)
 * must not write storage, or every such request would leave a stored object behind. Until then,
 * reads answer "empty" without touching a table.
 * @example
 * const store = new SwarmStore(ctx.storage.sql); // reads only
 * store.upsertPeer({ peerId, kind: "browser", chunks: new ChunkBits(), joinedAt: Date.now() }); // creates the schema
 */
/** Rows per multi-row upsert: 4 parameters each, within the 100 a Durable Object query may bind. */
export const UPSERT_ROWS = 25;
const upsertSqls: string[] = [];
/** The upsert statement for `n` rows (cached: the runtime caches prepared statements by text). */
function upsertSql(n: number): string {
  return (upsertSqls[n] ??= `INSERT INTO peers (peer_id, kind, have, joined_at) VALUES ${Array.from({ length: n }, () => "(?, ?, ?, ?)").join(", ")}
       ON CONFLICT(peer_id) DO UPDATE SET kind = excluded.kind, have = excluded.have, joined_at = excluded.joined_at`);
}

export class SwarmStore {
  readonly #sql: SqlStorage;
  /** Created by the first write (SCHEMA's last table, `totals`, is the probe). */
  readonly #schema: LazySchema;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#schema = new LazySchema(sql, "totals", (db) => {
      for (const stmt of SCHEMA) db.exec(stmt);
      addHealthColumns(db);
    });
    if (this.#schema.ready) addHealthColumns(sql); // an object that already writes storage: no new stored object
  }

  getMeta(key: string): string | undefined {
    if (!this.#schema.ready) return undefined;
    const row = this.#sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0];
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.#schema.write().exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value);
  }

  /** Inserts or replaces a peer (a new `hello` replaces what an older session announced). */
  upsertPeer(p: StoredPeer): void {
    this.#schema.write().exec(
      `INSERT INTO peers (peer_id, kind, have, joined_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(peer_id) DO UPDATE SET kind = excluded.kind, have = excluded.have, joined_at = excluded.joined_at`,
      p.peerId, p.kind, p.chunks.bytes, p.joinedAt,
    );
  }

  /**
   * {@link upsertPeer} for many peers, {@link UPSERT_ROWS} rows per statement (a Durable Object
   * binds ≤ 100 parameters per query): a flush after 4,000 joins is 160 statements, not 4,000.
   */
  upsertPeers(peers: readonly StoredPeer[]): void {
    const sql = this.#schema.write();
    for (let i = 0; i < peers.length; i += UPSERT_ROWS) {
      const rows = peers.slice(i, i + UPSERT_ROWS);
      const args: (string | number | Uint8Array)[] = [];
      for (const p of rows) args.push(p.peerId, p.kind, p.chunks.bytes, p.joinedAt);
      sql.exec(upsertSql(rows.length), ...args);
    }
  }

  /** Stores a peer's updated bitfield. */
  setChunks(peerId: string, chunks: ChunkBits): void {
    this.#schema.write().exec(`UPDATE peers SET have = ? WHERE peer_id = ?`, chunks.bytes, peerId);
  }

  deletePeer(peerId: string): void {
    if (!this.#schema.ready) return; // no table, no row
    this.#sql.exec(`DELETE FROM peers WHERE peer_id = ?`, peerId);
  }

  /** All stored peers. */
  listPeers(): StoredPeer[] {
    if (!this.#schema.ready) return [];
    return this.#sql
      .exec<{ peer_id: string; kind: string; have: ArrayBuffer; joined_at: number }>(`SELECT peer_id, kind, have, joined_at FROM peers`)
      .toArray()
      .map((r) => ({
        peerId: r.peer_id,
        kind: r.kind === "supernode" ? "supernode" : "browser",
        chunks: new ChunkBits(new Uint8Array(r.have)),
        joinedAt: r.joined_at,
      }));
  }

  /** Records a peer's cumulative counters, keeping the maximum of each (stats frames are idempotent). */
  recordStats(peerId: string, c: ByteCounters & Partial<HealthCounters>, now: number): void {
    this.#schema.write().exec(
      `INSERT INTO peer_stats (peer_id, from_peers, from_edge, uploaded, ${HEALTH_SQL.join(", ")}, updated_at)
       VALUES (?, ?, ?, ?, ${HEALTH_SQL.map(() => "?").join(", ")}, ?)
       ON CONFLICT(peer_id) DO UPDATE SET
         from_peers = max(from_peers, excluded.from_peers), from_edge = max(from_edge, excluded.from_edge),
         uploaded = max(uploaded, excluded.uploaded), ${HEALTH_SQL.map((h) => `${h} = max(${h}, excluded.${h})`).join(", ")},
         updated_at = excluded.updated_at`,
      peerId, c.fromPeers, c.fromEdge, c.uploaded, ...HEALTH_COUNTERS.map((k) => c[k] ?? 0), now,
    );
  }

  /** Rolled-up health counters plus every per-peer row still kept (float sums, as in {@link totals}). */
  health(): HealthCounters {
    const h: HealthCounters = { hashFailures: 0, bannedPeers: 0, edgeLaneBytes: 0, deadlineFallbackBytes: 0 };
    if (!this.#schema.ready) return h;
    const r = this.#sql
      .exec<Record<string, number>>(
        `SELECT ${HEALTH_SQL.map((c) => `(SELECT total(${c}) FROM totals WHERE id = 1) + total(${c}) AS ${c}`).join(", ")} FROM peer_stats`,
      )
      .one();
    for (const k of HEALTH_COUNTERS) h[k] = r[HEALTH_COLUMNS[k]] ?? 0;
    return h;
  }

  /** Rolled-up totals plus every per-peer row still kept. */
  totals(): ByteCounters {
    if (!this.#schema.ready) return { fromPeers: 0, fromEdge: 0, uploaded: 0 };
    const t = this.#sql
      .exec<{ p: number; e: number; u: number }>(
        // total(), not sum(): sum() of integers throws "integer overflow" past 2^63 (and turned
        // GET /stats into a 500); total() is a float and never throws (SQLite docs, "Aggregate Functions").
        `SELECT (SELECT total(from_peers) FROM totals WHERE id = 1) + total(from_peers) AS p,
                (SELECT total(from_edge) FROM totals WHERE id = 1) + total(from_edge) AS e,
                (SELECT total(uploaded) FROM totals WHERE id = 1) + total(uploaded) AS u
         FROM peer_stats`,
      )
      .one();
    return { fromPeers: t.p, fromEdge: t.e, uploaded: t.u };
  }

  /**
   * Folds the counters of peers that are offline and silent since `before` into the totals row and
   * drops their rows, so the table stays bounded by recent peers. Returns how many were folded.
   */
  rollUpStats(before: number, online: ReadonlySet<string>): number {
    if (!this.#schema.ready) return 0;
    const stale = this.#sql
      .exec<{ peer_id: string }>(`SELECT peer_id FROM peer_stats WHERE updated_at < ?`, before)
      .toArray()
      .map((r) => r.peer_id)
      .filter((id) => !online.has(id));
    for (const id of stale) {
      this.#sql.exec(
        `UPDATE totals SET
           -- Float sums (1.0 *): an integer + past 2^63 would throw and stop the roll-up for good.
           from_peers = 1.0 * totals.from_peers + (SELECT s.from_peers FROM peer_stats s WHERE s.peer_id = ?1),
           from_edge = 1.0 * totals.from_edge + (SELECT s.from_edge FROM peer_stats s WHERE s.peer_id = ?1),
           uploaded = 1.0 * totals.uploaded + (SELECT s.uploaded FROM peer_stats s WHERE s.peer_id = ?1),
           ${HEALTH_SQL.map((c) => `${c} = 1.0 * totals.${c} + (SELECT s.${c} FROM peer_stats s WHERE s.peer_id = ?1)`).join(",\n           ")}
         WHERE id = 1`,
        id,
      );
      this.#sql.exec(`DELETE FROM peer_stats WHERE peer_id = ?`, id);
    }
    return stale.length;
  }
}
