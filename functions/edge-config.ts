/**
 * Typed, validated view of the Worker's `[vars]` (wrangler.toml), parsed once per isolate and per
 * distinct value: env vars do not change within an isolate, but tests and `wrangler dev` reloads may
 * hand the same isolate a different env object, so the cache is keyed by the raw strings.
 */
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from "../protocol/manifest";
import type { ManifestResponse } from "../protocol/manifest";
import { fillConfig, fillConfigKey, type FillConfig, type FillEnv } from "./fill-config";
import { HttpError } from "./http-error";
import { parseRouteTable, type RouteTable } from "./route-table";

/** Everything the content and manifest handlers need from configuration. */
export interface EdgeConfig {
  routes: RouteTable;
  chunkSize: number;
  /** Origin timeout (headers, and between two body reads), ms. */
  originTimeoutMs: number;
  /** Join token lifetime, ms. */
  tokenTtlMs: number;
  iceServers: ManifestResponse["iceServers"];
  tokenSecret: string;
  /** How long past freshness an object stays in the edge cache for stale-if-error, seconds. */
  staleKeepSeconds: number;
  /** The fill path's settings (functions/fill-config.ts). */
  fill: FillConfig;
}

/** Subset of `Env` this module reads (tests pass plain objects). */
export type ConfigEnv = Pick<Env, "ROUTES" | "CHUNK_SIZE" | "ORIGIN_TIMEOUT_MS" | "TOKEN_TTL" | "ICE_SERVERS" | "TOKEN_SECRET"> & {
  STALE_KEEP_SECONDS?: string;
} & FillEnv;

const cache = new Map<string, EdgeConfig>();

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new HttpError(500, "bad-config", `${name} must be an integer in [${min}, ${max}]`);
  return n;
}

function parseIceServers(raw: string | undefined): ManifestResponse["iceServers"] {
  if (!raw) return [];
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new HttpError(500, "bad-config", "ICE_SERVERS is not JSON");
  }
  const ok = Array.isArray(v) && v.every((s) => {
    if (typeof s !== "object" || s === null) return false;
    const u = (s as { urls?: unknown }).urls;
    return typeof u === "string" || (Array.isArray(u) && u.every((x) => typeof x === "string"));
  });
  if (!ok) throw new HttpError(500, "bad-config", "ICE_SERVERS must be an array of {urls, username?, credential?}");
  return v as ManifestResponse["iceServers"];
}

/**
 * Reads and validates the configuration; throws `HttpError(500, "bad-config")` when it is wrong, so
 * a misconfigured deployment answers every request with a clear JSON error instead of guessing.
 * @example
 * const cfg = edgeConfig(c.env);
 * const route = resolveRoute(cfg.routes, "/demo/a.bin");
 */
export function edgeConfig(env: ConfigEnv): EdgeConfig {
  const key = JSON.stringify([env.ROUTES, env.CHUNK_SIZE, env.ORIGIN_TIMEOUT_MS, env.TOKEN_TTL, env.ICE_SERVERS, env.TOKEN_SECRET, env.STALE_KEEP_SECONDS, fillConfigKey(env)]);
  const hit = cache.get(key);
  if (hit) return hit;
  const chunkSize = int("CHUNK_SIZE", env.CHUNK_SIZE, DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
  if ((chunkSize & (chunkSize - 1)) !== 0) throw new HttpError(500, "bad-config", "CHUNK_SIZE must be a power of two");
  const cfg: EdgeConfig = {
    routes: parseRouteTable(env.ROUTES),
    chunkSize,
    originTimeoutMs: int("ORIGIN_TIMEOUT_MS", env.ORIGIN_TIMEOUT_MS, 15_000, 100, 120_000),
    tokenTtlMs: int("TOKEN_TTL", env.TOKEN_TTL, 600, 10, 86_400) * 1000,
    iceServers: parseIceServers(env.ICE_SERVERS),
    tokenSecret: env.TOKEN_SECRET ?? "",
    staleKeepSeconds: int("STALE_KEEP_SECONDS", env.STALE_KEEP_SECONDS, 7 * 86_400, 0, 365 * 86_400),
    fill: fillConfig(env),
  };
  if (cache.size > 16) cache.clear();
  cache.set(key, cfg);
  return cfg;
}
