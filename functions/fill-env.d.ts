// Optional vars of the fill path (functions/fill-config.ts): absent from wrangler.toml [vars] by
// default, so `wrangler types` cannot see them.
declare namespace Cloudflare {
  interface Env {
    /** Total time a fill may take to read the origin body, ms (default 30 min). */
    ORIGIN_FILL_DEADLINE_MS?: string;
    /** Largest body relayed to misses joining a fill in progress, bytes (default 32 MiB). */
    FILL_RELAY_MAX_BYTES?: string;
    /** Objects of at least this many bytes are stored as chunk entries (default: FILL_RELAY_MAX_BYTES, 32 MiB). */
    CHUNKED_STORAGE_MIN_BYTES?: string;
    /** The per-object fill lock (functions/fill-lock.ts); optional: without it misses fetch alone. */
    FILL_LOCK?: DurableObjectNamespace<import("./fill-lock").FillLock>;
  }
}
