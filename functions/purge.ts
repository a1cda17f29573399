/**
 * Purge: `POST /purge` with `Authorization: Bearer <PURGE_TOKEN>` and a JSON body
 * `{"urls": ["/c/demo/a.bin?v=2", …], "prefixes": ["/c/demo/videos/", …]}` (edge paths, with or
 * without the `/c` or `/m` in front; at most {@link MAX_ITEMS} of each).
 *
 * - By URL: the stored object (that exact key, query included) is deleted at once, with its
 *   manifest and its "not public" memo.
 * - By prefix: the Cache API cannot list keys, so the purge is recorded in a purge log (itself a
 *   Cache API entry) and every later lookup under the prefix treats an object stored at or before
 *   the purge as absent ({@link purgeAwareCache}); the refill overwrites it.
 * - Swarms: the root of every purged object the edge knows is revoked: join tokens for it issued
 *   before the purge are refused (403 `purged`), so the old swarm gets no new members; members
 *   already in it keep their link until they leave. A prefix purge cannot name its roots up front,
 *   so it also ends every join token issued before it (clients fetch a fresh one from `/m/`).
 *
 * Scope: like the Cache API itself, the purge log is per data center; a deployment across many
 * also purges through Cloudflare's zone purge API (docs/edge.md "Purge").
 */
import { Hono } from "hono";
import type { EdgeConfig } from "./edge-config";
import type { EdgeContext, EdgeEnv } from "./edge-context";
import { INTERNAL_HOST, OBJECT_ID, contentKey, ineligibleKey, manifestKey, originUrlOfKey, partialKey } from "./edge-cache";
import { STORED_AT } from "./freshness";
import { HttpError } from "./http-error";
import { resolveRoute } from "./route-table";
import { canonicalPath, checkRelativePath } from "./safe-path";

/** Most URLs, and most prefixes, in one purge request. */
export const MAX_ITEMS = 100;
/** Largest purge request body, bytes. */
const MAX_BODY = 64 * 1024;
/** Most prefix entries the log keeps; past it the oldest collapse into whole-origin purges (safe: more refetches, never fewer). */
const MAX_LOG = 256;
/** How long an isolate trusts its copy of the purge log, ms. */
const LOG_MEMO_MS = 1000;

const LOG_KEY = `${INTERNAL_HOST}/purge/log`;
const revokedKey = (root: string) => `${INTERNAL_HOST}/purge/root/${root}`;

/** One prefix purge: every stored object whose origin URL starts with `prefix`, stored at or before `at` (Unix ms). */
export interface PurgeEntry {
  prefix: string;
  at: number;
}

let memo: { log: PurgeEntry[]; read: number } | null = null;

/** The purge log of this data center (memoised for {@link LOG_MEMO_MS}). */
export async function purgeLog(cache: Cache, now: number): Promise<PurgeEntry[]> {
  if (memo && now - memo.read < LOG_MEMO_MS && now >= memo.read) return memo.log;
  const res = await cache.match(LOG_KEY);
  let log: PurgeEntry[] = [];
  if (res) {
    const v: unknown = await res.json().catch(() => null);
    if (Array.isArray(v)) log = v.filter((e): e is PurgeEntry => typeof e?.prefix === "string" && Number.isFinite(e?.at));
  }
  memo = { log, read: now };
  return log;
}

/** When `originUrl` was last purged by prefix (Unix ms), or 0. */
export function purgedAt(log: readonly PurgeEntry[], originUrl: string): number {
  let at = 0;
  for (const e of log) if (e.at > at && originUrl.startsWith(e.prefix)) at = e.at;
  return at;
}

async function appendLog(cache: Cache, entries: PurgeEntry[], now: number): Promise<void> {
  memo = null;
  let log = [...(await purgeLog(cache, now)), ...entries];
  if (log.length > MAX_LOG) {
    log.sort((a, b) => a.at - b.at);
    const old = log.slice(0, log.length - MAX_LOG / 2);
    const collapsed = new Map<string, number>();
    for (const e of old) {
      const origin = `${new URL(e.prefix).origin}/`;
      collapsed.set(origin, Math.max(collapsed.get(origin) ?? 0, e.at));
    }
    log = [...[...collapsed].map(([prefix, at]) => ({ prefix, at })), ...log.slice(old.length)];
  }
  // Kept a year: an object can be stored that long (freshness + STALE_KEEP_SECONDS).
  await cache.put(LOG_KEY, new Response(JSON.stringify(log), { headers: { "content-type": "application/json", "cache-control": "public, s-maxage=31536000" } }));
  memo = { log, read: now };
}

