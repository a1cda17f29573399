/** Test doubles for the client SDK: a fake clock, content with its manifest, a fake edge and fake peers. */
import type { DownloadEmit, DownloadEventMap } from "../../client/swarm-events";
import { Download, type DownloadOptions } from "../../client/download";
import { ByteTally } from "../../client/peer-stats";
import { peerLinkSource } from "../../client/peer-link-source";
import { createHash } from "node:crypto";
import type { Manifest } from "../../protocol/manifest";
import { computeRoot } from "../../protocol/manifest";
import type { PeerKind } from "../../protocol/swarm-protocol";
import {
  PeerRequestError, type ChunkWant, type PeerChunkSource, type PeerInfo, type PeerRequest, type PeerSource, type SchedulerClock, type Source,
} from "../../client/chunk-sources";

/** A manual clock: timers run only when the test advances time. */
export class FakeClock implements SchedulerClock {
  t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.timers.delete(h as number);
  };
  sleep = (ms: number): Promise<void> => new Promise((r) => this.setTimeout(r, ms));
  /** Advances time by `ms`, running due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

/** Lets pending promise chains (and setImmediate work) settle. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
/** Synchronous-hash verifier: keeps tests deterministic (no thread-pool timing). */
export const verify = async (b: Uint8Array, h: string): Promise<boolean> => sha256(b) === h;

/** Deterministic pseudo-random bytes. */
export function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Content bytes plus their manifest. */
export async function content(size: number, chunkSize = 16 * 1024, seed = 1): Promise<{ bytes: Uint8Array; manifest: Manifest }> {
  const bytes = bytesOf(size, seed);
  const chunks: string[] = [];
  for (let o = 0; o < size; o += chunkSize) chunks.push(sha256(bytes.subarray(o, Math.min(size, o + chunkSize))));
  return { bytes, manifest: { url: "/c/demo/file.bin", version: "v1", size, type: "application/octet-stream", chunkSize, chunks, root: await computeRoot(chunks) } };
}

