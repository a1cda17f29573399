/**
 * Configuration of the fill path (origin → edge cache), parsed from `[vars]` beside the rest of
 * {@link ../edge-config}: kept in its own module so the fill's knobs stay in one place.
 */
import { HttpError } from "./http-error";

/** The fill path's settings. */
export interface FillConfig {
  /** A fill must have read the whole origin body within this many ms, else it is cut (a dripping origin). */
  deadlineMs: number;
  /** Largest body the fill lock relays to misses that join a fill in progress, bytes (0: none). */
  relayMaxBytes: number;
  /**
   * Objects of at least this many bytes (known Content-Length) are stored as chunk entries plus a
   * head (functions/chunked-storage.ts), not as one Cache API entry.
   */
  chunkedMinBytes: number;
}

/** The settings this module reads (all optional: defaults apply); edge-config.ts validates their names. */
export const FILL_SETTING_NAMES = ["ORIGIN_FILL_DEADLINE_MS", "FILL_RELAY_MAX_BYTES", "CHUNKED_STORAGE_MIN_BYTES"] as const;

/** The raw values of {@link FILL_SETTING_NAMES}. */
export type FillEnv = { [K in (typeof FILL_SETTING_NAMES)[number]]?: string | undefined };

/** Default of `ORIGIN_FILL_DEADLINE_MS`: 30 min, a 4 GiB object at ~20 Mbit/s. */
export const DEFAULT_FILL_DEADLINE_MS = 30 * 60_000;
/**
 * Default of `FILL_RELAY_MAX_BYTES`: 32 MiB. The lock object holds a relayed body in memory, and
 * an isolate's 128 MB is shared by the objects it runs.
 */
export const DEFAULT_RELAY_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Default of `CHUNKED_STORAGE_MIN_BYTES`: the relay bound (`FILL_RELAY_MAX_BYTES`, 32 MiB by default).
 * Every object is then either small enough for the fill lock to relay or stored in chunks that
 * joiners read as they land, so concurrent misses of any size make one origin fetch (with a larger
 * threshold, objects between the two would each go to the origin). Below it one entry per object
 * costs one cache operation per request; above it Range hits, resumed fills and joined fills pay off.
 */
export const DEFAULT_CHUNKED_MIN_BYTES = DEFAULT_RELAY_MAX_BYTES;

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  // Digits only, as edge-config.ts reads every other limit: Number() would take "0x10" or "1e6".
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new HttpError(500, "bad-config", `${name} must be an integer in [${min}, ${max}]`);
  return n;
}

/**
 * Reads the fill settings; throws `HttpError(500, "bad-config")` on a bad value.
 * @example
 * fillConfig({ ORIGIN_FILL_DEADLINE_MS: "60000" }).deadlineMs; // 60000
 */
export function fillConfig(env: FillEnv): FillConfig {
  const relayMaxBytes = int("FILL_RELAY_MAX_BYTES", env.FILL_RELAY_MAX_BYTES, DEFAULT_RELAY_MAX_BYTES, 0, 96 * 1024 * 1024);
  return {
    deadlineMs: int("ORIGIN_FILL_DEADLINE_MS", env.ORIGIN_FILL_DEADLINE_MS, DEFAULT_FILL_DEADLINE_MS, 100, 24 * 3_600_000),
    relayMaxBytes,
    // Above ~512 MB a single entry fails on Cloudflare: the threshold may not be set past it.
    // Unset, it follows the relay bound (see DEFAULT_CHUNKED_MIN_BYTES).
    chunkedMinBytes: int("CHUNKED_STORAGE_MIN_BYTES", env.CHUNKED_STORAGE_MIN_BYTES, relayMaxBytes > 0 ? relayMaxBytes : DEFAULT_CHUNKED_MIN_BYTES, 1, 512 * 1000 * 1000),
  };
}
