/**
 * The test origin: a Node HTTP server with deterministic generated content, a hit counter per path,
 * and an off switch. It is what the edge Worker's ROUTES point at during end-to-end tests.
 *
 * Paths (all bytes are a pure function of the path, so the test knows the expected SHA-256):
 * - `/gen/<seed>/<size>.bin`      public, cacheable (`Cache-Control: public, max-age=3600`, ETag)
 * - `/private/<seed>/<size>.bin`  same bytes, but `Cache-Control: private` — never peer-eligible
 * - `/short/<seed>/<size>.bin`    same bytes, public but `max-age=1` — goes stale in a second
 * - `/cut/<seed>/<size>.bin`      same bytes and headers as `/gen/`, but every GET sends the full
 *                                 Content-Length, half the body, then an RST (a real socket drop)
 * - `/img/<seed>/<w>x<h>.bmp`     a 24-bit BMP image (Chromium decodes it in `<img>`), public
 * - `/video/<seconds>s.mp4`       an H.264/AAC MP4 (ffmpeg's test pattern, made once per run), public
 * - `GET /__hits` → `{ "<path>": n }`, `POST /__reset` (same contract as demo/origin.mjs)
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { bmpCanvas } from "../../../demo/gallery.mjs";

/** "up": serve; "error": answer every content request 500; "refuse": stop listening, drop sockets. */
export type OriginMode = "up" | "error" | "refuse";

/** One request the origin saw (for failure messages). */
export interface OriginRequest {
  method: string;
  path: string;
  status: number;
  range?: string;
}

/** A running test origin. */
export interface TestOrigin {
  /** Base URL, e.g. `http://127.0.0.1:41234/` (with trailing slash; used as a ROUTES target). */
  readonly url: string;
  /** Content requests (GET/HEAD) per path since the last reset. */
  hits(path: string): number;
  /** All hit counts. */
  allHits(): Record<string, number>;
  /** Every request seen since the last reset, in order. */
  log(): OriginRequest[];
  /** Forget hits and the log. */
  reset(): void;
  /** Change availability (scenario 7: the origin goes down). Resolves once the mode applies. */
  setMode(mode: OriginMode): Promise<void>;
  /** Expected bytes for a content path (independent of the server — what the origin serves). */
  bytes(path: string): Uint8Array;
  /** Expected SHA-256 hex of a content path. */
  sha256(path: string): string;
  close(): Promise<void>;
}

/** Deterministic pseudo-random bytes from a seed string (xorshift128+ seeded by SHA-256). */
export function generateBytes(seed: string, size: number): Uint8Array {
  const h = createHash("sha256").update(seed).digest();
  let s0 = h.readBigUInt64LE(0) | 1n;
  let s1 = h.readBigUInt64LE(8) | 1n;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const mask = (1n << 64n) - 1n;
  let i = 0;
  // BigInt per 8 bytes: ~40 ms for 4 MiB, fine for test data and cached below.
  for (; i + 8 <= size; i += 8) {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= (x << 23n) & mask;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    view.setBigUint64(i, (s1 + y) & mask, true);
  }
  for (; i < size; i++) out[i] = (i * 131 + h[i % 32]!) & 0xff;
  return out;
}

/** A 24-bit bottom-up BMP of w×h with a deterministic pattern (rows padded to 4 bytes). */
export function generateBmp(seed: string, w: number, h: number): Uint8Array {
  const { bytes: out, row } = bmpCanvas(w, h);
  const noise = generateBytes(seed, row * h);
  out.set(noise, 54);
  return out;
}

const CONTENT = /^\/(gen|private|short|cut)\/([\w.-]+)\/(\d+)\.bin$/;
const IMAGE = /^\/img\/([\w.-]+)\/(\d+)x(\d+)\.bmp$/;
const VIDEO = /^\/video\/(\d+)s\.mp4$/;

/**
 * A real H.264/AAC MP4 of `seconds` (ffmpeg's testsrc2 + a sine tone, 640×360, `+faststart` so a
 * player can start before the end): video pages need a file a browser's decoder accepts. ffmpeg
 * is a CI dependency (`.ci/run` installs it); without it this throws with the fix.
 */
