/**
 * A real HTTP origin (Node `http`) that misbehaves on purpose, for the workerd suite: the edge
 * reaches it over a real TCP socket, so a dropped connection is a real RST/FIN seen by workerd's
 * HTTP client — not a JavaScript stream that throws (which the Cache API treats differently).
 *
 * `GET /<fault>/<anything>` — the fault is the first path segment:
 *   ok       full body, Content-Length
 *   reset    Content-Length announced, half sent, then TCP RST
 *   close    Content-Length announced, half sent, then FIN
 *   stall    Content-Length announced, half sent, then silence (until the server stops)
 *   short    Content-Length announced, all but 1,000 bytes sent, then FIN
 *   chunked  chunked transfer coding, half sent, then RST (no terminating 0-length chunk)
 *   gzip     Content-Encoding gzip, chunked, a cut gzip stream, then RST
 *   drip     Content-Length announced, one byte every `?every=` ms (default 500)
 *   slow     full body, written in 64 KiB pieces with a pause between (to keep a fill open)
 *   cut      the first request: Content-Length announced, 60 % (+123 bytes) sent (paced like
 *            `slow`), 300 ms later an RST; later
 *            requests: the full body
 *   changed  like `cut`, but later requests get another object (ETag "fault-v2", other bytes:
 *            {@link changedBytes})
 * `ok`, `slow`, `cut` and `changed` honour a single `Range: bytes=a-[b]` (206 + Content-Range) when
 * `If-Range` is absent or equals the current ETag (RFC 9110 §13.1.5), else answer 200 in full; an
 * `If-None-Match` of the current ETag (no Range) gets 304.
 * `GET /<fault>/<size>/<anything>` sets the body size (default 1,000,000; in the path because the
 * edge does not forward query strings). Bodies are deterministic (see {@link faultBytes}).
 * `GET /__hits/<path>` → how many times `<path>` was requested; `GET /__ranges/<path>` → JSON list of
 * the `Range` header of each request of `<path>` (`null` when absent).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { gzipSync } from "node:zlib";

/** Deterministic bytes of a fault-origin body: byte i = (i * 31 + (i >> 11)) & 0xff. */
export function faultBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 11)) & 0xff;
  return out;
}

/** The bytes the `changed` fault serves after its first request: {@link faultBytes} XOR 0xa5. */
export function changedBytes(size: number): Uint8Array {
  return faultBytes(size).map((b) => b ^ 0xa5);
}

const HEADERS = { "content-type": "application/octet-stream", "cache-control": "public, max-age=3600", etag: '"fault-v1"' };

/** Answers a full body, or the single range the request asks for (when its If-Range holds). */
function ranged(req: IncomingMessage, res: ServerResponse, body: Uint8Array, etag: string, write: (res: ServerResponse, bytes: Uint8Array) => void): void {
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  const ifRange = req.headers["if-range"];
  const headers = { ...HEADERS, etag, "accept-ranges": "bytes" };
  // RFC 9110 §13.1.2: a revalidation with the current tag gets 304 (no body).
  if (!req.headers.range && req.headers["if-none-match"] === etag) return void res.writeHead(304, { etag, "cache-control": HEADERS["cache-control"] }).end();
  if (m && (ifRange === undefined || ifRange === etag)) {
    const first = Number(m[1]);
    const last = Math.min(m[2] ? Number(m[2]) : body.byteLength - 1, body.byteLength - 1);
    if (first > last) return void res.writeHead(416, { "content-range": `bytes */${body.byteLength}` }).end();
    res.writeHead(206, { ...headers, "content-length": last - first + 1, "content-range": `bytes ${first}-${last}/${body.byteLength}` });
    return write(res, body.subarray(first, last + 1));
  }
  res.writeHead(200, { ...headers, "content-length": body.byteLength });
  write(res, body);
}

