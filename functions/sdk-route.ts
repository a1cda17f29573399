/**
 * The browser SDK and its service worker, embedded at build time (scripts/build-client.mjs →
 * functions/generated/sdk-bundle.ts) and served at stable paths.
 *
 * `/sdk/edgeswarm.js` is the entry of the split build: the fetch/store/edge core loads first and the
 * peer side (WebRTC links, seeding) is `import()`ed from content-hashed chunks next to it, so the
 * first load stays within the 12 KB gz budget. The single-file build is kept for pages that want one
 * request: `/sdk/edgeswarm-standalone.js`. Video pages add `/sdk/edgeswarm-hls.js` or
 * `/sdk/edgeswarm-shaka.js` (client/players/).
 */
import { Hono } from "hono";
import type { EdgeEnv } from "./edge-context";
import { PLAYERS, SDK_JS, SDK_SPLIT, SW_JS } from "./generated/sdk-bundle";
import { HttpError } from "./http-error";

const SDK_ENTRY = SDK_SPLIT["edgeswarm.js"] ?? SDK_JS;
const etagCache = new Map<string, Promise<string>>();
const etag = (body: string) => {
  let e = etagCache.get(body);
  if (!e) etagCache.set(body, (e = etagOf(body)));
  return e;
};

async function etagOf(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `"${Array.from(d.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

function script(body: string, etag: string, req: Request, extra: Record<string, string>): Response {
  const headers = { "content-type": "text/javascript; charset=utf-8", etag, "access-control-allow-origin": "*", ...extra };
  const inm = req.headers.get("if-none-match");
  if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) return new Response(null, { status: 304, headers });
  return new Response(req.method === "HEAD" ? null : body, { headers });
}

/**
 * `GET /sdk/edgeswarm.js` (short max-age + ETag: a deploy reaches pages within minutes) and
 * `GET /edgeswarm-sw.js` (`no-cache`: browsers must see a new service worker promptly;
 * `Service-Worker-Allowed: /` so it may control the whole origin).
 * @example
 * app.route("/", sdkRoutes);
 */
export const sdkRoutes = new Hono<EdgeEnv>();

const SHORT = { "cache-control": "public, max-age=300, stale-while-revalidate=86400" };

sdkRoutes.on(["GET", "HEAD"], "/sdk/edgeswarm.js", async (c) => script(SDK_ENTRY, await etag(SDK_ENTRY), c.req.raw, SHORT));

sdkRoutes.on(["GET", "HEAD"], "/sdk/edgeswarm-standalone.js", async (c) => script(SDK_JS, await etag(SDK_JS), c.req.raw, SHORT));

// The player integrations (`edgeswarm-hls.js`, `edgeswarm-shaka.js`): stable names, so like the entry.
// Registered before the chunk pattern below, which their names would also match.
for (const [file, body] of Object.entries(PLAYERS))
  sdkRoutes.on(["GET", "HEAD"], `/sdk/${file}`, async (c) => script(body, await etag(body), c.req.raw, SHORT));

// Chunk names carry a content hash, so a chunk never changes: cache it for a year. A page holding a
// stale entry that names a chunk gone after a deploy gets a 404; the SDK then runs edge-only until
// its entry refreshes (at most max-age + stale-while-revalidate later).
sdkRoutes.on(["GET", "HEAD"], "/sdk/:file{edgeswarm-[A-Za-z0-9_-]+\\.js}", async (c) => {
  const body = SDK_SPLIT[c.req.param("file")]; // the pattern's hyphen excludes the entry itself
  if (body === undefined) throw new HttpError(404, "not-found", "no such SDK chunk");
  return script(body, await etag(body), c.req.raw, { "cache-control": "public, max-age=31536000, immutable" });
});

sdkRoutes.on(["GET", "HEAD"], "/edgeswarm-sw.js", async (c) =>
  script(SW_JS, await etag(SW_JS), c.req.raw, { "cache-control": "no-cache", "service-worker-allowed": "/" }),
);
