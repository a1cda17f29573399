/**
 * Chunked storage of large objects: an object of at least `CHUNKED_STORAGE_MIN_BYTES` is stored as
 * one Cache API entry per manifest chunk (`chunkKey(objectId, chunkSize, i)`, each put whole from
 * memory once complete, so no entry can hold a prefix) plus a small *head* under the object's own
 * key: its stored headers (freshness, validators, object id) and {@link CHUNKED} = `<chunk size>/<size>`,
 * no body. The head is written last, once every chunk is stored: it is the commit record.
 *
 * Why: the Cache API's per-entry limit (512 MB on Cloudflare) no longer bounds an object; a Range
 * hit reads only the chunks it needs; a fill that was cut keeps what it stored and resumes after it
 * (functions/chunked-fill.ts); misses that join a fill stream the chunks as they are stored instead
 * of a relay in the fill lock's memory.
 *
 * A chunk that is gone (evicted) is fetched again from the origin by itself — a Range request with
 * `If-Range` the stored validator (RFC 9110 §13.1.5), so a changed origin object answers 200 and is
 * never spliced in: the read errors and the head is dropped (the next request refetches). Every chunk
 * read is checked against its expected length.
 */
import { CHUNKED, OBJECT_ID, chunkKey } from "./edge-cache";
import { dropIfOurs } from "./fill-commit";
import { fetchOrigin } from "./origin-fetch";
import { TruncatedBodyError } from "./stream-fanout";

/** Where an object's bytes are: chunk size and total size. */
export interface ChunkLayout {
  chunkSize: number;
  size: number;
}

/** Number of chunks of a layout. */
export const chunkCount = (l: ChunkLayout): number => Math.ceil(l.size / l.chunkSize);

/** Byte length of chunk `i`. */
export const chunkLength = (l: ChunkLayout, i: number): number => Math.min(l.chunkSize, l.size - i * l.chunkSize);

/** The layout a stored head names, or null for a whole-object entry. */
export function chunkedLayout(h: Headers): ChunkLayout | null {
  const m = /^(\d{1,10})\/(\d{1,15})$/.exec(h.get(CHUNKED) ?? "");
  if (!m) return null;
  const chunkSize = Number(m[1]);
  const size = Number(m[2]);
  return chunkSize > 0 && Number.isSafeInteger(size) ? { chunkSize, size } : null;
}

/** Stored headers marked with `layout` (the head's headers; no Content-Length: the head has no body). */
export function headHeaders(stored: Headers, layout: ChunkLayout): Headers {
  const h = new Headers(stored);
  h.delete("content-length");
  h.set(CHUNKED, `${layout.chunkSize}/${layout.size}`);
  return h;
}

/**
 * The validator a chunk may be refetched under (`If-Range`): a strong ETag, else a Last-Modified
 * that is strong by RFC 9110 §8.8.2.2 (at least a second before the response's Date: two versions
 * within one second would share it); null when there is none (then a missing chunk cannot be
 * fetched alone, and a cut fill starts over).
 */
export function rangeValidator(h: Headers): string | null {
  const etag = h.get("etag")?.trim();
  if (etag && !etag.startsWith("W/")) return etag;
  const lm = h.get("last-modified");
  const modified = Date.parse(lm ?? "");
  const date = Date.parse(h.get("date") ?? "");
  return lm !== null && Number.isFinite(modified) && Number.isFinite(date) && date - modified >= 1000 ? lm : null;
}

/** What reading a chunked object needs besides the cache: how to refetch a chunk from the origin. */
export interface ChunkSource {
  cache: Cache;
  waitUntil: (p: Promise<unknown>) => void;
  /** The object's origin URL and the request headers its fill was made with (Vary fields included). */
  originUrl: URL;
  originHeaders: Headers;
  timeoutMs: number;
}

/** A stored chunked object version. */
export interface ChunkedObject {
  /** The key of its head. */
  key: string;
  layout: ChunkLayout;
  objectId: string;
  /** The head's headers (validators, retention). */
  head: Headers;
}

/** The head's retention (`s-maxage`), reused by its chunks. */
export function retention(head: Headers): string {
  return head.get("cache-control") ?? "public, s-maxage=3600";
}

/** A chunk entry: exactly its bytes, kept as long as the head. */
export function chunkResponse(bytes: Uint8Array, cacheControl: string): Response {
  return new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-length": String(bytes.byteLength), "content-type": "application/octet-stream", "cache-control": cacheControl } });
}

