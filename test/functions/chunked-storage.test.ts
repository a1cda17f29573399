/**
 * Issue 13 item 7: objects of at least CHUNKED_STORAGE_MIN_BYTES are stored as chunk entries plus a
 * head (functions/chunked-storage.ts). A small threshold (1 MiB, chunks of 256 KiB) proves the path
 * against the real Node fault origin: bytes, origin hits (and the Range requests it saw), statuses,
 * headers; Range hits read only their chunks (a chunk deleted outside the range costs nothing); a cut
 * fill resumes with `Range` + `If-Range`, and a changed object restarts.
 */
import { describe, expect, it } from "vitest";
import { computeRoot, type ManifestResponse } from "../../protocol/manifest";
import { CHUNKED, OBJECT_ID, chunkKey, contentKey, manifestKey, partialKey } from "../../functions/edge-cache";
import { FAULT_ORIGIN, callFault, faultHits } from "./fault-client";
import { changedBytes, faultBytes } from "./fault-origin/server";
import { sameBytes, sha256 } from "./origin-stub";

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 256 * KiB;
/** 17 chunks, the last one short. */
const SIZE = 4 * MiB + 1000;
const PURGE_TOKEN = "chunked-purge-token";
const SETTINGS = { CHUNKED_STORAGE_MIN_BYTES: String(MiB), PURGE_TOKEN };

// tsconfig's DOM lib shadows workers-types' `CacheStorage`, which is where `default` lives.
const cache = () => (caches as unknown as { default: Cache }).default;
const get = (path: string, init?: RequestInit, extra: Record<string, string> = {}) => callFault(`/c/fault${path}`, init, { ...SETTINGS, ...extra });
const keyOf = (path: string) => contentKey(new URL(`${FAULT_ORIGIN}${path.slice(1)}`));
const ranges = async (path: string) => (await (await fetch(`${FAULT_ORIGIN}__ranges${path}`)).json()) as (string | null)[];

async function head(path: string): Promise<Headers> {
  const h = await cache().match(keyOf(path));
  expect(h).toBeDefined();
  await h!.body?.cancel();
  return h!.headers;
}

async function chunkHashes(data: Uint8Array): Promise<string[]> {
  const out: string[] = [];
  for (let off = 0; off < data.byteLength; off += CHUNK) out.push(await sha256(data.slice(off, off + CHUNK)));
  return out;
}