/** A fake edge: serves `[start, end)` of `bytes` in `piece`-byte reads; records every request. */
export function fakeEdge(bytes: Uint8Array, opts: { piece?: number; clock?: FakeClock; msPerPiece?: number; corrupt?: (offset: number) => boolean; shared?: boolean } = {}) {
  const requests: [number, number][] = [];
  const piece = opts.piece ?? 5000;
  /** `shared`: concurrent requests share one link (a piece per msPerPiece in all), as a visitor's access link does. */
  let linkFree = 0;
  /** Takes the shared link's next `ms` free (for a piece of bytes, any source's); returns when they end. */
  const reserve = (ms: number): number => (linkFree = Math.max(linkFree, opts.clock?.t ?? 0) + ms);
  const fetch = async (start: number, end: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> => {
    requests.push([start, end]);
    let pos = start;
    return new ReadableStream<Uint8Array>({
      pull: async (c) => {
        if (signal.aborted) return c.error(new Error("aborted"));
        if (opts.clock && opts.msPerPiece && opts.shared) {
          if (pos < end) await opts.clock.sleep(reserve(opts.msPerPiece) - opts.clock.t);
        } else if (opts.clock && opts.msPerPiece) await opts.clock.sleep(opts.msPerPiece);
        if (pos >= end) return c.close();
        const n = Math.min(piece, end - pos);
        const out = bytes.slice(pos, pos + n);
        if (opts.corrupt) for (let k = 0; k < n; k++) if (opts.corrupt(pos + k)) out[k]! ^= 0xff;
        pos += n;
        c.enqueue(out);
      },
    });
  };
  return { fetch, requests, reserve };
}

type Behaviour = "ok" | "corrupt" | "hang" | "busy" | "unavailable";

export interface FakePeer {
  id: string;
  has: Set<number>;
  behaviour: Behaviour;
  /** Chunks requested, in order. */
  requests: number[];
  /** Requests received (each the chunks it named). */
  requestRuns: number[][];
  cancels: number[];
  /** Max requests this peer had in flight at once. */
  maxInFlight: number;
  inFlight: number;
  /** Answer only after this many test `release()` calls (manual mode). */
  manual?: boolean;
  queue: { index: number; resolve: (b: Uint8Array) => void; reject: (e: unknown) => void }[];
  /** What the coordinator would say this peer is; unset = unknown. */
  kind?: PeerKind;
}

/** Fake peers behind the scheduler's PeerSource interface. */
export class FakePeers implements PeerSource {
  readonly peerMap = new Map<string, FakePeer>();
  readonly banned: string[] = [];
  wants = 0;
  isPending = false;
  private listeners = new Set<() => void>();
  constructor(private readonly bytes: Uint8Array, private readonly chunkSize: number) {}

  add(id: string, has: Iterable<number>, behaviour: Behaviour = "ok", manual = false): FakePeer {
    const p: FakePeer = { id, has: new Set(has), behaviour, requests: [], requestRuns: [], cancels: [], maxInFlight: 0, inFlight: 0, manual, queue: [] };
    this.peerMap.set(id, p);
    this.changed();
    return p;
  }
  /** The peer leaves: everything it had in flight fails with "gone". */
  leave(id: string): void {
    const p = this.peerMap.get(id);
    if (!p) return;
    this.peerMap.delete(id);
    for (const q of p.queue.splice(0)) q.reject(new PeerRequestError("gone"));
    this.changed();
  }
  changed(): void {
    for (const l of this.listeners) l();
  }
  chunk(i: number): Uint8Array {
    return this.bytes.slice(i * this.chunkSize, Math.min(this.bytes.length, (i + 1) * this.chunkSize));
  }
  /** Manual mode: answers the oldest queued request of a peer. */
  answer(id: string): number | undefined {
    const p = this.peerMap.get(id);
    const q = p?.queue.shift();
    if (!p || !q) return undefined;
    p.inFlight--;
    q.resolve(this.payload(p, q.index));
    return q.index;
  }
  private payload(p: FakePeer, i: number): Uint8Array {
    const b = this.chunk(i);
    if (p.behaviour === "corrupt") b[b.length >> 1]! ^= 0x55;
    return b;
  }
  peers(): PeerInfo[] {
    return [...this.peerMap.values()].map((p) => ({ id: p.id, has: (i: number) => p.has.has(i), ...(p.kind ? { kind: p.kind } : {}) }));
  }
  pending(): boolean {
    return this.isPending;
  }
  source(peer: PeerInfo, manifest: Manifest): PeerChunkSource {
    return peerLinkSource(this, peer, manifest);
  }
  /**
   * One request for a run of chunks: each chunk is answered (or queued, in manual/hang mode) on its
   * own, as a real seeder's FIFO would send them; `requests` lists every chunk asked for.
   */
  request(peerId: string, chunks: readonly ChunkWant[], onChunk: (index: number, bytes: Uint8Array) => void): PeerRequest {
    const p = this.peerMap.get(peerId);
    if (!p) return { done: Promise.reject(new PeerRequestError("gone")), cancel() {}, trim() {} };
    p.requests.push(...chunks.map((c) => c.index));
    p.requestRuns.push(chunks.map((c) => c.index));
    p.inFlight += chunks.length;
    p.maxInFlight = Math.max(p.maxInFlight, p.inFlight);
    let left = chunks.length;
    let settled = false;
    let resolveDone = () => {};
    const mine: FakePeer["queue"] = [];
    const done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        for (const q of mine) {
          const k = p.queue.indexOf(q);
          if (k >= 0) { p.queue.splice(k, 1); p.inFlight--; }
        }
        reject(e);
      };
      if (p.behaviour === "busy" || p.behaviour === "unavailable") { p.inFlight -= chunks.length; return fail(new PeerRequestError(p.behaviour)); }
      for (const c of chunks) {
        const entry = {
          index: c.index,
          resolve: (b: Uint8Array) => {
            if (settled) return;
            onChunk(c.index, b);
            if (--left === 0) { settled = true; resolve(); }
          },
          reject: fail,
        };
        mine.push(entry);
        if (p.behaviour === "hang" || p.manual) p.queue.push(entry);
        else queueMicrotask(() => { p.inFlight--; entry.resolve(this.payload(p, c.index)); });
      }
    });
    return {
      done,
      cancel: () => {
        if (settled) return;
        const open = mine.filter((q) => p.queue.includes(q)).map((q) => q.index);
        p.cancels.push(...open);
        for (const q of mine) {
          const k = p.queue.indexOf(q);
          if (k >= 0) { p.queue.splice(k, 1); p.inFlight--; }
        }
        settled = true;
      },
      // A partial cancel: the queued chunks past the first `keep` are dropped (like the seeder's).
      trim: (keep: number) => {
        if (settled) return;
        const dropped = mine.slice(keep).filter((q) => p.queue.includes(q));
        if (!dropped.length) return;
        p.cancels.push(...dropped.map((q) => q.index));
        for (const q of dropped) { p.queue.splice(p.queue.indexOf(q), 1); p.inFlight--; }
        left -= dropped.length;
        if (left === 0) { settled = true; resolveDone(); }
      },
    };
  }
  ban(peerId: string): void {
    this.banned.push(peerId);
    this.leave(peerId);
  }
  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  want(): void {
    this.wants++;
  }
}

