/**
 * The IndexedDB chunk backend under the real ChunkStore, outside a browser: fake-indexeddb (a
 * complete IndexedDB in JS, transactions and structured clone included). Each test gets its own
 * IDBFactory, so databases never leak between tests; "reload" = a new backend and store over it.
 */
import "fake-indexeddb/auto";
import { IDBFactory } from "fake-indexeddb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChunkStore, resolveQuota, type ItemInfo } from "../../client/chunk-store";
import { IdbChunkBackend } from "../../client/idb-chunk-backend";

const CS = 1000;
const root = (n: number) => n.toString(16).padStart(64, "0");
const item = (n: number, chunks = 4): ItemInfo => ({ root: root(n), url: `/c/demo/${n}.bin`, size: chunks * CS, chunkSize: CS, type: "x/y" });
const chunk = (seed: number, n = CS) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

const open: IdbChunkBackend[] = [];
afterEach(() => {
  for (const b of open.splice(0)) b.close();
  vi.restoreAllMocks();
});

async function storeOver(idb: IDBFactory, quotaBytes = 1e6, now?: () => number): Promise<ChunkStore> {
  const backend = await IdbChunkBackend.open(idb);
  open.push(backend);
  return ChunkStore.open(backend, { quotaBytes, ...(now ? { now } : {}) });
}

/** Raw database contents, read over a second connection (what a reload would find). */
async function raw(idb: IDBFactory): Promise<{ chunkKeys: string[]; items: Record<string, unknown>[] }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = idb.open("edgeswarm");
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const tx = db.transaction(["chunks", "items"]);
  const get = <T,>(req: IDBRequest<T>) => new Promise<T>((resolve) => (req.onsuccess = () => resolve(req.result)));
  const [keys, items] = await Promise.all([get(tx.objectStore("chunks").getAllKeys()), get(tx.objectStore("items").getAll())]);
  db.close();
  return { chunkKeys: keys.map(String).sort(), items };
}

/** Writes values straight into the database, as an interrupted or older writer would have left them. */
async function plant(idb: IDBFactory, chunks: [string, Uint8Array][], items: object[]): Promise<void> {
  (await IdbChunkBackend.open(idb)).close(); // creates the schema
  const db = await new Promise<IDBDatabase>((resolve) => {
    const r = idb.open("edgeswarm");
    r.onsuccess = () => resolve(r.result);
  });
  const tx = db.transaction(["chunks", "items"], "readwrite");
  for (const [k, v] of chunks) tx.objectStore("chunks").put(v, k);
  for (const v of items) tx.objectStore("items").put(v);
  await new Promise((resolve) => (tx.oncomplete = resolve));
  db.close();
}