async function readChunk(cache: Cache, o: ChunkedObject, i: number): Promise<Uint8Array | null> {
  const res = await cache.match(chunkKey(o.objectId, o.layout.chunkSize, i));
  if (!res) return null;
  const bytes = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
  return bytes.byteLength === chunkLength(o.layout, i) ? bytes : null;
}

/**
 * Chunk `i` again from the origin: `Range` for exactly its bytes under `If-Range`. Anything but a
 * 206 of exactly those bytes (a 200: the origin object changed) throws; the bytes are stored again.
 */
async function refetchChunk(src: ChunkSource, o: ChunkedObject, i: number): Promise<Uint8Array> {
  const validator = rangeValidator(o.head);
  const gone = () => {
    src.waitUntil(dropIfOurs(src.cache, o.key, o.objectId).catch(() => {}));
    return new TruncatedBodyError(`chunk ${i} of ${o.key} is gone and cannot be refetched`);
  };
  if (validator === null) throw gone();
  const first = i * o.layout.chunkSize;
  const last = first + chunkLength(o.layout, i) - 1;
  const headers = new Headers(src.originHeaders);
  headers.set("range", `bytes=${first}-${last}`);
  headers.set("if-range", validator);
  const res = await fetchOrigin(src.originUrl, { method: "GET", headers }, src.timeoutMs);
  if (res.status !== 206 || res.headers.get("content-range") !== `bytes ${first}-${last}/${o.layout.size}`) {
    res.body?.cancel().catch(() => {});
    console.warn("edge:chunk-refetch", o.key, i, res.status);
    throw gone();
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.byteLength !== last - first + 1) throw gone();
  src.waitUntil(src.cache.put(chunkKey(o.objectId, o.layout.chunkSize, i), chunkResponse(bytes, retention(o.head))).catch((e) => console.warn("edge:chunk-put", e)));
  return bytes;
}

/**
 * Bytes `[start, end]` of a chunked object, read chunk by chunk on demand (nothing is read before
 * the consumer asks: a HEAD or a 304 reads no chunk, a range reads only its chunks). `ready(i)`, when
 * given, resolves once chunk `i` is stored (a fill in progress: functions/chunked-fill.ts).
 * @example
 * new Response(chunkedBody(src, object, 0, object.layout.size - 1));
 */
export function chunkedBody(src: ChunkSource, o: ChunkedObject, start: number, end: number, ready?: (i: number) => Promise<void>): ReadableStream<Uint8Array> {
  const { chunkSize } = o.layout;
  let i = Math.floor(start / chunkSize);
  const lastChunk = Math.floor(end / chunkSize);
  const load = async (n: number) => {
    await ready?.(n);
    return (await readChunk(src.cache, o, n)) ?? (await refetchChunk(src, o, n));
  };
  // One chunk of read-ahead once the consumer is reading: a cache lookup's latency overlaps the
  // consumer's use of the chunk before (two chunks in memory at most).
  let next: Promise<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (i > lastChunk) return c.close();
        const current = next ?? load(i);
        next = i < lastChunk ? load(i + 1) : null;
        next?.catch(() => {}); // observed when its turn comes
        const bytes = await current;
        const base = i * chunkSize;
        c.enqueue(bytes.subarray(Math.max(0, start - base), Math.min(bytes.byteLength, end + 1 - base)));
        i++;
        if (i > lastChunk) c.close();
      },
      cancel() {
        next?.catch(() => {});
        next = null;
      },
    },
    { highWaterMark: 0 },
  );
}

/** The chunked object a stored head describes, or null for a whole-object entry. */
export function chunkedObject(key: string, head: Headers): ChunkedObject | null {
  const layout = chunkedLayout(head);
  const objectId = head.get(OBJECT_ID);
  return layout && objectId ? { key, layout, objectId, head } : null;
}

/** How a chunk writer ended: the chunks stored from index 0 on, their hashes, and whether that is all of them. */
export interface WriteResult {
  complete: boolean;
  stored: number;
  hashes: string[];
  reason?: unknown;
}