/** Per-root revocation times this isolate read (trusted for {@link LOG_MEMO_MS}, as the log is). */
const revokedMemo = new Map<string, { at: number; read: number }>();
/** Roots remembered at most (a swarm join per distinct root must not grow it without bound). */
const REVOKED_MEMO_MAX = 4096;

/**
 * When `root` was revoked (Unix ms), or 0. Memoised per root like the log: a join is one Cache API
 * lookup fewer (bench §3 measured the two lookups at ~7 % of a join's JavaScript CPU), and a purge
 * in another isolate is seen within {@link LOG_MEMO_MS}, as a prefix purge already is.
 */
async function rootRevokedAt(cache: Cache, root: string, now: number): Promise<number> {
  const m = revokedMemo.get(root);
  if (m && now - m.read < LOG_MEMO_MS && now >= m.read) return m.at;
  const revoked = await cache.match(revokedKey(root));
  const at = revoked ? Number(await revoked.text()) : 0;
  if (revokedMemo.size >= REVOKED_MEMO_MAX) revokedMemo.clear();
  revokedMemo.set(root, { at, read: now });
  return at;
}

/** Marks `root` revoked at `at`: join tokens for it issued at or before then are refused. */
async function revokeRoot(cache: Cache, root: string, at: number, cfg: EdgeConfig): Promise<void> {
  const keep = Math.ceil(cfg.tokenTtlMs / 1000) + 60;
  await cache.put(revokedKey(root), new Response(String(at), { headers: { "cache-control": `public, s-maxage=${keep}` } }));
  revokedMemo.delete(root); // this isolate sees its own purge at once
}

/** Revokes the root of a stored object version, when its manifest was computed. */
async function revokeObject(cache: Cache, objectId: string | null, at: number, cfg: EdgeConfig): Promise<void> {
  if (!objectId) return;
  const m = await cache.match(manifestKey(objectId, cfg.chunkSize));
  if (!m) return;
  const root = ((await m.json().catch(() => null)) as { root?: unknown } | null)?.root;
  if (typeof root === "string" && /^[0-9a-f]{64}$/.test(root)) await revokeRoot(cache, root, at, cfg);
  await cache.delete(manifestKey(objectId, cfg.chunkSize));
}

/**
 * The Cache API as the content loader sees it: a stored content object at or before a prefix purge
 * covering it is absent (and is deleted, its root revoked, in the background).
 * @example
 * const cache = purgeAwareCache(caches.default, cfg, Date.now, (p) => ctx.waitUntil(p));
 */
export function purgeAwareCache(cache: Cache, cfg: EdgeConfig, now: () => number, waitUntil: (p: Promise<unknown>) => void): Cache {
  const match: Cache["match"] = async (request, options) => {
    const res = await cache.match(request, options);
    if (!res) return res;
    const key = typeof request === "string" ? request : request instanceof URL ? request.href : request.url;
    const origin = originUrlOfKey(key);
    if (origin === null) return res;
    const at = purgedAt(await purgeLog(cache, now()), origin);
    const storedAt = Number(res.headers.get(STORED_AT));
    if (at === 0 || !(storedAt <= at)) return res;
    res.body?.cancel().catch(() => {});
    // Not deleted here: the caller refills this very key now, and a delete landing after that put
    // would remove the fresh copy. The refill overwrites it.
    waitUntil(revokeObject(cache, res.headers.get(OBJECT_ID), at, cfg).catch((e) => console.warn("edge:purge", e)));
    return undefined;
  };
  return { match, put: (r, v) => cache.put(r, v), delete: (r, o) => cache.delete(r, o) } as Cache;
}

/**
 * Refuses a join token for `root` issued at or before a purge of it (or before the latest prefix
 * purge): 403 `purged`. `expires` is the token's expiry; it was issued `tokenTtlMs` before.
 */
export async function checkNotPurged(c: EdgeContext, root: string, expires: number): Promise<void> {
  const cache = (caches as unknown as { default: Cache }).default;
  const cfg = c.var.config;
  const issued = expires - cfg.tokenTtlMs;
  const log = await purgeLog(cache, Date.now());
  const latestPrefixPurge = log.reduce((m, e) => Math.max(m, e.at), 0);
  const revokedAt = await rootRevokedAt(cache, root, Date.now());
  if (issued <= Math.max(latestPrefixPurge, revokedAt))
    throw new HttpError(403, "purged", "this content was purged after the join token was issued; fetch a fresh one from /m/");
}

