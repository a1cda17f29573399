#!/usr/bin/env node
/**
 * The demo origin: a small Node HTTP server with generated, deterministic binary assets (bytes are a
 * pure function of seed and size, so their SHA-256 is reproducible anywhere), standard validators
 * and caching headers, and a hit counter per path — so you can watch the edge absorb traffic.
 *
 *   node demo/origin.mjs [port]        (default 8788, or $ORIGIN_PORT)
 *
 * Paths:
 *   /assets/small.bin (16 KiB) /assets/medium.bin (1 MiB) /assets/large.bin (8 MiB)
 *   /assets/huge.bin (32 MiB)  — public, max-age=3600, ETag, Last-Modified
 *   /gen/<seed>/<size>.bin     — any seed (integer) and size (bytes, ≤ 64 MiB), same headers
 *   /private/secret.bin        — Cache-Control: private (never cached by the edge, never peer-delivered)
 *   /assets/gallery/00.bmp … 11.bmp — the demo page's image set (demo/gallery.mjs), 1280×720 BMP,
 *                                2.6 MiB each, public; /assets/index.json lists them with SHA-256
 *   GET /__hits → {"/path": n}, POST /__reset → clears the counters
 *   /stream/<name>/<file>      — a demo stream's playlists and segments (demo/stream-media.mjs), when
 *                                `startOrigin({ streams: { <name>: <folder> } })` names its folder:
 *                                segments immutable, VOD playlists 1 h, live playlists 1 s
 *   /vendor/hls.mjs, /vendor/shaka-player.js — hls.js and Shaka Player (node_modules) for the video page
 *   anything else: a file under demo/public/ if it exists (`/` → index.html) — the demo page's hook.
 * Every asset supports HEAD. Bodies are generated while they stream; nothing is held in memory.
 */
import { createServer } from "node:http";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, normalize, sep } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { prng } from "./deterministic-bytes.mjs";
import { cachedGalleryImage, galleryIndex, galleryIndexJson } from "./gallery.mjs";

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), "public");
const KiB = 1024, MiB = 1024 * KiB;
const MAX_GEN = 64 * MiB;
const PIECE = 64 * KiB;
const LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT";

/** Named assets: path → { seed, size, cacheControl }. */
export const ASSETS = {
  "/assets/small.bin": { seed: 1, size: 16 * KiB },
  "/assets/medium.bin": { seed: 2, size: 1 * MiB },
  "/assets/large.bin": { seed: 3, size: 8 * MiB },
  "/assets/huge.bin": { seed: 4, size: 32 * MiB },
  "/private/secret.bin": { seed: 5, size: 64 * KiB, cacheControl: "private, max-age=60" },
};

/** Resolves a request path to an asset description, or null. */
export function assetFor(path) {
  if (ASSETS[path]) return { cacheControl: "public, max-age=3600", ...ASSETS[path] };
  const m = /^\/gen\/(\d{1,9})\/(\d{1,9})\.bin$/.exec(path);
  if (m && Number(m[2]) <= MAX_GEN) return { seed: Number(m[1]), size: Number(m[2]), cacheControl: "public, max-age=3600" };
  return null;
}

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
  ".mp4": "video/mp4", ".m4s": "video/iso.segment", ".m3u8": "application/vnd.apple.mpegurl", ".mpd": "application/dash+xml",
};

/**
 * A demo stream file, or false. Segments and init segments never change (`immutable`); a playlist
 * that still grows (no `#EXT-X-ENDLIST`) changes every segment, so it is fresh for 1 s only.
 */
function serveStream(path, req, res, hits, streams) {
  const m = /^\/stream\/([a-z0-9-]{1,32})\/([a-z0-9/._-]{1,128})$/.exec(path);
  const root = m && streams[m[1]];
  if (!root || m[2].includes("..")) return false;
  const file = join(root, m[2]);
  if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return false;
  hits.set(path, (hits.get(path) ?? 0) + 1);
  const ext = extname(file);
  const st = statSync(file);
  const playlist = ext === ".m3u8" || ext === ".mpd";
  const body = playlist ? readFileSync(file) : null;
  const live = playlist && ext === ".m3u8" && !body.includes("#EXT-X-ENDLIST") && body.includes("#EXTINF");
  const headers = {
    "content-type": TYPES[ext] ?? "application/octet-stream",
    etag: `"${st.size}-${Math.floor(st.mtimeMs)}"`,
    "last-modified": st.mtime.toUTCString(),
    "cache-control": !playlist ? "public, max-age=31536000, immutable" : live ? "public, max-age=1" : "public, max-age=3600",
    "access-control-allow-origin": "*",
  };
  const inm = req.headers["if-none-match"];
  if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === headers.etag)) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  res.writeHead(200, { ...headers, "content-length": body ? body.length : st.size });
  if (req.method === "HEAD") res.end();
  else if (body) res.end(body);
  else createReadStream(file).pipe(res);
  return true;
}

