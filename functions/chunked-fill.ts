/**
 * Filling a chunked object (functions/chunked-storage.ts) from the origin — a fresh fill, or one
 * that resumes a fill that was cut — and serving misses that join a chunked fill in progress.
 *
 * - The origin body is split by the bounded fanout into the leader's client and the chunk writer;
 *   the writer puts each chunk once complete and hashed, and its chunk count is relayed to joiners
 *   by the fill lock (one tick per chunk), who read those chunks from the cache as they appear.
 * - A clean end of every chunk commits the head (the object's key) and the manifest built from the
 *   writer's hashes. A cut fill writes a *partial record* (`partialKey(key)`): its head headers, how
 *   many chunks it stored and their hashes.
 * - The next miss of that key resumes: `Range: bytes=<first missing chunk>-` with `If-Range` = the
 *   stored validator. A 206 of exactly the rest continues the object (same object id, same chunk
 *   keys); a 200 means the origin object changed, and is filled from scratch like any answer.
 */
import { MAX_CHUNKS, type Manifest } from "../protocol/manifest";
import { buildManifest } from "./chunk-hasher";
import { chunkCount, chunkedBody, chunkedObject, headHeaders, rangeValidator, retention, writeChunks, type ChunkSource, type ChunkedObject, type WriteResult } from "./chunked-storage";
import type { Loaded, LoaderDeps } from "./content-loader";
import { clientHeaders, manifestKey, partialKey, revalidatedHeaders, storedHeaders, versionOf } from "./edge-cache";
import { outcomeObserver } from "./fill-commit";
import type { FillLead } from "./fill-join";
import { contentLength, manifestResponse, withLength } from "./fill-store";
import { fanout } from "./stream-fanout";

/** Bytes each fanout branch may queue. */
const BRANCH_BUFFER = 1 << 20;

/** An interrupted chunked fill: the object it was filling and the chunks `0 … stored-1` it kept. */
export interface PartialFill {
  object: ChunkedObject;
  stored: number;
  hashes: string[];
}

/**
 * The partial record under `key`, if it can be resumed: chunks of the configured size (the
 * manifest's), a validator for `If-Range`, hashes for every stored chunk.
 */
export async function readPartial(cache: Cache, key: string, chunkSize: number): Promise<PartialFill | null> {
  const res = await cache.match(partialKey(key));
  if (!res) return null;
  const object = chunkedObject(key, res.headers);
  const v = (await res.json().catch(() => null)) as { stored?: unknown; hashes?: unknown } | null;
  const stored = Number(v?.stored);
  const hashes = Array.isArray(v?.hashes) && v.hashes.every((x) => typeof x === "string" && /^[0-9a-f]{64}$/.test(x)) ? (v.hashes as string[]) : null;
  if (!object || !hashes || object.layout.chunkSize !== chunkSize || rangeValidator(object.head) === null) return null;
  if (!Number.isSafeInteger(stored) || stored < 1 || stored >= chunkCount(object.layout) || hashes.length !== stored) return null;
  return { object, stored, hashes };
}

/** Records a cut fill's stored chunks (or forgets the record when there is nothing to resume). */
async function writePartial(cache: Cache, o: ChunkedObject, w: WriteResult): Promise<void> {
  if (w.stored < 1 || rangeValidator(o.head) === null) {
    await cache.delete(partialKey(o.key));
    return;
  }
  const h = new Headers(o.head);
  h.set("content-type", "application/json");
  h.set("cache-control", retention(o.head));
  await cache.put(partialKey(o.key), new Response(JSON.stringify({ stored: w.stored, hashes: w.hashes }), { headers: h }));
}

/** The origin request headers that resume `p`: the rest of the object, if it is still the same one. */
export function resumeHeaders(p: PartialFill, base: Headers): Headers {
  const h = new Headers(base);
  h.set("range", `bytes=${p.stored * p.object.layout.chunkSize}-`);
  h.set("if-range", rangeValidator(p.object.head)!);
  return h;
}

/** Whether `res` is exactly the rest of the object `p` was filling (RFC 9110 §15.3.7, §14.4). */
export function resumes(res: Response, p: PartialFill): boolean {
  const { chunkSize, size } = p.object.layout;
  return res.status === 206 && res.headers.get("content-range") === `bytes ${p.stored * chunkSize}-${size - 1}/${size}`;
}

