/**
 * A link-shaping TCP proxy for the edge race: everything between clients and the upstream (the
 * edge) crosses one emulated link per direction with a bandwidth cap and a fixed one-way delay
 * (RTT/2), shared by all connections like a real access link. Bytes keep their order; a connection
 * whose bytes wait on the link beyond two bandwidth-delay products is paused (TCP backpressure), so
 * the proxy never buffers whole responses.
 *
 * Link model: a chunk of b bytes leaves when the link is free (`freeAt`), occupies it for
 * b·8/rate s, and arrives RTT/2 later — a FIFO serializer plus propagation delay, the model of
 * netem's `rate` + `delay`.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

/** Link parameters. */
export interface ShapeOptions {
  /** Upstream address (the edge). */
  upstreamHost: string;
  upstreamPort: number;
  /**
   * Link rate, bits per second, each direction (e.g. 50e6); `Infinity` = delay only (the rate is
   * then the kernel's: a token bucket on the client's own link, bench/lib/netns-host.ts).
   */
  rateBps: number;
  /** Round-trip time added by the link, ms (half each way). */
  rttMs: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
}

/** A running proxy. */
export interface ShapingProxy {
  port: number;
  /** Bytes delivered toward clients so far (the edge's answers). */
  bytesDown(): number;
  close(): Promise<void>;
}

const PIECE = 16 * 1024;

/** One direction of the link: a FIFO serializer with propagation delay. */
class Link {
  #freeAt = 0;
  /** Pieces in delivery order; `data: null` ends `to` (queued, so it can never overtake a piece). */
  readonly #queue: { at: number; to: Socket; data: Buffer | null; from: Socket }[] = [];
  #timer: NodeJS.Timeout | null = null;
  readonly #inFlight = new Map<Socket, number>();
  /** Senders paused until their receiver drains (not resumed by the link's own accounting). */
  readonly #draining = new WeakSet<Socket>();
  /** Bytes delivered so far. */
  delivered = 0;

  constructor(private readonly rateBps: number, private readonly delayMs: number, private readonly limitBytes: number) {}

  /** Queues `data` read from `from` for delivery to `to`. */
  push(from: Socket, to: Socket, data: Buffer): void {
    for (let off = 0; off < data.length; off += PIECE) {
      const piece = data.subarray(off, off + PIECE);
      const now = performance.now();
      const start = Math.max(now, this.#freeAt);
      this.#freeAt = start + (piece.length * 8 * 1000) / this.rateBps;
      this.#queue.push({ at: this.#freeAt + this.delayMs, to, data: piece, from });
      this.#inFlight.set(from, (this.#inFlight.get(from) ?? 0) + piece.length);
    }
    if ((this.#inFlight.get(from) ?? 0) > this.limitBytes) from.pause();
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#queue.length === 0) return;
    const wait = Math.max(0, this.#queue[0]!.at - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#deliver();
    }, wait);
  }

  #deliver(): void {
    const now = performance.now();
    while (this.#queue.length && this.#queue[0]!.at <= now + 0.5) {
      const { to, data, from } = this.#queue.shift()!;
      if (data === null) {
        if (!to.destroyed) to.end();
        this.#inFlight.delete(from);
        continue;
      }
      this.delivered += data.length;
      // A receiver slower than the link (a shaped client) pushes back on the sender, so a delay-only
      // link never holds a whole response in memory.
      if (!to.destroyed && !to.write(data) && !this.#draining.has(from)) {
        this.#draining.add(from);
        from.pause();
        to.once("drain", () => {
          this.#draining.delete(from);
          if (!from.destroyed) from.resume();
        });
      }
      const left = (this.#inFlight.get(from) ?? 0) - data.length;
      this.#inFlight.set(from, left);
      if (left <= this.limitBytes / 2 && from.isPaused() && !from.destroyed && !this.#draining.has(from)) from.resume();
    }
    this.#arm();
  }

  /** Ends `to` once everything `from` sent before its end has been delivered. */
  endAfter(from: Socket, to: Socket): void {
    // Was a timer at the link's free time + delay: under load it could fire before the last
    // pieces' own timer, ending the socket early and truncating the body.
    this.#queue.push({ at: Math.max(performance.now(), this.#freeAt) + this.delayMs, to, data: null, from });
    this.#arm();
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#queue.length = 0;
  }
}

/**
 * Starts the proxy.
 * @example
 * const p = await startShapingProxy({ upstreamHost: "127.0.0.1", upstreamPort: edgePort, rateBps: 50e6, rttMs: 40 });
 * await fetch(`http://127.0.0.1:${p.port}/c/bench/item.bin`);
 */
export async function startShapingProxy(o: ShapeOptions): Promise<ShapingProxy> {
  const bdp = Number.isFinite(o.rateBps) ? Math.max(64 * 1024, (o.rateBps / 8) * (o.rttMs / 1000)) : Infinity;
  const down = new Link(o.rateBps, o.rttMs / 2, 2 * bdp);
  const up = new Link(o.rateBps, o.rttMs / 2, 2 * bdp);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(o.upstreamPort, o.upstreamHost);
    sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on("data", (d: Buffer) => up.push(client, upstream, d));
    upstream.on("data", (d: Buffer) => down.push(upstream, client, d));
    client.on("end", () => up.endAfter(client, upstream));
    upstream.on("end", () => down.endAfter(upstream, client));
    const kill = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", kill).on("close", () => sockets.delete(client));
    upstream.on("error", kill).on("close", () => sockets.delete(upstream));
  });
  await new Promise<void>((r) => server.listen(0, o.host ?? "127.0.0.1", r));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    bytesDown: () => down.delivered,
    close: () =>
      new Promise<void>((r) => {
        down.close();
        up.close();
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
