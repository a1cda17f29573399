/**
 * The origin of the bench's content: `GET /item/<bytes>/<seed>.bin` → `bytes` deterministic
 * pseudo-random bytes (incompressible, so no layer can cheat by compressing), publicly cacheable
 * with a strong ETag, as a static-file server or object store would answer. Counts bytes served, so
 * sections can report origin bytes.
 */
import { createServer, type Server } from "node:http";

/** Deterministic content of an item (xorshift32 stream seeded by `seed`). */
export function itemBytes(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
    if (i + 1 < bytes) out[i + 1] = (x >>> 8) & 255;
    if (i + 2 < bytes) out[i + 2] = (x >>> 16) & 255;
    if (i + 3 < bytes) out[i + 3] = x >>> 24;
  }
  return out;
}

/** A running origin. */
export interface BenchOrigin {
  /** `http://<host>:<port>/` */
  url: string;
  /** Path of an item: `/item/<bytes>/<seed>.bin`. */
  path(bytes: number, seed: number): string;
  /** Body bytes served so far. */
  bytesServed(): number;
  close(): Promise<void>;
}

/**
 * Starts the origin.
 * @example
 * const o = await startBenchOrigin(); const r = await fetch(o.url + o.path(1 << 20, 1).slice(1));
 */
export async function startBenchOrigin(host = "127.0.0.1"): Promise<BenchOrigin> {
  const cache = new Map<string, Uint8Array>();
  let served = 0;
  const server: Server = createServer((req, res) => {
    const m = /^\/item\/(\d+)\/(\d+)\.bin$/.exec(req.url ?? "");
    if (!m || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404).end();
      return;
    }
    const key = `${m[1]}/${m[2]}`;
    let body = cache.get(key);
    if (!body) cache.set(key, (body = itemBytes(Number(m[1]), Number(m[2]))));
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": body.length,
      "cache-control": "public, max-age=86400",
      etag: `"bench-${key.replace("/", "-")}"`,
      "last-modified": new Date(0).toUTCString(),
    });
    if (req.method === "HEAD") return void res.end();
    served += body.length;
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://${host}:${port}/`,
    path: (bytes, seed) => `/item/${bytes}/${seed}.bin`,
    bytesServed: () => served,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