/** Chunk puts a writer keeps in flight (memory: that many chunks). */
const PUTS_IN_FLIGHT = 4;

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Stores `body` (the object's bytes from chunk `first` on) as chunk entries, each put once it is
 * complete and hashed (SHA-256: the manifest's chunk hashes, so a chunked fill needs no second hash
 * pass). `hashes` are those of chunks `0 … first-1`, already stored. `ticks` gets one byte per chunk
 * stored — from 0, so a joiner of a resumed fill learns the stored prefix at once — and closes when
 * every chunk is stored (errors otherwise): the fill lock relays it to joiners (functions/fill-lock.ts).
 * Holds at most {@link PUTS_IN_FLIGHT} + 1 chunks in memory; reads the body only as fast as the
 * cache stores it.
 */
export function writeChunks(cache: Cache, o: ChunkedObject, body: ReadableStream<Uint8Array>, first: number, hashes: string[]): { ticks: ReadableStream<Uint8Array>; done: Promise<WriteResult> } {
  const total = chunkCount(o.layout);
  let tick!: ReadableStreamDefaultController<Uint8Array>;
  const ticks = new ReadableStream<Uint8Array>({ start: (c) => void (tick = c) });
  // The ticks are advisory (joiners learn progress from them): once their reader has gone — the
  // lock's relay cancelled or errored it — enqueue throws "Unable to enqueue", and that must not
  // fail the fill itself, whose chunks the next requests read from the cache anyway.
  let ticking = true;
  const tickOnce = (n: number) => {
    if (!ticking) return;
    try {
      tick.enqueue(new Uint8Array(n));
    } catch {
      ticking = false;
    }
  };
  if (first > 0) tickOnce(first);
  const cc = retention(o.head);
  const done = (async (): Promise<WriteResult> => {
    const reader = body.getReader();
    const out = [...hashes];
    let index = first;
    /** Chunks from index 0 on whose put resolved. */
    let stored = first;
    let buf = new Uint8Array(chunkLength(o.layout, index));
    let fill = 0;
    const inFlight: Promise<void>[] = [];
    let putFailed = false;
    const settleOldest = async () => {
      try {
        await inFlight.shift();
      } catch (e) {
        putFailed = true; // the stored prefix ends before this chunk
        throw e;
      }
      stored++;
      tickOnce(1);
    };
    try {
      while (index < total) {
        const { done: end, value } = await reader.read();
        if (end) throw new TruncatedBodyError(`body ended in chunk ${index} of ${total}`);
        let off = 0;
        while (off < value.byteLength) {
          if (index >= total) throw new TruncatedBodyError("body longer than its length");
          const n = Math.min(buf.byteLength - fill, value.byteLength - off);
          buf.set(value.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === buf.byteLength) {
            out.push(hex(await crypto.subtle.digest("SHA-256", buf)));
            const at = index;
            const put = cache.put(chunkKey(o.objectId, o.layout.chunkSize, at), chunkResponse(buf, cc));
            put.catch(() => {}); // observed below, in order
            inFlight.push(put);
            // A few puts overlap (measured in workerd: one at a time made a 256 MiB fill ~4× slower
            // than the whole-object path); ticks still go out in chunk order, once each put resolved.
            if (inFlight.length >= PUTS_IN_FLIGHT) await settleOldest();
            index++;
            fill = 0;
            if (index < total) buf = new Uint8Array(chunkLength(o.layout, index));
          }
        }
      }
      while (inFlight.length > 0) await settleOldest();
      // The fanout checked the total length; this read sees its clean end (or its error).
      const { done: end } = await reader.read();
      if (!end) throw new TruncatedBodyError("body longer than its length");
      if (ticking) tick.close();
      return { complete: true, stored, hashes: out };
    } catch (reason) {
      reader.cancel(reason).catch(() => {});
      // The chunks whose puts are in flight are complete: they count once they landed, in order.
      while (inFlight.length > 0 && !putFailed) {
        try {
          await settleOldest();
        } catch {
          break;
        }
      }
      if (ticking) tick.error(reason);
      return { complete: false, stored, hashes: out.slice(0, stored), reason };
    }
  })();
  return { ticks, done };
}

/**
 * Resolves `ready(i)` once `i + 1` ticks have arrived on `ticks` (a fill lock's relay of
 * {@link writeChunks}' ticks); rejects when the stream ends or errors before.
 */
export function tickGate(ticks: ReadableStream<Uint8Array>): (i: number) => Promise<void> {
  const reader = ticks.getReader();
  let seen = 0;
  let ended: unknown = null;
  let reading: Promise<void> | null = null;
  const more = () =>
    (reading ??= reader.read().then(
      ({ done, value }) => {
        reading = null;
        if (done) ended = new TruncatedBodyError(`fill ended after ${seen} chunks`);
        else seen += value.byteLength;
      },
      (e) => {
        reading = null;
        ended = e ?? new Error("fill failed");
      },
    ));
  return async (i) => {
    while (seen <= i) {
      if (ended !== null) throw ended;
      await more();
    }
  };
}
