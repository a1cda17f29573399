/**
 * The browser SDK and its service worker, embedded at build time (scripts/build-client.mjs →
 * functions/generated/sdk-bundle.ts) and served at stable paths.
 */
import { Hono } from "hono";
import { SDK_JS, SW_JS } from "./generated/sdk-bundle";

let etags: Promise<{ sdk: string; sw: string }> | undefined;

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
export const sdkRoutes = new Hono<{ Bindings: Env }>();

sdkRoutes.on(["GET", "HEAD"], "/sdk/edgeswarm.js", async (c) => {
  etags ??= Promise.all([etagOf(SDK_JS), etagOf(SW_JS)]).then(([sdk, sw]) => ({ sdk, sw }));
  return script(SDK_JS, (await etags).sdk, c.req.raw, { "cache-control": "public, max-age=300, stale-while-revalidate=86400" });
});

sdkRoutes.on(["GET", "HEAD"], "/edgeswarm-sw.js", async (c) => {
  etags ??= Promise.all([etagOf(SDK_JS), etagOf(SW_JS)]).then(([sdk, sw]) => ({ sdk, sw }));
  return script(SW_JS, (await etags).sw, c.req.raw, { "cache-control": "no-cache", "service-worker-allowed": "/" });
});
