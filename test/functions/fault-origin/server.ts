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
 * `GET /<fault>/<size>/<anything>` sets the body size (default 1,000,000; in the path because the
 * edge does not forward query strings). Bodies are deterministic (see {@link faultBytes}).
 * `GET /__hits/<path>` → how many times `<path>` was requested.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { gzipSync } from "node:zlib";

/** Deterministic bytes of a fault-origin body: byte i = (i * 31 + (i >> 11)) & 0xff. */
export function faultBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 11)) & 0xff;
  return out;
}

const HEADERS = { "content-type": "application/octet-stream", "cache-control": "public, max-age=3600", etag: '"fault-v1"' };

/** Starts the fault origin on 127.0.0.1 (random port). */
export async function startFaultOrigin(): Promise<{ url: string; close: () => Promise<void> }> {
  const hits = new Map<string, number>();
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
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    const fault = url.pathname.split("/")[1] ?? "";
    const sizeSegment = url.pathname.split("/")[2] ?? "";
    const size = /^\d{1,10}$/.test(sizeSegment) ? Number(sizeSegment) : 1_000_000;
    const body = faultBytes(size);
    const half = Math.floor(size / 2);
    const sock = req.socket;
    switch (fault) {
      case "ok":
        return void res.writeHead(200, { ...HEADERS, "content-length": size }).end(body);
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
        return slow(res, body, later);
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

function slow(res: ServerResponse, body: Uint8Array, later: (ms: number, f: () => void) => void): void {
  res.writeHead(200, { ...HEADERS, "content-length": body.byteLength });
  const PIECE = 64 * 1024;
  let off = 0;
  const step = () => {
    if (res.destroyed) return;
    if (off >= body.byteLength) return void res.end();
    res.write(body.subarray(off, off + PIECE));
    off += PIECE;
    later(5, step);
  };
  step();
}
