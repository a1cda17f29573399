/**
 * Swarm endpoints, mounted at `/swarm`:
 * - `GET /swarm/<root>?token=<join token>` with `Upgrade: websocket` → the swarm object of the
 *   caller's shard (`swarm:<root>:<shard>`), or, when that one is full, a spill-over sub-shard
 *   (`<shard>~1`, `~2`, … `durable/subshards.ts`). The Worker verifies the token, takes the peer id
 *   from it, derives the location from `request.cf` and hands over through an internal request
 *   (`durable/connect-request.ts`).
 * - `GET /swarm/<root>/stats[?shard=<shard>][&token=<join token>]` → the figures of one shard (the
 *   caller's by default), summed over its sub-shards; `?shard=<shard>~<k>` → one sub-shard only.
 *   `&item=<root>`: an item of a collection swarm (`<root>` above is then the collection id, as in
 *   the item's `join.swarm`) → members and chunks of that item only (bytes stay the swarm's).
 *   Shard names are only those {@link shardOf} can produce. A token, when given (or required by
 *   `STATS_REQUIRE_TOKEN = "1"`), must be a valid join token for `root`.
 *
 * Errors: JSON `{error: {code, message}}` — 400 bad-root / bad-shard, 401 bad-token, 403 expired /
 * wrong-root / purged (functions/purge.ts), 426 upgrade-required; no upgrade happens on any of them.
 */
import { Hono } from "hono";
import { sanitizeLocation } from "../durable/connect-request";
import { connectSpilling, parseSubshard, SPILL_WINDOW, subshardName } from "../durable/subshards";
import { mergeStats, type SwarmStats } from "../durable/swarm-stats";
import { isSha256Hex } from "../protocol/manifest";
import { swarmObjectName } from "../protocol/collection";
import { PEER_ID } from "../protocol/swarm-protocol";
import type { EdgeContext, EdgeEnv } from "./edge-context";
import type { ShardBy } from "./edge-config";
import { HttpError } from "./http-error";
import { type JoinClaims, verifyJoinToken } from "./join-token";
import { checkNotPurged } from "./purge";

export type { ShardBy } from "./edge-config";

/** Cloudflare's `request.cf.continent` values. */
const CONTINENTS: ReadonlySet<string> = new Set(["AF", "AN", "AS", "EU", "NA", "OC", "SA"]);
/** `request.cf.colo` is a three-letter IATA airport code. */
const COLO = /^[A-Z]{3}$/;
/** The shard of requests whose `cf` lacks the field (local development, tests). */
const UNKNOWN_SHARD = "XX";

/**
 * The shard of a request: its continent (default), its colo, or one shard ("all"). A missing `cf`
 * (local development) or a field of an unexpected shape falls into shard "XX", so the set of shard
 * names is closed and {@link isShardName} can refuse anything else.
 * @example
 * shardOf({ continent: "EU" }, "continent"); // "EU"
 */
export function shardOf(cf: unknown, by: ShardBy | undefined): string {
  if (by === "none") return "all";
  const o = (typeof cf === "object" && cf !== null ? cf : {}) as Record<string, unknown>;
  const v = by === "colo" ? o.colo : o.continent;
  return typeof v === "string" && isShardName(v, by) ? v : UNKNOWN_SHARD;
}

/**
 * Whether `name` is a shard {@link shardOf} can produce under `SHARD_BY` = `by`. Every name names a
 * Durable Object per root, so an open set would let anyone create objects at will.
 * @example
 * isShardName("EU", "continent"); // true
 * isShardName("FRA", "continent"); // false
 */
export function isShardName(name: string, by: ShardBy | undefined): boolean {
  if (by === "none") return name === "all";
  if (name === UNKNOWN_SHARD) return true;
  return by === "colo" ? COLO.test(name) : CONTINENTS.has(name);
}

const shardNames = (by: ShardBy) =>
  by === "none" ? '"all"' : by === "colo" ? 'a 3-letter IATA colo code or "XX"' : `one of ${[...CONTINENTS].join(", ")}, XX`;

