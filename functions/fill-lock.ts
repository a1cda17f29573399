/**
 * The fill lock: one Durable Object per cached object (and colo), so that concurrent misses of one
 * object cost one origin fetch, and every request that joins a fill in progress streams from it at
 * once instead of waiting for its end.
 *
 * The first miss is told to lead (`acquire` → `lead`): it fetches the origin itself (all HTTP
 * semantics stay in the Worker's loader), and if the answer is a publicly cacheable 200 it feeds
 * the body to this object (`feed`) while streaming it to its client, the cache and the hasher.
 * Misses that arrive meanwhile (`acquire` → `join`) get the bytes from the first one on, from this
 * object's memory, at their own pace; those that arrive before the leader has its response headers
 * wait for them. A body ends cleanly for joiners only after the leader said how many bytes its
 * fill had when it ended cleanly (`end`), and they got exactly as many — a leader whose fill failed
 * errors every joiner (`abandon`, no `end`, or `release` before any `end`: a leader's requests may
 * reach this object in any order). A leader that gets no shareable answer (an origin
 * error, a private or non-200 response) abandons: waiting joiners are told to fetch for themselves
 * (`solo`). Fills above `relayMaxBytes` are not relayed (joiners go solo): an object's memory is
 * shared with others in its isolate (128 MB). A chunked fill (functions/chunked-storage.ts) feeds
 * one byte per chunk it stored instead of the body (`FILL_CHUNKED`), relayed whatever the object's
 * size: its joiners read the chunks from the cache.
 *
 * State is in memory only: a fill lives as long as its leader's request, and losing it (eviction,
 * a restart) costs at worst one more origin fetch, never wrong bytes.
 */
import { DurableObject } from "cloudflare:workers";
import { relayEnd, relayPiece, unframeRelay } from "./fill-relay";
import { nativeStream } from "./native-stream";

/** Header carrying the role `acquire` hands out. */
export const FILL_ROLE = "x-edgeswarm-fill";
/** Header carrying the lease id of a leader. */
export const FILL_LEASE = "x-edgeswarm-fill-lease";
/** Header carrying the stored headers of the fill (JSON entries) on `feed` and on a `join`. */
export const FILL_HEADERS = "x-edgeswarm-fill-headers";
/** Header carrying the announced length on `feed` and `join` ("" when unknown). */
export const FILL_LENGTH = "x-edgeswarm-fill-length";

/**
 * Header of a chunked fill's `feed` (functions/chunked-storage.ts): the body is one byte per chunk
 * stored in the cache, not the object, so it is relayed whatever its announced length.
 */
export const FILL_CHUNKED = "x-edgeswarm-fill-chunked";

/**
 * The roles of {@link FILL_ROLE}. `cached`: the fill ended cleanly and its leader has released the
 * lock after committing its copy — read the cache (a new fill is led only if the copy is not there).
 */
export type FillRole = "lead" | "join" | "solo" | "cached";

/** Settings a caller passes with `acquire` (query parameters): its timeouts and the relay cap. */
export interface AcquireParams {
  /** How long a joiner waits for the leader's response headers, ms. */
  waitMs: number;
  /** Largest body relayed to joiners, bytes. */
  relayMaxBytes: number;
}

/**
 * How long a completed fill holds the lock at most while its leader commits the copy to the cache
 * (a pending put, then a promoting copy: seconds for a large body on a loaded host). The leader's
 * `release` ends it as soon as the copy is visible; this bound only frees a lock whose leader died.
 */
const LINGER_MS = 30_000;
/** Most bytes handed to a joiner in one piece. */
const BATCH = 1 << 20;
/** How long the fed body waits for the leader's `end` (it follows at once in practice). */
const END_WAIT_MS = 10_000;

interface Fill {
  lease: string;
  /** Set once the leader fed its response. */
  headers?: string;
  length?: number | null;
  chunks: Uint8Array[];
  received: number;
  /** Size the leader reported at its clean end. */
  endSize?: number;
  failed?: unknown;
  /** Whether the feed body has been read to its end. */
  fed: boolean;
  /** Wakes readers waiting for bytes, the headers, or the end. */
  waiters: (() => void)[];
  relayMaxBytes: number;
  expiry?: ReturnType<typeof setTimeout>;
}

const wake = (f: Fill) => {
  const w = f.waiters.splice(0);
  for (const x of w) x();
};