/** An edge path given to purge, as a route path (`/demo/a.bin?v=2`). */
function routePath(p: unknown): string {
  if (typeof p !== "string" || p.length > 4096) throw new HttpError(400, "bad-request", "each URL and prefix is a string of at most 4096 characters");
  let path = p;
  if (/^https?:\/\//i.test(path)) {
    const u = new URL(path);
    path = u.pathname + u.search;
  }
  return path.startsWith("/c/") || path.startsWith("/m/") ? path.slice(2) : path;
}

async function readBody(c: EdgeContext): Promise<{ urls: string[]; prefixes: string[] }> {
  const text = await c.req.text();
  if (text.length > MAX_BODY) throw new HttpError(413, "bad-request", `purge body larger than ${MAX_BODY} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, "bad-request", "purge body is not JSON");
  }
  const o = (typeof v === "object" && v !== null ? v : {}) as { urls?: unknown; prefixes?: unknown };
  const list = (x: unknown, name: string): string[] => {
    if (x === undefined) return [];
    if (!Array.isArray(x) || x.length > MAX_ITEMS) throw new HttpError(400, "bad-request", `${name} must be an array of at most ${MAX_ITEMS} edge paths`);
    return x.map(routePath);
  };
  const body = { urls: list(o.urls, "urls"), prefixes: list(o.prefixes, "prefixes") };
  if (!body.urls.length && !body.prefixes.length) throw new HttpError(400, "bad-request", 'give "urls" and/or "prefixes"');
  return body;
}

async function authorize(c: EdgeContext): Promise<void> {
  const expected = c.var.config.purgeToken;
  if (!expected) throw new HttpError(404, "purge-disabled", "purge is disabled (PURGE_TOKEN is not set)");
  const given = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
  const enc = new TextEncoder();
  // Digests first: timingSafeEqual needs equal lengths, and the length must not leak either.
  const [a, b] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(given)), crypto.subtle.digest("SHA-256", enc.encode(expected))]);
  if (!(crypto.subtle as unknown as { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean }).timingSafeEqual(a, b))
    throw new HttpError(401, "unauthorized", "purge needs Authorization: Bearer <PURGE_TOKEN>", { "www-authenticate": 'Bearer realm="edgeswarm purge"' });
}

/**
 * The `/purge` route.
 * @example
 * app.route("/purge", purgeRoutes);
 */
export const purgeRoutes = new Hono<EdgeEnv>();

purgeRoutes.post("/", async function purge(c) {
  await authorize(c);
  const { urls, prefixes } = await readBody(c);
  const cfg = c.var.config;
  const cache = (caches as unknown as { default: Cache }).default;
  const now = Date.now();
  const shown: string[] = [];
  const entries: PurgeEntry[] = prefixes.map((p) => {
    const route = cfg.routes.find((r) => p.startsWith(r.prefix));
    if (!route) throw new HttpError(404, "no-route", `no route for prefix ${p.slice(0, 100)}`);
    const rest = p.slice(route.prefix.length);
    // The prefix in canonical form, like every stored key; an empty rest is the whole route.
    const canonical = rest === "" ? "" : canonicalPath(checkRelativePath(rest));
    shown.push(`/c${route.prefix}${canonical}`);
    return { prefix: route.base.href + canonical, at: now };
  });
  const purgedUrls: string[] = [];
  for (const u of urls) {
    const q = u.indexOf("?");
    const target = resolveRoute(cfg.routes, q < 0 ? u : u.slice(0, q), q < 0 ? "" : u.slice(q));
    const key = contentKey(target.originUrl);
    const stored = await cache.match(key);
    if (stored) {
      stored.body?.cancel().catch(() => {});
      await revokeObject(cache, stored.headers.get(OBJECT_ID), now, cfg);
    }
    // A chunked object's chunks are keyed by its object id: without the head they are unreachable.
    await cache.delete(key);
    await cache.delete(partialKey(key));
    await cache.delete(ineligibleKey(target.originUrl));
    purgedUrls.push(`/c${target.path}`);
  }
  if (entries.length) await appendLog(cache, entries, now);
  return c.json({ purged: { urls: purgedUrls, prefixes: shown }, at: now });
});