describe("IndexedDB chunk backend", () => {
  it("stores and reads bytes, and keeps them across a reload (new store over the same database)", async () => {
    const idb = new IDBFactory();
    const s = await storeOver(idb);
    for (const i of [0, 2, 3]) expect(await s.put(item(1), i, chunk(i))).toBe(true);
    expect(await s.get(root(1), 2)).toEqual(chunk(2));
    expect(await s.get(root(1), 1)).toBeUndefined();
    const again = await storeOver(idb);
    expect(again.held(root(1))).toEqual([0, 2, 3]);
    expect(again.usedBytes).toBe(3 * CS);
    for (const i of [0, 2, 3]) expect(await again.get(root(1), i)).toEqual(chunk(i));
    expect(again.info(root(1))).toMatchObject({ url: "/c/demo/1.bin", size: 4 * CS, chunkSize: CS, type: "x/y" });
    // The item record is metadata only: the chunk keys are the index.
    expect((await raw(idb)).items).toEqual([{ root: root(1), url: "/c/demo/1.bin", size: 4 * CS, chunkSize: CS, type: "x/y", lastUsed: expect.any(Number) }]);
  });

  it("stores a chunk that is a view into a larger buffer as just its own bytes", async () => {
    const idb = new IDBFactory();
    const s = await storeOver(idb);
    const download = new Uint8Array(64 * CS).fill(9);
    await s.put(item(1), 0, download.subarray(5 * CS, 6 * CS));
    const back = await (await storeOver(idb)).get(root(1), 0);
    expect(back).toEqual(new Uint8Array(CS).fill(9));
    expect(back!.buffer.byteLength).toBe(CS); // structured clone would have kept all 64 KB
  });

  it("evicts the least recently used item whole when over quota; a recently read item survives, also after a reload", async () => {
    const idb = new IDBFactory();
    let t = 0;
    const s = await storeOver(idb, 5 * CS, () => (t += 1000));
    for (const n of [1, 2]) for (const i of [0, 1]) await s.put(item(n), i, chunk(n));
    expect(await s.get(root(1), 1)).toEqual(chunk(1)); // item 1 is now the more recently used
    await s.put(item(3), 0, chunk(3));
    await s.put(item(3), 1, chunk(3)); // 6 chunks > 5: item 2 goes, whole
    expect(s.held(root(2))).toEqual([]);
    expect(s.held(root(1))).toEqual([0, 1]);
    expect(s.usedBytes).toBe(4 * CS);
    const db = await raw(idb);
    expect(db.chunkKeys.filter((k) => k.startsWith(root(2)))).toEqual([]);
    expect(db.items.map((r) => r.root).sort()).toEqual([root(1), root(3)]);
    // After a reload with a smaller quota, the read item still outranks the older one.
    t += 60_000;
    const small = await storeOver(idb, 2 * CS);
    expect(small.held(root(3))).toEqual([0, 1]);
    expect(small.held(root(1))).toEqual([]);
  });

  it("persists LRU order of two items used alternately to the second, without waiting for the 10 s refresh", async () => {
    const idb = new IDBFactory();
    let t = 0;
    const s = await storeOver(idb, 1e6, () => (t += 1000));
    await s.put(item(1), 0, chunk(1));
    await s.put(item(2), 0, chunk(2));
    await s.put(item(1), 1, chunk(1)); // 1 was used last, 2 s after its record was written
    const small = await storeOver(idb, 2 * CS);
    expect(small.held(root(1))).toEqual([0, 1]);
    expect(small.held(root(2))).toEqual([]);
  });

  it("takes its quota from a share of navigator.storage.estimate()", async () => {
    const idb = new IDBFactory();
    const quotaBytes = await resolveQuota({ share: 0.1, estimate: async () => ({ quota: 50 * CS, usage: 0 }) });
    expect(quotaBytes).toBe(5 * CS);
    const s = await storeOver(idb, quotaBytes);
    const results: boolean[] = [];
    for (let i = 0; i < 7; i++) results.push(await s.put(item(1, 7), i, chunk(i)));
    expect(results).toEqual([true, true, true, true, true, false, false]);
    expect((await raw(idb)).chunkKeys).toHaveLength(5);
  });

  it("keeps every chunk of concurrent puts, and never lets them overshoot the quota", async () => {
    const idb = new IDBFactory();
    const s = await storeOver(idb);
    const puts = [];
    for (let i = 0; i < 40; i++) puts.push(s.put(item(i % 2 ? 1 : 2, 20), i >> 1, chunk(i)));
    expect((await Promise.all(puts)).every(Boolean)).toBe(true);
    const again = await storeOver(idb);
    for (const n of [1, 2]) expect(again.held(root(n))).toHaveLength(20);
    expect(await again.get(root(1), 7)).toEqual(chunk(15));

    const idb2 = new IDBFactory();
    const tight = await storeOver(idb2, 3 * CS);
    const ok = await Promise.all([0, 1, 2, 3, 4].map((i) => tight.put(item(7, 10), i, chunk(i))));
    expect(ok.filter(Boolean)).toHaveLength(3);
    expect(tight.usedBytes).toBe(3 * CS);
    expect((await raw(idb2)).chunkKeys).toHaveLength(3);
  });

  it("recovers from a crash: a chunk without its item record is deleted, a listed chunk that is missing is never served", async () => {
    const idb = new IDBFactory();
    const meta = (n: number, chunks: number) => ({ root: root(n), url: `/c/demo/${n}.bin`, size: chunks * CS, chunkSize: CS, type: "x/y", lastUsed: 5 });
    await plant(
      idb,
      [
        [`${root(1)}/0`, chunk(0)], // item 1: chunk 0 stored; its (version-1) record also lists 1 and 2
        [`${root(1)}/01`, chunk(1)], // not a canonical key: never looked up, so garbage
        [`${root(1)}/9`, chunk(9)], // past the item's end
        [`${root(2)}/0`, chunk(2)], // item 2: chunk written, record never was (crash in between)
      ],
      [{ ...meta(1, 3), chunks: [0, 1, 2], bytes: 3 * CS }],
    );
    const s = await storeOver(idb);
    expect(s.held(root(1))).toEqual([0]);
    expect(s.usedBytes).toBe(CS);
    expect(await s.get(root(1), 1)).toBeUndefined();
    expect(await s.get(root(1), 0)).toEqual(chunk(0));
    expect(s.held(root(2))).toEqual([]);
    expect(await s.get(root(2), 0)).toBeUndefined();
    expect((await raw(idb)).chunkKeys).toEqual([`${root(1)}/0`]);
  });

  it("forgets a chunk for good: after a reload it is neither listed nor stored", async () => {
    const idb = new IDBFactory();
    const s = await storeOver(idb);
    for (const i of [0, 1]) await s.put(item(1), i, chunk(i));
    s.forget(root(1), 1); // e.g. its bytes failed re-verification
    const again = await storeOver(idb);
    expect(again.held(root(1))).toEqual([0]);
    expect((await raw(idb)).chunkKeys).toEqual([`${root(1)}/0`]);
  });

  /** Index bytes (item records written) and chunk records written while storing `n` chunks. */
  async function indexWrites(n: number, interleave: boolean): Promise<{ records: number; bytes: number; chunkPuts: number }> {
    const idb = new IDBFactory();
    let t = 0;
    // Interleaved, each use is 1 s after the last: the worst case, where every put rewrites the record.
    const s = await storeOver(idb, 1e9, () => (interleave ? (t += 1000) : t));
    const w = { records: 0, bytes: 0, chunkPuts: 0 };
    const put = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, "put").mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (this.name === "items") (w.records++, (w.bytes += JSON.stringify(value).length));
      else w.chunkPuts++;
      return put.call(this, value, key);
    });
    const big = { ...item(1), size: n * 16, chunkSize: 16 };
    for (let i = 0; i < n; i++) {
      await s.put(big, i, chunk(i, 16));
      // Another item used in between: the big one's record is then rewritten (LRU order) each time.
      if (interleave) await s.get(root(2), 0);
      if (interleave && i === 0) await s.put(item(2), 0, chunk(0, 16));
    }
    vi.restoreAllMocks();
    expect((await storeOver(idb, 1e9)).held(big.root)).toHaveLength(n);
    return w;
  }

  it("writes O(n) index bytes for an n-chunk item, even when every chunk must refresh its record", async () => {
    const alone = await indexWrites(2000, false);
    expect(alone.chunkPuts).toBe(2000);
    expect(alone.records).toBe(1); // written with the first chunk only
    const worst = await indexWrites(2000, true);
    const half = await indexWrites(1000, true);
    expect(worst.records).toBeLessThanOrEqual(2 * 2000 + 1);
    expect(worst.bytes).toBeLessThanOrEqual(2 * 2000 * 200); // ~150 B a record; a listed index would be ~10 MB
    expect(worst.bytes / half.bytes).toBeLessThan(2.2); // linear: 2x the chunks, 2x the bytes (quadratic: 4x)
  });
});
