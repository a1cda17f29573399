/**
 * The Worker's configuration, parsed once: every setting the edge reads (wrangler.toml `[vars]`,
 * secrets, or the settings object given to the library's `edgeswarm()`), typed and validated in one
 * place. A malformed value (a misspelled `SHARD_BY`, a non-integer limit, an unknown key in a
 * settings object) is a `bad-config` error on every request, never a silent default. Parsed once per
 * isolate and per distinct value: env vars do not change within an isolate, but tests and
 * `wrangler dev` reloads may hand the same isolate a different env object, so the cache is keyed by
 * the raw values.
 */
import { DEFAULT_MAX_SUBSHARDS, MAX_SUBSHARDS_CEILING } from "../durable/subshards";
import { DEFAULT_LIMITS } from "../durable/swarm-limits";
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from "../protocol/manifest";
import type { ManifestResponse } from "../protocol/manifest";
import { DASHBOARD_SETTING_NAMES, configuredTokens, type DashboardToken } from "./dashboard-auth";
import { FILL_SETTING_NAMES, fillConfig, type FillConfig, type FillEnv } from "./fill-config";
import { DEFAULT_ICE_SERVERS, TURN_SETTING_NAMES, turnConfig, type TurnConfig } from "./ice-servers";
import { HttpError } from "./http-error";
import { parseRouteTable, type RouteTable } from "./route-table";

/** How swarms are split across coordinator objects (`SHARD_BY`). */
export type ShardBy = "continent" | "colo" | "none";

/** Everything the edge's handlers need from configuration. */
export interface EdgeConfig {
  routes: RouteTable;
  chunkSize: number;
  /** Origin timeout (headers, and between two body reads), ms. */
  originTimeoutMs: number;
  /** Join token lifetime, ms. */
  tokenTtlMs: number;
  /** ICE_SERVERS; Cloudflare's public STUN when the setting is absent (`[]` turns it off). */
  iceServers: ManifestResponse["iceServers"];
  /** The TURN provider issuing per-peer credentials (functions/ice-servers.ts), or null. */
  turn: TurnConfig | null;
  /** Dashboard tokens and their scopes (DASHBOARD_TOKEN, DASHBOARD_TOKENS; functions/dashboard-auth.ts). */
  dashboardTokens: readonly DashboardToken[];
  tokenSecret: string;
  /** How long past freshness an object stays in the edge cache for stale-if-error, seconds. */
  staleKeepSeconds: number;
  /** Swarm sharding. */
  shardBy: ShardBy;
  /** Coordinator objects per shard (spill-over; 1 = off). */
  maxSubshards: number;
  /** Peer ids only from `?key=` (`PEER_KEY_REQUIRED`). */
  peerKeyRequired: boolean;
  /** `/swarm/<root>/stats` needs a join token (`STATS_REQUIRE_TOKEN`). */
  statsRequireToken: boolean;
  /** Bearer token of `POST /purge`; empty = purge disabled. */
  purgeToken: string;
  /** The credential of configured supernodes (`SUPERNODE_KEY`); empty = no supernode grant is ever minted. */
  supernodeKey: string;
  /** The fill path's settings (functions/fill-config.ts). */
  fill: FillConfig;
}

/** The settings the edge reads, by their wrangler.toml / env names. */
export const SETTING_NAMES = [
  "ROUTES", "CHUNK_SIZE", "ORIGIN_TIMEOUT_MS", "TOKEN_TTL", "ICE_SERVERS", "TOKEN_SECRET", "STALE_KEEP_SECONDS",
  "SHARD_BY", "MAX_SUBSHARDS", "MAX_PEERS_PER_SHARD", "PEER_KEY_REQUIRED", "STATS_REQUIRE_TOKEN", "PURGE_TOKEN",
  "SUPERNODE_KEY", ...FILL_SETTING_NAMES, ...TURN_SETTING_NAMES, ...DASHBOARD_SETTING_NAMES,
] as const;

/** One setting's name. */
export type SettingName = (typeof SETTING_NAMES)[number];

/**
 * Raw settings: strings as in wrangler.toml, or typed values (numbers, booleans, the `ROUTES` and
 * `ICE_SERVERS` objects) when given in code. An env object (with unrelated bindings) fits too.
 */
export type EdgeSettings = { readonly [K in SettingName]?: unknown };

/** Kept for callers that pass an env object. */
export type ConfigEnv = EdgeSettings;

/** 32,768 hibernatable sockets per object is the platform ceiling. */
const MAX_PEERS_CEILING = 32_768;

const cache = new Map<string, EdgeConfig>();

const bad = (message: string) => new HttpError(500, "bad-config", message);

/** A string setting as given (numbers accepted for numeric settings written in code). */
function raw(name: SettingName, v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "object" && (name === "ROUTES" || name === "ICE_SERVERS" || name === "TURN_URLS" || name === "DASHBOARD_TOKENS")) return JSON.stringify(v);
  throw bad(`${name} must be a string`);
}