describe("chunked storage", () => {
  it("stores a large object as chunk entries and a head; hits are byte-identical with one origin fetch", async () => {
    const path = `/ok/${SIZE}/${crypto.randomUUID()}.bin`;
    const miss = await get(path);
    expect(miss.res.status).toBe(200);
    expect(miss.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(miss.res.headers.get("content-length")).toBe(String(SIZE));
    expect(miss.error).toBeNull();
    expect(sameBytes(miss.bytes, faultBytes(SIZE))).toBe(true);
    const h = await head(path);
    expect(h.get(CHUNKED)).toBe(`${CHUNK}/${SIZE}`);
    const id = h.get(OBJECT_ID)!;
    for (let i = 0; i < 17; i++) {
      const c = await cache().match(chunkKey(id, CHUNK, i));
      expect(c, `chunk ${i}`).toBeDefined();
      expect((await c!.arrayBuffer()).byteLength).toBe(i < 16 ? CHUNK : 1000);
    }
    const hit = await get(path);
    expect(hit.res.status).toBe(200);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hit.res.headers.get("content-length")).toBe(String(SIZE));
    expect(hit.res.headers.get("etag")).toBe('"fault-v1"');
    expect(hit.res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(hit.res.headers.get("age")).toMatch(/^\d+$/);
    for (const internal of [CHUNKED, OBJECT_ID]) expect(hit.res.headers.has(internal)).toBe(false);
    expect(sameBytes(hit.bytes, faultBytes(SIZE))).toBe(true);
    expect(await faultHits(path)).toBe(1);
  });

  it("an object below the threshold stays one entry (control)", async () => {
    const path = `/ok/${MiB - 1}/${crypto.randomUUID()}.bin`;
    expect((await get(path)).error).toBeNull();
    const h = await head(path);
    expect(h.has(CHUNKED)).toBe(false);
    expect(h.get("content-length")).toBe(String(MiB - 1));
  });

  it("Range hits read only their chunks; a missing chunk is refetched alone, with If-Range", async () => {
    const path = `/ok/${SIZE}/${crypto.randomUUID()}.bin`;
    const all = faultBytes(SIZE);
    await get(path);
    const id = (await head(path)).get(OBJECT_ID)!;
    // Chunks 0 and 5 are gone (evicted, say).
    expect(await cache().delete(chunkKey(id, CHUNK, 0))).toBe(true);
    expect(await cache().delete(chunkKey(id, CHUNK, 5))).toBe(true);
    // A range in chunks 2–3 does not touch them: no origin request.
    const a = await get(path, { headers: { range: `bytes=${2 * CHUNK + 10}-${3 * CHUNK + 20}` } });
    expect(a.res.status).toBe(206);
    expect(a.res.headers.get("content-range")).toBe(`bytes ${2 * CHUNK + 10}-${3 * CHUNK + 20}/${SIZE}`);
    expect(a.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(sameBytes(a.bytes, all.subarray(2 * CHUNK + 10, 3 * CHUNK + 21))).toBe(true);
    // The last bytes (chunk 16, short): still no origin request.
    const tail = await get(path, { headers: { range: "bytes=-500" } });
    expect(tail.res.status).toBe(206);
    expect(sameBytes(tail.bytes, all.subarray(SIZE - 500))).toBe(true);
    expect(await faultHits(path)).toBe(1);
    // A range that needs chunk 5: that chunk alone comes from the origin.
    const b = await get(path, { headers: { range: `bytes=${5 * CHUNK + 100}-${5 * CHUNK + 199}` } });
    expect(b.res.status).toBe(206);
    expect(sameBytes(b.bytes, all.subarray(5 * CHUNK + 100, 5 * CHUNK + 200))).toBe(true);
    expect(await faultHits(path)).toBe(2);
    expect((await ranges(path))[1]).toBe(`bytes=${5 * CHUNK}-${6 * CHUNK - 1}`);
    // The whole object: chunk 0 is refetched too, chunk 5 was stored again.
    const full = await get(path);
    expect(full.error).toBeNull();
    expect(sameBytes(full.bytes, all)).toBe(true);
    expect(await ranges(path)).toEqual([null, `bytes=${5 * CHUNK}-${6 * CHUNK - 1}`, `bytes=0-${CHUNK - 1}`]);
    const again = await get(path);
    expect(sameBytes(again.bytes, all)).toBe(true);
    expect(await faultHits(path)).toBe(3);
  });

  it("HEAD and conditional requests read no chunk", async () => {
    const path = `/ok/${SIZE}/${crypto.randomUUID()}.bin`;
    await get(path);
    const id = (await head(path)).get(OBJECT_ID)!;
    for (let i = 0; i < 17; i++) await cache().delete(chunkKey(id, CHUNK, i));
    const h = await get(path, { method: "HEAD" });
    expect(h.res.status).toBe(200);
    expect(h.res.headers.get("content-length")).toBe(String(SIZE));
    expect(h.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    const nm = await get(path, { headers: { "if-none-match": '"fault-v1"' } });
    expect(nm.res.status).toBe(304);
    expect(await faultHits(path)).toBe(1);
  });

  it("a cut fill keeps its chunks; the next request resumes with Range + If-Range, byte-identical, and /m/ certifies it", async () => {
    const path = `/cut/${SIZE}/${crypto.randomUUID()}.bin`;
    const all = faultBytes(SIZE);
    const first = await get(path);
    expect(first.res.status).toBe(200);
    expect(first.error).not.toBeNull();
    expect(first.bytes.byteLength).toBeLessThan(SIZE);
    // Not served as complete: no head, a partial record.
    expect(await cache().match(keyOf(path))).toBeUndefined();
    const partial = await cache().match(partialKey(keyOf(path)));
    expect(partial).toBeDefined();
    const { stored } = (await partial!.json()) as { stored: number };
    const cutAt = Math.floor(SIZE * 0.6) + 123;
    expect(stored).toBeGreaterThan(0);
    expect(stored * CHUNK).toBeLessThanOrEqual(cutAt);
    const second = await get(path);
    expect(second.res.status).toBe(200);
    expect(second.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(second.error).toBeNull();
    expect(sameBytes(second.bytes, all)).toBe(true);
    expect(await ranges(path)).toEqual([null, `bytes=${stored * CHUNK}-`]);
    const hit = await get(path);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(sameBytes(hit.bytes, all)).toBe(true);
    expect(await faultHits(path)).toBe(2);
    expect(await cache().match(partialKey(keyOf(path)))).toBeUndefined();
    // The manifest covers every chunk, the resumed ones included.
    const m = await callFault(`/m/fault${path}?peer=chunked-resume`, undefined, SETTINGS);
    expect(m.res.status).toBe(200);
    const json = JSON.parse(new TextDecoder().decode(m.bytes)) as ManifestResponse;
    const want = await chunkHashes(all);
    expect(json.manifest.chunks).toEqual(want);
    expect(json.manifest.root).toBe(await computeRoot(want));
    expect(await faultHits(path)).toBe(2);
  });

  it("a cut fill of an object that changed meanwhile restarts (If-Range fails): the new bytes, never a splice", async () => {
    const path = `/changed/${SIZE}/${crypto.randomUUID()}.bin`;
    const first = await get(path);
    expect(first.error).not.toBeNull();
    const second = await get(path);
    expect(second.res.status).toBe(200);
    expect(second.error).toBeNull();
    expect(second.res.headers.get("etag")).toBe('"fault-v2"');
    expect(sameBytes(second.bytes, changedBytes(SIZE))).toBe(true);
    const r = await ranges(path);
    expect(r).toHaveLength(2);
    expect(r[1]).toMatch(/^bytes=\d+-$/);
    const hit = await get(path);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(sameBytes(hit.bytes, changedBytes(SIZE))).toBe(true);
    expect(await faultHits(path)).toBe(2);
  });

  for (const fault of ["reset", "short", "stall"] as const) {
    it(`${fault}: a large body that is not whole is never served or stored as complete`, async () => {
      const path = `/${fault}/${SIZE}/${crypto.randomUUID()}.bin`;
      for (let i = 0; i < 2; i++) {
        const r = await get(path, undefined, { ORIGIN_TIMEOUT_MS: "1000" });
        if (r.res.status === 200) expect(r.error).not.toBeNull();
        else expect(r.res.status).toBeGreaterThanOrEqual(500);
        expect(r.bytes.byteLength).toBeLessThan(SIZE);
      }
      const h = await get(path, { method: "HEAD" }, { ORIGIN_TIMEOUT_MS: "1000" });
      expect(h.res.headers.get("x-edgeswarm-cache")).not.toBe("HIT");
      const m = await callFault(`/m/fault${path}?peer=chunked-${fault}`, undefined, { ...SETTINGS, ORIGIN_TIMEOUT_MS: "1000" });
      expect(m.res.status).not.toBe(200);
    });
  }

  it("20 concurrent misses of a chunked object: 1 origin fetch, joiners read the chunks as they are stored (no relay)", { timeout: 120_000 }, async () => {
    const path = `/slow/${SIZE}/${crypto.randomUUID()}.bin`;
    const all = faultBytes(SIZE);
    // FILL_RELAY_MAX_BYTES 0: the in-memory relay is off, so only the chunk path can coalesce them.
    const results = await Promise.all(Array.from({ length: 20 }, () => get(path, undefined, { FILL_RELAY_MAX_BYTES: "0", ORIGIN_TIMEOUT_MS: "15000" })));
    expect(await faultHits(path)).toBe(1);
    for (const r of results) {
      expect(r.res.status).toBe(200);
      expect(r.error).toBeNull();
      expect(r.res.headers.get("content-length")).toBe(String(SIZE));
      expect(sameBytes(r.bytes, all)).toBe(true);
    }
    expect((await get(path, { method: "HEAD" })).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(await faultHits(path)).toBe(1);
  });

  it("joiners of a chunked fill that is cut all see an error, never a clean end; the next request resumes it", { timeout: 60_000 }, async () => {
    const path = `/cut/${SIZE}/${crypto.randomUUID()}.bin`;
    const results = await Promise.all(Array.from({ length: 5 }, () => get(path, undefined, { FILL_RELAY_MAX_BYTES: "0", ORIGIN_TIMEOUT_MS: "15000" })));
    for (const r of results) {
      if (r.res.status === 200) expect(r.error).not.toBeNull();
      else expect(r.res.status).toBeGreaterThanOrEqual(500);
      expect(r.bytes.byteLength).toBeLessThan(SIZE);
    }
    // Coalesced: all five arrive long before the cut (a paced body, then 300 ms), so one fill.
    expect(await faultHits(path)).toBe(1);
    const next = await get(path);
    expect(next.error).toBeNull();
    expect(sameBytes(next.bytes, faultBytes(SIZE))).toBe(true);
    expect((await ranges(path))[1]).toMatch(/^bytes=\d+-$/);
  });

  it("purge by URL and by prefix: the next request refetches, the old chunks are unreachable", async () => {
    const dir = crypto.randomUUID();
    const path = `/ok/${SIZE}/${dir}/a.bin`;
    await get(path);
    const oldId = (await head(path)).get(OBJECT_ID)!;
    const purge = (body: unknown) =>
      callFault("/purge", { method: "POST", headers: { authorization: `Bearer ${PURGE_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) }, SETTINGS);
    expect((await purge({ urls: [`/c/fault${path}`] })).res.status).toBe(200);
    const a = await get(path);
    expect(a.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(sameBytes(a.bytes, faultBytes(SIZE))).toBe(true);
    expect(await faultHits(path)).toBe(2);
    const newId = (await head(path)).get(OBJECT_ID)!;
    expect(newId).not.toBe(oldId);
    expect((await purge({ prefixes: [`/c/fault/ok/${SIZE}/${dir}/`] })).res.status).toBe(200);
    const b = await get(path);
    expect(b.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(sameBytes(b.bytes, faultBytes(SIZE))).toBe(true);
    expect(await faultHits(path)).toBe(3);
    expect((await head(path)).get(OBJECT_ID)).not.toBe(newId);
  });

  it("a cold /m/ answers 202 at once and fills the chunks in the background; then the manifest (one origin fetch)", async () => {
    const path = `/ok/${SIZE}/${crypto.randomUUID()}.bin`;
    const cold = await callFault(`/m/fault${path}?peer=chunked-cold`, undefined, SETTINGS);
    expect(cold.res.status).toBe(202);
    expect(JSON.parse(new TextDecoder().decode(cold.bytes))).toMatchObject({ status: "pending", size: SIZE });
    const m = await callFault(`/m/fault${path}?peer=chunked-cold`, undefined, SETTINGS);
    expect(m.res.status).toBe(200);
    const json = JSON.parse(new TextDecoder().decode(m.bytes)) as ManifestResponse;
    expect(json.manifest.chunks).toEqual(await chunkHashes(faultBytes(SIZE)));
    expect((await head(path)).get(CHUNKED)).toBe(`${CHUNK}/${SIZE}`);
    expect(await faultHits(path)).toBe(1);
  });

  it("/m/ of a chunked object whose manifest is gone hashes the stored chunks (no origin request)", async () => {
    const path = `/ok/${SIZE}/${crypto.randomUUID()}.bin`;
    await get(path);
    const id = (await head(path)).get(OBJECT_ID)!;
    expect(await cache().delete(manifestKey(id, CHUNK))).toBe(true);
    const pending = await callFault(`/m/fault${path}?peer=chunked-rehash`, undefined, SETTINGS);
    expect(pending.res.status).toBe(202);
    const m = await callFault(`/m/fault${path}?peer=chunked-rehash`, undefined, SETTINGS);
    expect(m.res.status).toBe(200);
    const json = JSON.parse(new TextDecoder().decode(m.bytes)) as ManifestResponse;
    expect(json.manifest.size).toBe(SIZE);
    expect(json.manifest.chunks).toEqual(await chunkHashes(faultBytes(SIZE)));
    expect(await faultHits(path)).toBe(1);
  });
});