export function generateVideo(seconds: number): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "edgeswarm-e2e-video-"));
  const out = join(dir, "v.mp4");
  try {
    const r = spawnSync("ffmpeg", [
      "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", `testsrc2=size=640x360:rate=30:duration=${seconds}`,
      "-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
      "-b:v", "1500k", "-c:a", "aac", "-movflags", "+faststart", "-shortest", out,
    ], { encoding: "utf8" });
    if (r.error || r.status !== 0) throw new Error(`e2e: ffmpeg failed (${r.error?.message ?? r.stderr}); install it: apt-get install -y ffmpeg`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Entity {
  body: Uint8Array;
  type: string;
  cacheControl: string;
  etag: string;
}

/**
 * Starts the test origin on `host` (default 127.0.0.1) and an ephemeral port.
 *
 * @example
 * const origin = await startTestOrigin();
 * origin.sha256("/gen/a/4194304.bin"); origin.hits("/gen/a/4194304.bin");
 */
export async function startTestOrigin(opts: { host?: string; port?: number } = {}): Promise<TestOrigin> {
  const host = opts.host ?? "127.0.0.1";
  const hits = new Map<string, number>();
  let requests: OriginRequest[] = [];
  const cache = new Map<string, Entity>();
  const sockets = new Set<Socket>();
  let mode: OriginMode = "up";

  const entity = (path: string): Entity | undefined => {
    const cached = cache.get(path);
    if (cached) return cached;
    let e: Entity | undefined;
    const c = CONTENT.exec(path);
    const im = IMAGE.exec(path);
    if (c) {
      const body = generateBytes(c[2]!, Number(c[3]));
      e = {
        body,
        type: "application/octet-stream",
        cacheControl: { gen: "public, max-age=3600", private: "private, max-age=3600", short: "public, max-age=1", cut: "public, max-age=3600" }[c[1] as "gen"],
        etag: "",
      };
    } else if (im) {
      e = { body: generateBmp(im[1]!, Number(im[2]), Number(im[3])), type: "image/bmp", cacheControl: "public, max-age=3600", etag: "" };
    } else if (VIDEO.test(path)) {
      e = { body: generateVideo(Number(VIDEO.exec(path)![1])), type: "video/mp4", cacheControl: "public, max-age=3600", etag: "" };
    }
    if (!e) return undefined;
    e.etag = `"${createHash("sha256").update(e.body).digest("hex").slice(0, 32)}"`;
    cache.set(path, e);
    return e;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://origin");
    const path = url.pathname;
    if (path === "/__hits" && req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(Object.fromEntries(hits)));
      return;
    }
    if (path === "/__reset" && req.method === "POST") {
      hits.clear();
      requests = [];
      res.writeHead(204).end();
      return;
    }
    const range = req.headers.range;
    const record = (status: number): void => {
      requests.push({ method: req.method ?? "?", path, status, ...(range ? { range } : {}) });
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      record(405);
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (mode === "error") {
      record(500);
      res.writeHead(500, { "content-type": "text/plain" }).end("origin down (test)");
      return;
    }
    const e = entity(path);
    if (!e) {
      record(404);
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    const headers: Record<string, string> = {
      "content-type": e.type,
      "cache-control": e.cacheControl,
      etag: e.etag,
      "last-modified": "Wed, 01 Jan 2025 00:00:00 GMT",
      "accept-ranges": "bytes",
    };
    // RFC 9110 §13.1.2: a revalidation with the current ETag gets 304 without a body, as real origins
    // answer — otherwise a slow download that outlives `max-age=1` would refetch the whole entity.
    const inm = req.headers["if-none-match"];
    if (inm && !range && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === e.etag || t.trim() === "*")) {
      record(304);
      const { "content-type": _t, "accept-ranges": _a, ...validators } = headers;
      res.writeHead(304, validators).end();
      return;
    }
    // RFC 9110 §14.2: one "bytes=a-b" range is enough for a test origin; anything else gets 200.
    const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
    if (m && (m[1] || m[2])) {
      const size = e.body.length;
      let start = m[1] ? Number(m[1]) : size - Number(m[2]);
      let end = m[1] ? (m[2] ? Number(m[2]) : size - 1) : size - 1;
      start = Math.max(0, start);
      end = Math.min(end, size - 1);
      if (start > end) {
        record(416);
        res.writeHead(416, { "content-range": `bytes */${size}` }).end();
        return;
      }
      record(206);
      res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${size}`, "content-length": String(end - start + 1) });
      res.end(req.method === "HEAD" ? undefined : e.body.subarray(start, end + 1));
      return;
    }
    record(200);
    res.writeHead(200, { ...headers, "content-length": String(e.body.length) });
    if (req.method !== "HEAD" && path.startsWith("/cut/")) {
      // Half the body, then a reset once it has left (an RST discards what the receiver has not read).
      res.write(e.body.subarray(0, e.body.length >> 1), () => setTimeout(() => req.socket.resetAndDestroy(), 50));
      return;
    }
    res.end(req.method === "HEAD" ? undefined : e.body);
  };

  const server: Server = createServer(handle);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        const a = server.address();
        resolve(typeof a === "object" && a ? a.port : port);
      });
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  const port = await listen(opts.port ?? 0);
  const bytes = (path: string): Uint8Array => {
    const e = entity(path);
    if (!e) throw new Error(`test origin serves no ${path}`);
    return e.body;
  };

  return {
    url: `http://${host}:${port}/`,
    hits: (path) => hits.get(path) ?? 0,
    allHits: () => Object.fromEntries(hits),
    log: () => [...requests],
    reset: () => {
      hits.clear();
      requests = [];
    },
    async setMode(next) {
      if (next === "refuse") await stop();
      else if (!server.listening) await listen(port);
      mode = next;
    },
    bytes,
    sha256: (path) => createHash("sha256").update(bytes(path)).digest("hex"),
    close: stop,
  };
}