const settled = (f: Fill) => f.failed !== undefined || (f.fed && f.endSize !== undefined);

/**
 * The per-object fill lock Durable Object (class `FillLock`, binding `FILL_LOCK`).
 * @example
 * const stub = env.FILL_LOCK.get(env.FILL_LOCK.idFromName(`fill:${colo}:${key}`));
 * const res = await stub.fetch("https://fill/acquire?waitMs=15000&relayMaxBytes=33554432", { method: "POST" });
 */
export class FillLock extends DurableObject<Env> {
  #fill: Fill | null = null;

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const lease = url.searchParams.get("lease") ?? "";
    try {
      switch (url.pathname) {
        case "/acquire":
          return await this.#acquire(Number(url.searchParams.get("waitMs")) || 15_000, Number(url.searchParams.get("relayMaxBytes")) || 0);
        case "/feed":
          return await this.#feed(lease, request);
        case "/end":
          return this.#end(lease, Number(url.searchParams.get("size")));
        case "/release":
          return this.#release(lease);
        case "/abandon":
          return this.#abandon(lease, url.searchParams.get("reason") ?? "abandoned");
        default:
          return new Response("no such fill operation", { status: 404 });
      }
    } catch (e) {
      console.error("FillLock:fetch", e);
      return new Response("fill lock error", { status: 500 });
    }
  }

  async #acquire(waitMs: number, relayMaxBytes: number): Promise<Response> {
    const f = this.#fill;
    if (f === null || f.failed !== undefined) {
      const fill: Fill = { lease: crypto.randomUUID(), chunks: [], received: 0, fed: false, waiters: [], relayMaxBytes };
      // A leader that never feeds nor abandons (its request died) frees the lock after `waitMs`.
      fill.expiry = setTimeout(() => this.#fail(fill, new Error("leader never fed the fill")), waitMs);
      this.#fill = fill;
      return new Response(null, { headers: { [FILL_ROLE]: "lead", [FILL_LEASE]: fill.lease } });
    }
    if (f.headers === undefined) {
      // The leader is still waiting for the origin's headers: wait with it (bounded).
      await Promise.race([new Promise<void>((r) => f.waiters.push(r)), new Promise((r) => setTimeout(r, waitMs))]);
    }
    if (this.#fill === f && f.failed === undefined && f.endSize !== undefined) {
      // The fill already ended cleanly; its copy is being committed. Reading the cache once the
      // leader releases the lock answers a HIT and never refetches — a miss arriving just after a
      // complete fill (a second GET of the same URL) must not cost another origin request.
      while (this.#fill === f) await new Promise<void>((r) => f.waiters.push(r));
      return new Response(null, { headers: { [FILL_ROLE]: f.failed === undefined ? "cached" : "solo" } });
    }
    if (this.#fill !== f || f.headers === undefined || f.failed !== undefined || f.received > f.relayMaxBytes) return solo();
    return new Response(nativeStream(this.#reader(f)), {
      headers: { [FILL_ROLE]: "join", [FILL_HEADERS]: f.headers, [FILL_LENGTH]: f.length === null || f.length === undefined ? "" : String(f.length) },
    });
  }

  /** The fill's bytes from the first on, framed; a clean end frame only at a confirmed clean end. */
  #reader(f: Fill): ReadableStream<Uint8Array> {
    let index = 0;
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        for (;;) {
          if (index < f.chunks.length) {
            // Hand over everything buffered (up to BATCH bytes) in one piece: one hop per
            // batch, not per origin read (origin reads are often a few KiB).
            const from = index;
            let n = 0;
            while (index < f.chunks.length && n < BATCH) n += f.chunks[index++]!.byteLength;
            if (index - from === 1) return relayPiece(c, f.chunks[from]!);
            const out = new Uint8Array(n);
            let off = 0;
            for (let i = from; i < index; i++) {
              out.set(f.chunks[i]!, off);
              off += f.chunks[i]!.byteLength;
            }
            return relayPiece(c, out);
          }
          // The end travels in-band (functions/fill-relay.ts): this stream itself never errors.
          if (f.failed !== undefined) return relayEnd(c, false);
          if (settled(f)) return relayEnd(c, f.endSize === f.received);
          await new Promise<void>((r) => f.waiters.push(r));
        }
      },
    });
  }

  async #feed(lease: string, request: Request): Promise<Response> {
    const f = this.#fill;
    if (f === null || f.lease !== lease || f.headers !== undefined) return new Response("stale lease", { status: 409 });
    clearTimeout(f.expiry);
    const length = request.headers.get(FILL_LENGTH);
    f.length = length ? Number(length) : null;
    f.headers = request.headers.get(FILL_HEADERS) ?? "[]";
    // Ticks of a chunked fill cost a byte per chunk: always relayed (joiners read the cache).
    if (request.headers.get(FILL_CHUNKED) === "1") f.relayMaxBytes = Number.MAX_SAFE_INTEGER;
    if (f.length !== null && f.length > f.relayMaxBytes) f.received = f.length; // too large to relay: joiners go solo
    wake(f);
    // Framed (functions/fill-relay.ts): a failed fill's feed errors here, never ends cleanly.
    const reader = request.body ? unframeRelay(request.body).getReader() : undefined;
    try {
      for (;;) {
        if (!reader) break;
        const { done, value } = await reader.read();
        if (done) break;
        if (f.failed !== undefined) break;
        if (f.length !== null && f.length > f.relayMaxBytes) continue;
        f.chunks.push(value);
        f.received += value.byteLength;
        if (f.received > f.relayMaxBytes && f.length === null) {
          // Grew past the cap with no announced length: stop relaying; readers already joined fail.
          this.#fail(f, new Error("fill too large to relay"));
          break;
        }
        wake(f);
      }
    } catch (e) {
      this.#fail(f, e);
      return new Response("feed failed", { status: 502 });
    }
    // Stopped early (the fill failed, or outgrew the relay): the rest is not wanted.
    if (f.failed !== undefined) reader?.cancel().catch(() => {});
    f.fed = true;
    wake(f);
    if (f.endSize === undefined) {
      // The body ended, but only the leader knows whether its fill ended cleanly: without its word
      // soon, the joiners' copies count as failed (never a clean short end).
      f.expiry = setTimeout(() => this.#fail(f, new Error("leader never confirmed the end of its fill")), END_WAIT_MS);
    }
    this.#linger(f);
    return new Response("fed");
  }

  #end(lease: string, size: number): Response {
    const f = this.#fill;
    if (f === null || f.lease !== lease) return new Response("stale lease", { status: 409 });
    f.endSize = Number.isSafeInteger(size) ? size : -1;
    wake(f);
    this.#linger(f);
    return new Response("ended");
  }

  /**
   * The leader's copy is in the cache now (or failed to get there): new misses must not join this
   * fill any more — the cache answers them, or, if the copy was deleted meanwhile (a purge, an
   * origin 404), a new fill asks the origin. Readers already joined finish as before.
   */
  #release(lease: string): Response {
    const f = this.#fill;
    if (f === null || f.lease !== lease) return new Response("released");
    this.#fill = null;
    if (f.endSize === undefined) {
      // Released without a clean end: the fill failed. The leader's `abandon` is a separate request
      // and may arrive after this one (or never): once the lock is free nothing else would settle
      // the fill, and its joiners would wait for an end that never comes.
      this.#fail(f, new Error("fill released without a clean end"));
    } else if (!settled(f)) {
      // Ended cleanly, but the last fed bytes are still on their way here: bounded, like `#feed`'s wait for `end`.
      clearTimeout(f.expiry);
      f.expiry = setTimeout(() => this.#fail(f, new Error("fill body never arrived")), END_WAIT_MS);
    } else clearTimeout(f.expiry);
    wake(f);
    return new Response("released");
  }

  #abandon(lease: string, reason: string): Response {
    const f = this.#fill;
    if (f !== null && f.lease === lease) this.#fail(f, new Error(`fill abandoned: ${reason}`));
    return new Response("abandoned");
  }

  #fail(f: Fill, reason: unknown): void {
    if (f.failed !== undefined) return;
    f.failed = reason ?? new Error("fill failed");
    clearTimeout(f.expiry);
    f.chunks = [];
    wake(f);
    if (this.#fill === f) this.#fill = null;
  }

  /** Keeps a completed fill's lock until its leader releases it (the cache holds it), bounded. */
  #linger(f: Fill): void {
    if (!settled(f)) return;
    clearTimeout(f.expiry);
    f.expiry = setTimeout(() => {
      if (this.#fill === f) this.#fill = null;
      wake(f);
    }, LINGER_MS);
  }
}

const solo = () => new Response(null, { headers: { [FILL_ROLE]: "solo" } });
