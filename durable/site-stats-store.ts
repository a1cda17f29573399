/**
 * A site aggregator's SQLite tables: the time series (minute rows, rolled up into hour rows after
 * 24 h), the per-path totals behind the top lists, the per-root ledger that bounds peer claims
 * (`site-stats-bounds.ts`), and each coordinator object's latest cumulative report.
 *
 * SQLite calls are synchronous inside the object, so each method is atomic with respect to the
 * object's other events (no interleaving without an `await`).
 */
import { type Accepted, acceptClaims } from "./site-stats-bounds";
import {
  type EdgeBatch, type SeriesPoint, type SiteStatsLimits, type SiteTotals, type SwarmHealth, type SwarmReport, type TopItem,
  MAX_BATCH_FETCHES, MAX_BATCH_PATHS, MAX_COUNTER, TOP_ITEMS, counter, emptyHealth, hourOf, minuteOf, offloadOf, siteTotals,
} from "./site-stats-model";

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Summed counter columns of the series (gauges `peers_online`, `swarms` keep the max). */
const SUMS = [
  "peer_bytes", "edge_bytes", "origin_bytes", "uploaded", "hits", "misses", "other", "fetches",
  "hash_failures", "banned_peers", "edge_lane_bytes", "deadline_fallback_bytes",
] as const;
type SumColumn = (typeof SUMS)[number];
/** Health counter → its column (in `series` a sum of growth, in `sources` the object's cumulative value). */
const HEALTH: Record<keyof SwarmHealth, SumColumn> = {
  hashFailures: "hash_failures", bannedPeers: "banned_peers", edgeLaneBytes: "edge_lane_bytes", deadlineFallbackBytes: "deadline_fallback_bytes",
};
const HEALTH_KEYS = Object.keys(HEALTH) as (keyof SwarmHealth)[];

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS series (
     step INTEGER NOT NULL, t INTEGER NOT NULL,
     ${SUMS.map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(", ")},
     peers_online INTEGER NOT NULL DEFAULT 0, swarms INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (step, t))`,
  `CREATE TABLE IF NOT EXISTS paths (
     path TEXT PRIMARY KEY, size INTEGER NOT NULL DEFAULT 0, fetches INTEGER NOT NULL DEFAULT 0,
     peer_bytes INTEGER NOT NULL DEFAULT 0, edge_bytes INTEGER NOT NULL DEFAULT 0, active_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS items (
     root TEXT PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, fetches INTEGER NOT NULL,
     acc_peers INTEGER NOT NULL DEFAULT 0, acc_uploaded INTEGER NOT NULL DEFAULT 0,
     claimed_peers INTEGER NOT NULL DEFAULT 0, accepted_at INTEGER NOT NULL, active_at INTEGER NOT NULL,
     budget INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS sources (
     object TEXT PRIMARY KEY, root TEXT NOT NULL, from_peers INTEGER NOT NULL, from_edge INTEGER NOT NULL,
     uploaded INTEGER NOT NULL, peers_online INTEGER NOT NULL, reported_at INTEGER NOT NULL,
     ${Object.values(HEALTH).map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(", ")})`,
  `CREATE INDEX IF NOT EXISTS sources_root ON sources (root)`,
];

/**
 * Adds columns to tables stored before they existed (`CREATE TABLE IF NOT EXISTS` keeps old tables
 * as they are): the health counters, and an item's `budget` (then size × fetches, the bound it had).
 */
function addColumns(sql: SqlStorage): void {
  const columns = (table: string) => new Set(sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().map((r) => r.name));
  for (const table of ["series", "sources"]) {
    const have = columns(table);
    for (const col of Object.values(HEALTH)) if (!have.has(col)) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${col} INTEGER NOT NULL DEFAULT 0`);
  }
  if (!columns("items").has("budget")) {
    sql.exec(`ALTER TABLE items ADD COLUMN budget INTEGER NOT NULL DEFAULT 0`);
    sql.exec(`UPDATE items SET budget = min(size * fetches, ?)`, MAX_COUNTER);
  }
}