/** What a chunked fill needs to know besides the origin response. */
export interface ChunkedFillArgs {
  deps: LoaderDeps;
  /** The key the head is committed under. */
  key: string;
  /** The `/c/` path, for the manifest's `url`. */
  path: string;
  src: ChunkSource;
  lead: FillLead | null;
  /** Peers may share it (a single variant): hash for a manifest. */
  shared: boolean;
  /** The fill this one continues (its 206 is `res`). */
  resume?: PartialFill;
}

const emptyBody = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

function concat(a: ReadableStream<Uint8Array>, b: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let reader = a.getReader();
  let second = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        for (;;) {
          const { done, value } = await reader.read();
          if (!done) return c.enqueue(value);
          if (second) return c.close();
          second = true;
          reader = b.getReader();
        }
      },
      cancel(reason) {
        reader.cancel(reason).catch(() => {});
        if (!second) b.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Streams `res` (a 200 of an object at least `CHUNKED_STORAGE_MIN_BYTES` long, or the 206 that
 * resumes `args.resume`) to the client while storing it chunk by chunk.
 */
export function chunkedFill(args: ChunkedFillArgs, res: Response): Loaded {
  const { deps, key, src, lead, resume } = args;
  const { cache, cfg } = deps;
  const now = deps.now();
  let object: ChunkedObject;
  if (resume) {
    // The 206's fields refresh the stored ones, like a 304's (RFC 9111 §3.2); the bytes stay.
    object = { ...resume.object, head: headHeaders(revalidatedHeaders(resume.object.head, res.headers, now, cfg.staleKeepSeconds), resume.object.layout) };
  } else {
    const objectId = crypto.randomUUID();
    const layout = { chunkSize: cfg.chunkSize, size: contentLength(res.headers)! };
    object = { key, layout, objectId, head: headHeaders(storedHeaders(res.headers, now, cfg.staleKeepSeconds, objectId), layout) };
  }
  const { layout, objectId, head } = object;
  const first = resume?.stored ?? 0;
  const offset = first * layout.chunkSize;
  // The fanout counts the bytes (a short or long body errors every branch); the writer stores them.
  const counted = outcomeObserver({ chunk() {}, end() {}, fail() {} });
  const [toClient, toCache] = fanout(res.body ?? emptyBody(), 2, {
    highWaterMark: BRANCH_BUFFER,
    idleTimeoutMs: cfg.originTimeoutMs,
    deadlineMs: cfg.fill.deadlineMs,
    expectedLength: layout.size - offset,
    observer: counted.observer,
  }) as [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>];
  const writer = writeChunks(cache, object, toCache, first, resume?.hashes ?? []);
  // Without a lock nobody reads the ticks (one byte per chunk: they may queue).
  if (lead) deps.waitUntil(lead.feed(head, chunkCount(layout), writer.ticks, true));
  const meta = { url: `/c${args.path}`, version: versionOf(head), type: head.get("content-type") ?? "application/octet-stream" };
  const manifest: Promise<Manifest | null> = writer.done.then((w) =>
    w.complete && args.shared && w.hashes.length <= MAX_CHUNKS ? buildManifest(meta, layout.chunkSize, { chunks: w.hashes, size: layout.size }) : null,
  );
  deps.waitUntil(
    (async () => {
      const w = await writer.done;
      if (!w.complete) {
        console.warn("edge:fill-failed", key, `chunked, ${w.stored} of ${chunkCount(layout)} chunks stored`, String(w.reason));
        await lead?.abandon("origin body failed");
        await writePartial(cache, object, w);
        return;
      }
      // Every chunk is stored: joiners may end; then the head commits the object.
      await lead?.end(chunkCount(layout));
      await cache.put(key, new Response("", { status: 200, headers: head }));
      await cache.delete(partialKey(key));
      const m = await manifest;
      if (m) await cache.put(manifestKey(objectId, layout.chunkSize), manifestResponse(m, cfg.staleKeepSeconds));
    })()
      .catch((e) => console.warn("edge:store", key, e))
      .finally(() => lead?.release()),
  );
  const body = resume ? concat(chunkedBody(src, resume.object, 0, offset - 1), toClient) : toClient;
  const h = clientHeaders(head, now);
  h.set("content-length", String(layout.size));
  return { response: new Response(withLength(body, layout.size), { status: 200, headers: h }), cache: "MISS", ...(resume ? { originBytes: layout.size - offset } : {}), ...(args.shared ? { eligible: true } : { eligible: false, reason: "vary" }), objectId, manifest, key };
}