/** hls.js and Shaka Player for the video page (demo/public/video.html), from this checkout's node_modules. */
const VENDOR = {
  "/vendor/hls.mjs": () => createRequire(import.meta.url).resolve("hls.js/dist/hls.mjs"),
  "/vendor/shaka-player.js": () => createRequire(import.meta.url).resolve("shaka-player/dist/shaka-player.compiled.js"),
};

function servePublic(path, req, res) {
  const vendor = VENDOR[path];
  if (vendor) {
    const file = vendor();
    res.writeHead(200, { "content-type": TYPES[".js"], "content-length": statSync(file).size, "cache-control": "public, max-age=3600" });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
    return true;
  }
  const rel = normalize(decodeURIComponent(path === "/" ? "/index.html" : path)).replace(/^([/\\])+/, "");
  const file = join(PUBLIC_DIR, rel);
  if (!file.startsWith(PUBLIC_DIR + sep) || !existsSync(file) || !statSync(file).isFile()) return false;
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": statSync(file).size, "cache-control": "no-cache" });
  if (req.method === "HEAD") res.end();
  else createReadStream(file).pipe(res);
  return true;
}

async function streamAsset(res, { seed, size }) {
  const fill = prng(seed);
  const buf = new Uint8Array(PIECE);
  for (let sent = 0; sent < size && !res.destroyed; ) {
    const n = Math.min(PIECE, size - sent);
    fill(buf.subarray(0, n));
    sent += n;
    // Copy: the buffer is reused for the next piece while this one may still be queued.
    if (!res.write(Buffer.from(buf.subarray(0, n)))) {
      await new Promise((r) => {
        const done = () => (res.off("drain", done), res.off("close", done), r());
        res.on("drain", done).on("close", done);
      });
    }
  }
  res.end();
}

/** The demo page's image set and its index (see demo/gallery.mjs); false if `path` is neither. */
function serveGallery(path, req, res, hits) {
  const n = galleryIndex(path);
  if (n < 0 && path !== "/assets/index.json") return false;
  hits.set(path, (hits.get(path) ?? 0) + 1);
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" });
    res.end();
    return true;
  }
  const body = n >= 0 ? cachedGalleryImage(n) : Buffer.from(JSON.stringify(galleryIndexJson()));
  const etag = n >= 0 ? `"gallery-${n}-${body.length}"` : `"gallery-index-${body.length}"`;
  const headers = {
    "content-type": n >= 0 ? "image/bmp" : "application/json",
    etag,
    "last-modified": LAST_MODIFIED,
    "cache-control": "public, max-age=3600",
    "accept-ranges": "none",
  };
  const inm = req.headers["if-none-match"];
  if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  res.writeHead(200, { ...headers, "content-length": body.length });
  res.end(req.method === "HEAD" ? undefined : body);
  return true;
}

/**
 * Starts the demo origin.
 * @example
 * const origin = await startOrigin({ port: 0, streams: { vod: (await prepareVod()).dir } });
 * console.log(origin.url);   // http://127.0.0.1:41234/
 * await origin.close();
 */
export async function startOrigin({ port = 8788, host = "127.0.0.1", streams = {} } = {}) {
  // The gallery (33 MB generated, then hashed for index.json) is made before the first request, not
  // during it: on a loaded machine that first request outlasted the edge's origin timeout (504).
  galleryIndexJson();
  const hits = new Map();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://origin").pathname;
    if (path === "/__hits" && req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      return res.end(JSON.stringify(Object.fromEntries(hits)));
    }
    if (path === "/__reset" && req.method === "POST") {
      hits.clear();
      res.writeHead(204);
      return res.end();
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" });
      return res.end();
    }
    if (serveGallery(path, req, res, hits)) return;
    if (serveStream(path, req, res, hits, streams)) return;
    const asset = assetFor(path);
    if (!asset) {
      if (servePublic(path, req, res)) return;
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("not found\n");
    }
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const etag = `"${asset.seed}-${asset.size}"`;
    const headers = { "content-type": "application/octet-stream", etag, "last-modified": LAST_MODIFIED, "cache-control": asset.cacheControl, "accept-ranges": "none" };
    const inm = req.headers["if-none-match"];
    if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) {
      res.writeHead(304, headers);
      return res.end();
    }
    res.writeHead(200, { ...headers, "content-length": asset.size });
    if (req.method === "HEAD") return res.end();
    streamAsset(res, asset).catch(() => res.destroy());
  });
  await new Promise((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}/`,
    port: actual,
    server,
    hits: () => Object.fromEntries(hits),
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] ?? process.env.ORIGIN_PORT ?? 8788);
  const origin = await startOrigin({ port });
  console.log(`demo origin on ${origin.url}`);
  const stop = () => origin.close().then(() => process.exit(0));
  process.on("SIGINT", stop).on("SIGTERM", stop);
}