/** Starts the fault origin on 127.0.0.1 (random port). */
export async function startFaultOrigin(): Promise<{ url: string; close: () => Promise<void> }> {
  const hits = new Map<string, number>();
  const ranges = new Map<string, (string | null)[]>();
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => (timers.delete(t), f()), ms);
    timers.add(t);
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.startsWith("/__hits/")) {
      res.end(String(hits.get(url.pathname.slice("/__hits".length)) ?? 0));
      return;
    }
    if (url.pathname.startsWith("/__ranges/")) {
      res.end(JSON.stringify(ranges.get(url.pathname.slice("/__ranges".length)) ?? []));
      return;
    }
    const seen = hits.get(url.pathname) ?? 0;
    hits.set(url.pathname, seen + 1);
    ranges.set(url.pathname, [...(ranges.get(url.pathname) ?? []), req.headers.range ?? null]);
    const fault = url.pathname.split("/")[1] ?? "";
    const sizeSegment = url.pathname.split("/")[2] ?? "";
    const size = /^\d{1,10}$/.test(sizeSegment) ? Number(sizeSegment) : 1_000_000;
    const body = faultBytes(size);
    const half = Math.floor(size / 2);
    const sock = req.socket;
    switch (fault) {
      case "ok":
        return ranged(req, res, body, HEADERS.etag, (r, b) => r.end(b));
      case "cut":
      case "changed": {
        if (seen > 0) return fault === "cut" ? ranged(req, res, body, HEADERS.etag, (r, b) => r.end(b)) : ranged(req, res, changedBytes(size), '"fault-v2"', (r, b) => r.end(b));
        // Paced, then a pause before the reset: the edge has read what was sent when the RST
        // arrives (an RST discards the receiver's unread socket buffer).
        res.writeHead(200, { ...HEADERS, "content-length": size });
        return slow(res, body.subarray(0, Math.floor(size * 0.6) + 123), later, () => later(300, () => sock.resetAndDestroy()));
      }
      case "reset":
        res.writeHead(200, { ...HEADERS, "content-length": size });
        return void res.write(body.subarray(0, half), () => later(50, () => sock.resetAndDestroy()));
      case "close":
        res.writeHead(200, { ...HEADERS, "content-length": size });
        return void res.write(body.subarray(0, half), () => later(50, () => sock.destroySoon()));
      case "stall":
        res.writeHead(200, { ...HEADERS, "content-length": size });
        return void res.write(body.subarray(0, half));
      case "short":
        res.writeHead(200, { ...HEADERS, "content-length": size });
        return void res.write(body.subarray(0, size - 1000), () => later(50, () => sock.destroySoon()));
      case "chunked":
        res.writeHead(200, HEADERS); // no Content-Length: Node uses chunked transfer coding
        return void res.write(body.subarray(0, half), () => later(50, () => sock.resetAndDestroy()));
      case "gzip": {
        const gz = gzipSync(body);
        res.writeHead(200, { ...HEADERS, "content-encoding": "gzip" });
        return void res.write(gz.subarray(0, Math.floor(gz.byteLength / 2)), () => later(50, () => sock.resetAndDestroy()));
      }
      case "drip":
        return drip(res, body, Number(url.searchParams.get("every") ?? 500), later);
      case "slow":
        return ranged(req, res, body, HEADERS.etag, (r, b) => slow(r, b, later));
      default:
        return void res.writeHead(404).end("no such fault");
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("fault origin: no port");
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function drip(res: ServerResponse, body: Uint8Array, every: number, later: (ms: number, f: () => void) => void): void {
  res.writeHead(200, { ...HEADERS, "content-length": body.byteLength });
  let i = 0;
  const step = () => {
    if (res.destroyed || i >= body.byteLength) return void res.end();
    res.write(body.subarray(i, i + 1));
    i++;
    later(every, step);
  };
  step();
}

function slow(res: ServerResponse, body: Uint8Array, later: (ms: number, f: () => void) => void, atEnd: () => void = () => void res.end()): void {
  const PIECE = 64 * 1024;
  let off = 0;
  const step = () => {
    if (res.destroyed) return;
    if (off >= body.byteLength) return atEnd();
    res.write(body.subarray(off, off + PIECE));
    off += PIECE;
    later(5, step);
  };
  step();
}