function int(name: SettingName, v: unknown, fallback: number, min: number, max: number): number {
  const s = raw(name, v);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw bad(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(s).slice(0, 40)}`);
  return n;
}

function flag(name: SettingName, v: unknown, fallback: boolean): boolean {
  const s = raw(name, v);
  if (s === undefined) return fallback;
  if (s === "1" || s === "true") return true;
  if (s === "0" || s === "false") return false;
  throw bad(`${name} must be "1" or "0", got ${JSON.stringify(s).slice(0, 40)}`);
}

function oneOf<T extends string>(name: SettingName, v: unknown, allowed: readonly T[], fallback: T): T {
  const s = raw(name, v);
  if (s === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(s)) throw bad(`${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(s).slice(0, 40)}`);
  return s as T;
}

function parseIceServers(v: unknown): ManifestResponse["iceServers"] {
  const s = raw("ICE_SERVERS", v);
  if (s === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    throw bad("ICE_SERVERS is not JSON");
  }
  const ok = Array.isArray(parsed) && parsed.every((e) => {
    if (typeof e !== "object" || e === null) return false;
    const u = (e as { urls?: unknown }).urls;
    return typeof u === "string" || (Array.isArray(u) && u.every((x) => typeof x === "string"));
  });
  if (!ok) throw bad("ICE_SERVERS must be an array of {urls, username?, credential?}");
  return parsed as ManifestResponse["iceServers"];
}

/**
 * Refuses keys of an explicit settings object that the edge does not know (a typo like `ROUTS`
 * would otherwise be ignored). Not applied to env objects, which hold unrelated bindings.
 */
export function checkSettingNames(settings: object): void {
  const known: ReadonlySet<string> = new Set(SETTING_NAMES);
  const unknown = Object.keys(settings).filter((k) => !known.has(k));
  if (unknown.length) throw bad(`unknown setting${unknown.length > 1 ? "s" : ""} ${unknown.slice(0, 5).join(", ")} (known: ${SETTING_NAMES.join(", ")})`);
}

/**
 * Reads and validates the configuration; throws `HttpError(500, "bad-config")` when it is wrong, so
 * a misconfigured deployment answers every request with a clear JSON error instead of guessing.
 * @example
 * const cfg = edgeConfig(c.env);
 * const route = resolveRoute(cfg.routes, "/demo/a.bin");
 */
export function edgeConfig(settings: EdgeSettings): EdgeConfig {
  const key = JSON.stringify(SETTING_NAMES.map((k) => settings[k] ?? null));
  const hit = cache.get(key);
  if (hit) return hit;
  const chunkSize = int("CHUNK_SIZE", settings.CHUNK_SIZE, DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
  if ((chunkSize & (chunkSize - 1)) !== 0) throw bad("CHUNK_SIZE must be a power of two");
  // Validated here although only the coordinator object reads it: a typo fails loudly at the edge.
  int("MAX_PEERS_PER_SHARD", settings.MAX_PEERS_PER_SHARD, DEFAULT_LIMITS.maxPeers, 1, MAX_PEERS_CEILING);
  const cfg: EdgeConfig = {
    routes: parseRouteTable(raw("ROUTES", settings.ROUTES)),
    chunkSize,
    originTimeoutMs: int("ORIGIN_TIMEOUT_MS", settings.ORIGIN_TIMEOUT_MS, 15_000, 100, 120_000),
    tokenTtlMs: int("TOKEN_TTL", settings.TOKEN_TTL, 600, 10, 86_400) * 1000,
    iceServers: settings.ICE_SERVERS === undefined || settings.ICE_SERVERS === null ? [...DEFAULT_ICE_SERVERS] : parseIceServers(settings.ICE_SERVERS),
    turn: turnConfig(Object.fromEntries(TURN_SETTING_NAMES.map((k) => [k, raw(k, settings[k])]))),
    dashboardTokens: configuredTokens(Object.fromEntries(DASHBOARD_SETTING_NAMES.map((k) => [k, raw(k, settings[k])]))),
    tokenSecret: raw("TOKEN_SECRET", settings.TOKEN_SECRET) ?? "",
    staleKeepSeconds: int("STALE_KEEP_SECONDS", settings.STALE_KEEP_SECONDS, 7 * 86_400, 0, 365 * 86_400),
    shardBy: oneOf("SHARD_BY", settings.SHARD_BY, ["continent", "colo", "none"] as const, "continent"),
    maxSubshards: int("MAX_SUBSHARDS", settings.MAX_SUBSHARDS, DEFAULT_MAX_SUBSHARDS, 1, MAX_SUBSHARDS_CEILING),
    peerKeyRequired: flag("PEER_KEY_REQUIRED", settings.PEER_KEY_REQUIRED, true),
    statsRequireToken: flag("STATS_REQUIRE_TOKEN", settings.STATS_REQUIRE_TOKEN, false),
    purgeToken: raw("PURGE_TOKEN", settings.PURGE_TOKEN) ?? "",
    supernodeKey: raw("SUPERNODE_KEY", settings.SUPERNODE_KEY) ?? "",
    fill: fillConfig(Object.fromEntries(FILL_SETTING_NAMES.map((k) => [k, raw(k, settings[k])])) as FillEnv),
  };
  if (cache.size > 16) cache.clear();
  cache.set(key, cfg);
  return cfg;
}