/** Verifies the `?token=` join token for `root` and returns its claims: throws 401 bad-token, 403 expired/wrong-root, 500 bad-config. */
async function checkToken(c: EdgeContext, root: string): Promise<JoinClaims> {
  const secret = c.var.config.tokenSecret;
  if (!secret) throw new HttpError(500, "bad-config", "TOKEN_SECRET is not set");
  const verdict = await verifyJoinToken(secret, c.req.query("token") ?? "", root, Date.now());
  if (!verdict.ok) {
    const status = verdict.error === "bad-token" ? 401 : 403;
    throw new HttpError(status, verdict.error, verdict.error === "bad-token" ? "missing or invalid join token" : `join token ${verdict.error}`);
  }
  // The edge only issues tokens for valid peer ids; anything else is not a token of ours.
  if (!PEER_ID.test(verdict.claims.peerId)) throw new HttpError(401, "bad-token", "join token names an invalid peer id");
  await checkNotPurged(c, root, verdict.claims.expires);
  return verdict.claims;
}

const badRoot = () => new HttpError(400, "bad-root", "root must be a lowercase hex SHA-256");

/**
 * The `/swarm` sub-app.
 * @example
 * app.route("/swarm", swarmRoutes);
 */
export const swarmRoutes = new Hono<EdgeEnv>();

swarmRoutes.get("/:root/stats", async function swarmStats(c) {
  const root = c.req.param("root");
  if (!isSha256Hex(root)) throw badRoot();
  // STATS_REQUIRE_TOKEN: a token is only issued with a manifest, so with it required a caller can
  // only address objects of roots the edge really served, instead of any 64-hex string.
  if (c.var.config.statsRequireToken || c.req.query("token") !== undefined) await checkToken(c, root);
  const max = c.var.config.maxSubshards;
  const by = c.var.config.shardBy;
  const shard = c.req.query("shard") ?? shardOf(c.req.raw.cf, by);
  const sub = parseSubshard(shard, max);
  if (!sub || !isShardName(sub.shard, by))
    throw new HttpError(400, "bad-shard", `shard must be one this edge assigns (${shardNames(by)}), optionally ~1..~${max - 1}`);
  const item = c.req.query("item");
  if (item !== undefined && !isSha256Hex(item)) throw new HttpError(400, "bad-root", "item must be a lowercase hex SHA-256 (a manifest root)");
  const named = item === undefined ? {} : { item };
  const stubOf = (k: number) => c.var.swarm.get(c.var.swarm.idFromName(swarmObjectName(root, subshardName(sub.shard, k))));
  // A shard nobody joined yet does not know its own name: the route does.
  if (shard.includes("~")) return c.json({ ...(await stubOf(sub.k).stats(item)), root, shard, ...named });
  // Sum over the sub-shards in use. A sub-shard k > 0 can only have been reached if one of the
  // SPILL_WINDOW below it spilled (durable/subshards.ts), so the scan stops past the last such window.
  const parts: SwarmStats[] = [];
  const held: Uint8Array[] = [];
  for (let k = 0, reach = 0; k <= reach && k < max; k++) {
    const s = await stubOf(k).summary(item);
    if (s.stats.root !== "") {
      parts.push(s.stats); // an object nobody connected to does not count
      held.push(s.held);
    }
    if (s.spilled) reach = k + SPILL_WINDOW;
  }
  return c.json({ ...mergeStats(parts, held, { root, shard }), subshards: parts.length, ...named });
});

swarmRoutes.get("/:root", async function swarmJoin(c) {
  const root = c.req.param("root");
  if (!isSha256Hex(root)) throw badRoot();
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket")
    throw new HttpError(426, "upgrade-required", "this endpoint speaks WebSocket (Upgrade: websocket)");
  const claims = await checkToken(c, root);
  const cf = c.req.raw.cf;
  const shard = shardOf(cf, c.var.config.shardBy);
  const grant = { chunks: claims.chunks, size: claims.size, supernode: claims.supernode === true };
  const placed = await connectSpilling({ ns: c.var.swarm, root, shard, peerId: claims.peerId, location: sanitizeLocation(cf), grant, max: c.var.config.maxSubshards });
  return placed.response;
});