type Row = Record<SumColumn | "t" | "step" | "peers_online" | "swarms", number>;

/**
 * Typed access to one site's tables.
 * @example
 * const store = new SiteStatsStore(ctx.storage.sql, () => limits);
 * store.addEdge(batch, now);
 * store.snapshotSeries(now - 3_600_000);
 */
export class SiteStatsStore {
  readonly #sql: SqlStorage;
  readonly #limits: () => SiteStatsLimits;

  constructor(sql: SqlStorage, limits: () => SiteStatsLimits) {
    this.#sql = sql;
    this.#limits = limits;
    for (const stmt of SCHEMA) sql.exec(stmt);
    addColumns(sql);
  }

  /** Adds counters to the minute of `now`; gauges keep the interval's maximum. */
  #bump(now: number, add: Partial<Record<SumColumn, number>>, gauges?: { peers: number; swarms: number }): void {
    const cols = SUMS.filter((c) => (add[c] ?? 0) > 0);
    if (cols.length === 0 && !gauges) return;
    const p = gauges?.peers ?? 0, s = gauges?.swarms ?? 0;
    this.#sql.exec(
      `INSERT INTO series (step, t, ${[...cols, "peers_online", "swarms"].join(", ")}) VALUES (?, ?, ${cols.map(() => "?").join(", ")}${cols.length ? ", " : ""}?, ?)
       ON CONFLICT (step, t) DO UPDATE SET ${[...cols.map((c) => `${c} = ${c} + excluded.${c}`), "peers_online = max(peers_online, excluded.peers_online)", "swarms = max(swarms, excluded.swarms)"].join(", ")}`,
      MINUTE, minuteOf(now), ...cols.map((c) => add[c]!), p, s,
    );
  }

  /** Edge-measured counters of one batch; registers the roots whose manifests it issued. Returns the manifests counted. */
  addEdge(b: EdgeBatch, now: number): number {
    this.#bump(now, { hits: counter(b.hits), misses: counter(b.misses), other: counter(b.other), edge_bytes: counter(b.edgeBytes), origin_bytes: counter(b.originBytes) });
    for (const [path, bytes] of Object.entries(b.paths).slice(0, MAX_BATCH_PATHS)) {
      if (typeof path !== "string" || path.length > 2048 || counter(bytes) === 0) continue;
      this.#sql.exec(
        `INSERT INTO paths (path, edge_bytes, active_at) VALUES (?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET edge_bytes = edge_bytes + excluded.edge_bytes, active_at = excluded.active_at`,
        path, counter(bytes), now,
      );
    }
    let fetches = 0;
    for (const [root, f] of Object.entries(b.fetches).slice(0, MAX_BATCH_FETCHES)) {
      const n = counter(f?.count), size = counter(f?.size);
      if (!/^[0-9a-f]{64}$/.test(root) || n === 0 || typeof f.path !== "string" || f.path.length > 2048) continue;
      fetches += n;
      // A collection swarm is registered by each of its items, with that item's size: the budget adds them up.
      this.#sql.exec(
        `INSERT INTO items (root, path, size, fetches, budget, accepted_at, active_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (root) DO UPDATE SET fetches = fetches + excluded.fetches, budget = min(budget + excluded.budget, ?), active_at = excluded.active_at`,
        root, f.path, size, n, Math.min(size * n, MAX_COUNTER), now, now, MAX_COUNTER,
      );
      // A collection's row (`…/*`) has no size of its own (its items' sizes differ).
      this.#sql.exec(
        `INSERT INTO paths (path, size, fetches, active_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, fetches = fetches + excluded.fetches, active_at = excluded.active_at`,
        f.path, f.path.endsWith("/*") ? 0 : size, n, now,
      );
      // A bound that grew may release claims held back so far.
      this.#accept(root, now);
    }
    this.#bump(now, { fetches });
    return fetches;
  }

  /** Whether the edge registered `root` for this site. */
  knows(root: string): boolean {
    return this.#sql.exec(`SELECT 1 FROM items WHERE root = ?`, root).toArray().length > 0;
  }

  /**
   * A coordinator's cumulative report: stored (max per field), then the item's claims re-bounded.
   * Returns the health counters' growth and the site's gauges after it (null: the report was refused).
   */
  addSwarm(r: SwarmReport, now: number): { health: SwarmHealth; peersOnline: number; swarmsActive: number } | null {
    if (!/^[0-9a-f]{64}$/.test(r.root) || typeof r.shard !== "string" || r.shard.length > 32) return null;
    this.#sql.exec(
      `INSERT INTO sources (object, root, from_peers, from_edge, uploaded, peers_online, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (object) DO UPDATE SET from_peers = max(from_peers, excluded.from_peers), from_edge = max(from_edge, excluded.from_edge),
         uploaded = max(uploaded, excluded.uploaded), peers_online = excluded.peers_online, reported_at = excluded.reported_at`,
      `${r.root}:${r.shard}`, r.root, counter(r.bytes?.fromPeers), counter(r.bytes?.fromEdge), counter(r.bytes?.uploaded), Math.min(counter(r.peersOnline), 1_000_000), now,
    );
    const health = this.#addHealth(`${r.root}:${r.shard}`, r, now);
    this.#accept(r.root, now);
    const g = this.gauges(now);
    this.#bump(now, {}, { peers: g.peersOnline, swarms: g.swarmsActive });
    return { health, ...g };
  }

  /**
   * Health counters: the object's cumulative values are kept (max per field, like its bytes); their
   * growth since its last report goes to the minute of `now`, so a repeated or reordered report adds
   * nothing. The coordinator clamped each peer's counters (`clampCounters`); lane and deadline bytes
   * are parts of the object's edge bytes, so they are bounded by them here too.
   */
  #addHealth(object: string, r: SwarmReport, now: number): SwarmHealth {
    const growth = emptyHealth();
    if (!r.health) return growth;
    const prev = this.#sql.exec<Record<string, number>>(
      `SELECT ${Object.values(HEALTH).join(", ")} FROM sources WHERE object = ?`, object).toArray()[0];
    const edge = counter(r.bytes?.fromEdge);
    const grow: Partial<Record<SumColumn, number>> = {};
    const next: number[] = [];
    for (const k of HEALTH_KEYS) {
      const col = HEALTH[k];
      let v = counter(r.health[k]);
      if (k === "edgeLaneBytes" || k === "deadlineFallbackBytes") v = Math.min(v, edge);
      const before = prev?.[col] ?? 0;
      next.push(Math.max(before, v));
      grow[col] = growth[k] = Math.max(0, v - before);
    }
    this.#bump(now, grow);
    this.#sql.exec(`UPDATE sources SET ${Object.values(HEALTH).map((c) => `${c} = ?`).join(", ")} WHERE object = ?`, ...next, object);
    return growth;
  }

  /** Re-bounds one root's claims; credits the accepted growth to the series and its path. */
  #accept(root: string, now: number): void {
    const item = this.#sql.exec<{ path: string; budget: number; acc_peers: number; acc_uploaded: number; accepted_at: number }>(
      `SELECT path, budget, acc_peers, acc_uploaded, accepted_at FROM items WHERE root = ?`, root).toArray()[0];
    if (!item) return; // not registered by the edge: nothing is accepted (the claims stay in `sources`)
    const c = this.#sql.exec<{ p: number; e: number; u: number; n: number }>(
      `SELECT coalesce(sum(from_peers), 0) AS p, coalesce(sum(from_edge), 0) AS e, coalesce(sum(uploaded), 0) AS u,
              coalesce(sum(CASE WHEN reported_at >= ? THEN peers_online ELSE 0 END), 0) AS n
       FROM sources WHERE root = ?`, now - this.#limits().gaugeFreshMs, root).one();
    const prev: Accepted = { peerBytes: item.acc_peers, uploaded: item.acc_uploaded };
    const next = acceptClaims(prev, { fromPeers: c.p, fromEdge: c.e, uploaded: c.u }, {
      budget: item.budget, peersOnline: c.n, elapsedMs: now - item.accepted_at, peerBytesPerSecond: this.#limits().peerBytesPerSecond,
    });
    const dPeers = next.peerBytes - prev.peerBytes, dUp = next.uploaded - prev.uploaded;
    const grew = dPeers > 0 || dUp > 0;
    this.#sql.exec(
      `UPDATE items SET acc_peers = ?, acc_uploaded = ?, claimed_peers = ?, accepted_at = CASE WHEN ? THEN ? ELSE accepted_at END, active_at = ? WHERE root = ?`,
      next.peerBytes, next.uploaded, c.p, grew ? 1 : 0, now, now, root,
    );
    if (!grew) return;
    this.#sql.exec(`UPDATE paths SET peer_bytes = peer_bytes + ?, active_at = ? WHERE path = ?`, dPeers, now, item.path);
    this.#bump(now, { peer_bytes: dPeers, uploaded: dUp });
    this.accepted.push({ path: item.path, peerBytes: dPeers, uploaded: dUp });
  }

  /** Growth accepted since the caller last drained this (the object forwards it to Analytics Engine). */
  accepted: { path: string; peerBytes: number; uploaded: number }[] = [];

  /** Members online and active swarm objects, from reports fresher than `gaugeFreshMs`. */
  gauges(now: number): { peersOnline: number; swarmsActive: number } {
    const g = this.#sql.exec<{ p: number; s: number }>(
      `SELECT coalesce(sum(peers_online), 0) AS p, count(CASE WHEN peers_online > 0 THEN 1 END) AS s FROM sources WHERE reported_at >= ?`,
      now - this.#limits().gaugeFreshMs).one();
    return { peersOnline: g.p, swarmsActive: g.s };
  }

  /** Totals over series rows starting at or after `since` (0: all kept rows). */
  totals(since: number): SiteTotals {
    const t = this.#sql.exec<Record<SumColumn, number>>(
      `SELECT ${SUMS.map((c) => `coalesce(sum(${c}), 0) AS ${c}`).join(", ")} FROM series WHERE t >= ?`, since).one();
    const rejected = this.#sql.exec<{ r: number }>(`SELECT coalesce(sum(max(0, claimed_peers - acc_peers)), 0) AS r FROM items`).one().r;
    return totalsOf(t, rejected);
  }

  /** Series points from `since` on, oldest first (hour rows, then minute rows). */
  series(since: number): SeriesPoint[] {
    return this.#sql.exec<Row>(`SELECT * FROM series WHERE t >= ? ORDER BY t, step DESC`, since).toArray().map((r) => ({
      t: r.t, step: r.step, peerBytes: r.peer_bytes, edgeBytes: r.edge_bytes, originBytes: r.origin_bytes, uploaded: r.uploaded,
      hits: r.hits, misses: r.misses, fetches: r.fetches,
      hashFailures: r.hash_failures, bannedPeers: r.banned_peers, edgeLaneBytes: r.edge_lane_bytes, deadlineFallbackBytes: r.deadline_fallback_bytes,
      peersOnline: r.peers_online, swarms: r.swarms,
    }));
  }

  /**
   * Top paths by delivered bytes (peer + edge) and by members online. A collection swarm's row
   * (`…/*`: its items share one swarm, whose peer bytes are not split by item) counts the edge bytes
   * of the paths under it, so its offload compares like with like.
   */
  top(now: number): { byBytes: TopItem[]; byPeers: TopItem[] } {
    const q = (order: string) =>
      this.#sql.exec<{ path: string; size: number; fetches: number; peer_bytes: number; edge_bytes: number; peers: number }>(
        `WITH t AS (
           SELECT p.path, p.size, p.fetches, p.peer_bytes,
             CASE WHEN p.path LIKE '%/*' THEN (SELECT coalesce(sum(q.edge_bytes), 0) FROM paths q
                    WHERE q.path <> p.path AND substr(q.path, 1, length(p.path) - 1) = substr(p.path, 1, length(p.path) - 1))
                  ELSE p.edge_bytes END AS edge_bytes,
             coalesce((SELECT sum(s.peers_online) FROM sources s JOIN items i ON s.root = i.root
                       WHERE i.path = p.path AND s.reported_at >= ?1), 0) AS peers
           FROM paths p)
         SELECT * FROM t ORDER BY ${order} LIMIT ${TOP_ITEMS}`, now - this.#limits().gaugeFreshMs).toArray().map((r) => ({
        path: r.path, size: r.size, fetches: r.fetches, peerBytes: r.peer_bytes, edgeBytes: r.edge_bytes,
        offload: offloadOf(r.peer_bytes, r.edge_bytes), peersOnline: r.peers,
      }));
    return { byBytes: q("peer_bytes + edge_bytes DESC, path"), byPeers: q("peers DESC, peer_bytes DESC, path").filter((i) => i.peersOnline > 0) };
  }

  /**
   * Rolls minute rows older than `minuteKeepMs` into hour rows (sums add, gauges keep the max) and
   * deletes what is past `hourKeepMs`; trims items and sources to their caps. Returns whether any
   * row is left (the alarm keeps running while there is).
   */
  maintain(now: number): boolean {
    const l = this.#limits();
    const cut = hourOf(now - l.minuteKeepMs); // whole hours only: a partly rolled hour would be summed twice
    this.#sql.exec(
      `INSERT INTO series (step, t, ${SUMS.join(", ")}, peers_online, swarms)
       SELECT ${HOUR}, (t / ${HOUR}) * ${HOUR}, ${SUMS.map((c) => `sum(${c})`).join(", ")}, max(peers_online), max(swarms)
       FROM series WHERE step = ${MINUTE} AND t < ? GROUP BY 2
       ON CONFLICT (step, t) DO UPDATE SET ${[...SUMS.map((c) => `${c} = ${c} + excluded.${c}`), "peers_online = max(peers_online, excluded.peers_online)", "swarms = max(swarms, excluded.swarms)"].join(", ")}`,
      cut,
    );
    this.#sql.exec(`DELETE FROM series WHERE step = ${MINUTE} AND t < ?`, cut);
    const old = now - l.hourKeepMs;
    this.#sql.exec(`DELETE FROM series WHERE t < ?`, old);
    this.#sql.exec(`DELETE FROM paths WHERE active_at < ?`, old);
    this.#sql.exec(`DELETE FROM items WHERE active_at < ?`, old);
    this.#sql.exec(`DELETE FROM sources WHERE reported_at < ?`, old);
    this.#sql.exec(`DELETE FROM items WHERE root IN (SELECT root FROM items ORDER BY active_at DESC LIMIT -1 OFFSET ?)`, l.maxItems);
    this.#sql.exec(`DELETE FROM paths WHERE path IN (SELECT path FROM paths ORDER BY active_at DESC LIMIT -1 OFFSET ?)`, l.maxItems);
    this.#sql.exec(`DELETE FROM sources WHERE object IN (SELECT object FROM sources ORDER BY reported_at DESC LIMIT -1 OFFSET ?)`, l.maxSources);
    return this.#sql.exec(`SELECT 1 FROM series LIMIT 1`).toArray().length > 0 || this.#sql.exec(`SELECT 1 FROM sources LIMIT 1`).toArray().length > 0;
  }
}

/** Totals from summed counters. */
export function totalsOf(t: Record<SumColumn, number>, rejectedBytes: number): SiteTotals {
  return siteTotals({
    peerBytes: t.peer_bytes, edgeBytes: t.edge_bytes, originBytes: t.origin_bytes, uploaded: t.uploaded,
    hits: t.hits, misses: t.misses, fetches: t.fetches, rejectedBytes,
    hashFailures: t.hash_failures, bannedPeers: t.banned_peers, edgeLaneBytes: t.edge_lane_bytes, deadlineFallbackBytes: t.deadline_fallback_bytes,
  });
}
