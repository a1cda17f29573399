/**
 * Objects stored before the health counters existed: their tables get the new columns when the
 * object starts, old rows count 0, and the counters then record, roll up and sum (coordinator's
 * `peer_stats`/`totals`, site aggregator's `series`/`sources`).
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SwarmCoordinator } from "../../durable/swarm-coordinator";
import { SwarmStore } from "../../durable/swarm-store";
import { SiteStatsStore } from "../../durable/site-stats-store";
import { DEFAULT_SITE_LIMITS } from "../../durable/site-stats-model";
import { randomRoot, swarmStub } from "./helpers";

describe("health columns on tables stored before them", () => {
  it("coordinator: old peer_stats/totals rows keep their bytes, gain zero health, and new counters roll up", async () => {
    const root = randomRoot();
    await runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) => {
      const sql = state.storage.sql;
      // The schema as it was before the health counters.
      sql.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      sql.exec(`CREATE TABLE peers (peer_id TEXT PRIMARY KEY, kind TEXT NOT NULL, have BLOB NOT NULL, joined_at INTEGER NOT NULL)`);
      sql.exec(`CREATE TABLE peer_stats (peer_id TEXT PRIMARY KEY, from_peers INTEGER NOT NULL, from_edge INTEGER NOT NULL, uploaded INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
      sql.exec(`CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 1), from_peers INTEGER NOT NULL, from_edge INTEGER NOT NULL, uploaded INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO totals VALUES (1, 100, 200, 0)`);
      sql.exec(`INSERT INTO peer_stats VALUES ('old', 10, 20, 0, 0)`);
      const store = new SwarmStore(sql);
      expect(store.totals()).toEqual({ fromPeers: 110, fromEdge: 220, uploaded: 0 });
      expect(store.health()).toEqual({ hashFailures: 0, bannedPeers: 0, edgeLaneBytes: 0, deadlineFallbackBytes: 0 });
      store.recordStats("new", { fromPeers: 0, fromEdge: 50, uploaded: 0, hashFailures: 2, bannedPeers: 1, edgeLaneBytes: 30, deadlineFallbackBytes: 20 }, 10);
      store.recordStats("new", { fromPeers: 0, fromEdge: 50, uploaded: 0, hashFailures: 1, bannedPeers: 1, edgeLaneBytes: 30, deadlineFallbackBytes: 20 }, 11); // max kept
      expect(store.rollUpStats(100, new Set())).toBe(2); // both folded into totals
      expect(store.health()).toEqual({ hashFailures: 2, bannedPeers: 1, edgeLaneBytes: 30, deadlineFallbackBytes: 20 });
      expect(store.totals()).toEqual({ fromPeers: 110, fromEdge: 270, uploaded: 0 });
    });
  });

  it("site aggregator: old series/sources tables gain the columns; a report's health growth lands in the series", async () => {
    const root = randomRoot();
    await runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE series (step INTEGER NOT NULL, t INTEGER NOT NULL, peer_bytes INTEGER NOT NULL DEFAULT 0, edge_bytes INTEGER NOT NULL DEFAULT 0,
        origin_bytes INTEGER NOT NULL DEFAULT 0, uploaded INTEGER NOT NULL DEFAULT 0, hits INTEGER NOT NULL DEFAULT 0, misses INTEGER NOT NULL DEFAULT 0,
        other INTEGER NOT NULL DEFAULT 0, fetches INTEGER NOT NULL DEFAULT 0, peers_online INTEGER NOT NULL DEFAULT 0, swarms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (step, t))`);
      sql.exec(`INSERT INTO series (step, t, hits) VALUES (60000, 0, 5)`);
      sql.exec(`CREATE TABLE sources (object TEXT PRIMARY KEY, root TEXT NOT NULL, from_peers INTEGER NOT NULL, from_edge INTEGER NOT NULL,
        uploaded INTEGER NOT NULL, peers_online INTEGER NOT NULL, reported_at INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO sources VALUES (?, ?, 0, 1000, 0, 1, 0)`, `${root}:EU`, root);
      const store = new SiteStatsStore(sql, () => DEFAULT_SITE_LIMITS);
      const now = 120_000;
      const report = { root, shard: "EU", bytes: { fromPeers: 0, fromEdge: 1000, uploaded: 0 }, peersOnline: 1 };
      store.addSwarm({ ...report, health: { hashFailures: 4, bannedPeers: 2, edgeLaneBytes: 5000, deadlineFallbackBytes: 300 } }, now);
      // Repeated, then older (smaller) report: nothing more.
      store.addSwarm({ ...report, health: { hashFailures: 4, bannedPeers: 2, edgeLaneBytes: 5000, deadlineFallbackBytes: 300 } }, now);
      store.addSwarm({ ...report, health: { hashFailures: 1, bannedPeers: 0, edgeLaneBytes: 0, deadlineFallbackBytes: 0 } }, now);
      const t = store.totals(0);
      expect(t.hits).toBe(5);
      // Lane bytes are a part of the object's edge bytes: 5000 claimed, 1000 edge bytes → 1000.
      expect([t.hashFailures, t.bannedPeers, t.edgeLaneBytes, t.deadlineFallbackBytes]).toEqual([4, 2, 1000, 300]);
      expect(store.series(0).find((p) => p.t === now)).toMatchObject({ hashFailures: 4, bannedPeers: 2, edgeLaneBytes: 1000, deadlineFallbackBytes: 300 });
    });
  });
});