/** Reads a stream to the end while advancing the fake clock; bounded. */
export async function drain(stream: ReadableStream<Uint8Array>, clock?: FakeClock, stepMs = 50, maxSteps = 4000): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let done = false;
  let error: unknown;
  const reader = stream.getReader();
  void (async () => {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        parts.push(r.value);
      }
    } catch (e) {
      error = e;
    }
    done = true;
  })();
  for (let k = 0; k < maxSteps && !done; k++) {
    await settle();
    if (!done) clock?.advance(stepMs);
  }
  if (process.env.DEBUG_DRAIN) console.log("drain steps", clock?.t);
  if (error) throw error;
  if (!done) throw new Error("stream did not finish");
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => i + from);
}

/** Byte equality without vitest's per-element deep-equal (slow on large arrays). */
export function digestOf(bytes: Uint8Array): { length: number; sha256: string } {
  return { length: bytes.length, sha256: sha256(bytes) };
}

/** A download event sink that hands events of one type to `fn`. */
export const on = <K extends keyof DownloadEventMap>(type: K, fn: (detail: DownloadEventMap[K]) => void): DownloadEmit =>
  (t, d) => {
    if ((t as string) === type) fn(d as unknown as DownloadEventMap[K]);
  };

/**
 * A download with a tally of its own events (`stats`), counted by the SDK's one counting class as
 * the SDK would (chunk bytes by length); `opts.emit` still gets every event.
 */
export function counted(opts: DownloadOptions): Download & { stats: ByteTally } {
  const stats = new ByteTally();
  const url = opts.manifest.url;
  const emit: DownloadEmit = (type, detail) => {
    if (type === "chunk") {
      const c = detail as DownloadEventMap["chunk"];
      stats.add("chunk", { url, index: c.index, bytes: c.bytes.length, source: c.source, ...(c.peerId ? { peerId: c.peerId } : {}), why: c.why });
    } else if (type === "hash-failure") stats.add("hash-failure", { url, ...(detail as DownloadEventMap["hash-failure"]) });
    else if (type === "deadline-miss") stats.add("deadline-miss", { url, ...(detail as DownloadEventMap["deadline-miss"]) });
    else if (type === "lane-open") stats.add("lane-open", { url, ...(detail as DownloadEventMap["lane-open"]) });
    opts.emit?.(type, detail);
  };
  return Object.assign(new Download({ ...opts, emit }), { stats });
}

/**
 * Reads download `d` to the end on fake clock `clock`, 10 fake ms a step; `tick` runs every step
 * (between two settles) to move fake peers. Throws if the stream does not finish in 5,000 steps.
 */
export async function readWithClock(d: { stream: ReadableStream<Uint8Array> }, clock: FakeClock, tick: (t: number) => void | Promise<void> = () => {}): Promise<{ bytes: Uint8Array; t: number }> {
  const parts: Uint8Array[] = [];
  let t = -1;
  const reader = d.stream.getReader();
  void (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    t = clock.t;
  })();
  for (let k = 0; k < 5000 && t < 0; k++) {
    await settle();
    await tick(clock.t);
    await settle();
    if (t < 0) clock.advance(10);
  }
  if (t < 0) throw new Error("stream did not finish");
  return { bytes: concat(parts), t };
}
