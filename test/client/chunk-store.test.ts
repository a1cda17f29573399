import { describe, expect, it } from "vitest";
import { ChunkStore, MemoryChunkBackend, resolveQuota, type ItemInfo, type ItemMeta } from "../../client/chunk-store";

const item = (n: number, size = 4000): ItemInfo => ({ root: String(n).padStart(64, "0"), url: `/c/demo/${n}.bin`, size, chunkSize: 1000, type: "x/y" });
const chunk = (fill: number, n = 1000) => new Uint8Array(n).fill(fill);

describe("chunk store", () => {
  it("stores, reads and lists held chunks; survives a reload over the same backend", async () => {
    const backend = new MemoryChunkBackend();
    let t = 0;
    const s = await ChunkStore.open(backend, { quotaBytes: 10_000, now: () => ++t });
    expect(await s.put(item(1), 0, chunk(1))).toBe(true);
    expect(await s.put(item(1), 3, chunk(3))).toBe(true);
    expect(s.has(item(1).root, 0)).toBe(true);
    expect(s.has(item(1).root, 1)).toBe(false);
    expect([...(await s.get(item(1).root, 3))!]).toEqual([...chunk(3)]);
    const reloaded = await ChunkStore.open(backend, { quotaBytes: 10_000 });
    expect(reloaded.held(item(1).root)).toEqual([0, 3]);
    expect(reloaded.usedBytes).toBe(2000);
    expect([...(await reloaded.get(item(1).root, 0))!]).toEqual([...chunk(1)]);
  });

  it("gives the seeder the stored bytes themselves (view) and everyone else a copy they own (get)", async () => {
    const backend = new MemoryChunkBackend();
    const s = await ChunkStore.open(backend, { quotaBytes: 10_000 });
    const given = chunk(7);
    expect(await s.put(item(1), 0, given)).toBe(true);
    given.fill(0); // the caller's buffer is not the store's
    const stored = backend.chunks.get(`${item(1).root}/0`)!;
    const view = (await s.view(item(1).root, 0))!;
    expect(view).toBe(stored); // no copy
    expect([...view]).toEqual([...chunk(7)]);
    const owned = (await s.get(item(1).root, 0))!;
    expect(owned).not.toBe(stored);
    owned.fill(9); // a reader may modify (or transfer) what get() returned
    expect([...(await s.view(item(1).root, 0))!]).toEqual([...chunk(7)]);
    expect(await s.view(item(1).root, 1)).toBeUndefined();
  });

  it("evicts whole least-recently-used items to stay within quota, never the item being written", async () => {
    const backend = new MemoryChunkBackend();
    let t = 0;
    const s = await ChunkStore.open(backend, { quotaBytes: 5000, now: () => ++t });
    for (const i of [0, 1]) await s.put(item(1), i, chunk(1));
    for (const i of [0, 1]) await s.put(item(2), i, chunk(2));
    await s.get(item(1).root, 0); // item 1 is now the most recently used
    await s.put(item(3), 0, chunk(3));
    expect(s.usedBytes).toBe(5000);
    await s.put(item(3), 1, chunk(3)); // over quota: item 2 (LRU) goes, whole
    expect(s.held(item(2).root)).toEqual([]);
    expect(s.held(item(1).root)).toEqual([0, 1]);
    expect(s.usedBytes).toBeLessThanOrEqual(5000);
    expect([...backend.chunks.keys()].some((k) => k.startsWith(item(2).root))).toBe(false);
    // An item larger than the quota evicts the others but keeps itself until it cannot fit.
    for (const i of [2, 3]) await s.put(item(3), i, chunk(3));
    expect(s.held(item(3).root)).toEqual([0, 1, 2, 3]);
    expect(s.held(item(1).root)).toEqual([]);
    expect(await s.put(item(3, 9000), 5, chunk(3))).toBe(true);
    expect(await s.put(item(3, 9000), 6, chunk(3))).toBe(false);
    expect(s.usedBytes).toBe(5000);
  });

  it("never overshoots the quota under concurrent puts", async () => {
    const s = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 3000 });
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => s.put(item(7, 10_000), i, chunk(i))));
    expect(results.filter(Boolean).length).toBe(3);
    expect(s.usedBytes).toBe(3000);
  });

  it("lists recently used items for re-joining swarms", async () => {
    let t = 0;
    const s = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 1e6, now: () => ++t });
    for (const n of [1, 2, 3]) await s.put(item(n), 0, chunk(n));
    s.touch(item(1).root);
    expect(s.recent(2).map((r) => r.url)).toEqual(["/c/demo/1.bin", "/c/demo/3.bin"]);
    expect(s.recent(5)[0]).toMatchObject({ root: item(1).root, chunks: [0], size: 4000, chunkSize: 1000 });
  });

  it("drops index entries whose bytes the backend lost, and applies a smaller quota on open", async () => {
    const backend = new MemoryChunkBackend();
    let t = 0;
    const s = await ChunkStore.open(backend, { quotaBytes: 1e6, now: () => ++t });
    for (const n of [1, 2]) for (const i of [0, 1]) await s.put(item(n), i, chunk(n));
    backend.chunks.delete(`${item(1).root}/1`);
    expect(await s.get(item(1).root, 1)).toBeUndefined();
    expect(s.held(item(1).root)).toEqual([0]);
    const small = await ChunkStore.open(backend, { quotaBytes: 2000 });
    expect(small.usedBytes).toBeLessThanOrEqual(2000);
    expect(small.held(item(2).root)).toEqual([0, 1]); // the most recent item stays
  });

  it("keeps LRU order across a reload for items that were only read", async () => {
    const backend = new MemoryChunkBackend();
    let t = 0;
    const s = await ChunkStore.open(backend, { quotaBytes: 1e6, now: () => t });
    t = 1;
    await s.put(item(1), 0, chunk(1));
    t = 2;
    await s.put(item(2), 0, chunk(2));
    t = 60_000;
    await s.get(item(1).root, 0); // item 1 is used again (played from the store), item 2 is not
    await Promise.resolve();
    const reloaded = await ChunkStore.open(backend, { quotaBytes: 1500, now: () => ++t });
    expect(reloaded.held(item(1).root)).toEqual([0]);
    expect(reloaded.held(item(2).root)).toEqual([]);
    expect(reloaded.recent(1)[0]!.root).toBe(item(1).root);
  });

  it("computes the quota as a capped share of the storage estimate", async () => {
    expect(await resolveQuota({ share: 0.2, estimate: async () => ({ quota: 1000 }) })).toBe(200);
    expect(await resolveQuota({ share: 0.5, maxBytes: 100, estimate: async () => ({ quota: 1000 }) })).toBe(100);
    expect(await resolveQuota({ fallbackBytes: 77, estimate: async () => { throw new Error("private mode"); } })).toBe(77);
    expect(await resolveQuota({ fallbackBytes: 77 })).toBe(77);
  });
});

/** A memory backend that records what the store asks it to write, and can hold chunk writes back. */
class WatchedBackend extends MemoryChunkBackend {
  metaWrites: (ItemMeta | undefined)[] = [];
  failNext = 0;
  hold: Promise<void> | undefined;
  override async putChunk(root: string, index: number, bytes: Uint8Array, meta?: ItemMeta): Promise<void> {
    this.metaWrites.push(meta);
    await this.hold;
    if (this.failNext > 0 && this.failNext--) throw new Error("disk full");
    return super.putChunk(root, index, bytes, meta);
  }
  override async putMeta(meta: ItemMeta): Promise<void> {
    this.metaWrites.push(meta);
    return super.putMeta(meta);
  }
}

describe("chunk store index writes", () => {
  it("writes an item's metadata with its first chunk only, not with every chunk", async () => {
    const backend = new WatchedBackend();
    const s = await ChunkStore.open(backend, { quotaBytes: 1e9, now: () => 5 });
    for (let i = 0; i < 100; i++) await s.put(item(1, 100_000), i, chunk(i));
    expect(backend.metaWrites.filter(Boolean)).toHaveLength(1);
    expect(backend.metaWrites[0]).toEqual({ root: item(1).root, url: "/c/demo/1.bin", size: 100_000, chunkSize: 1000, type: "x/y", lastUsed: 5 });
    expect(backend.records.get(item(1).root)!.chunks).toHaveLength(100);
  });

  it("refreshes the persisted lastUsed after 10 s of use, not per chunk", async () => {
    const backend = new WatchedBackend();
    let t = 0;
    const s = await ChunkStore.open(backend, { quotaBytes: 1e9, now: () => t });
    for (let i = 0; i < 100; i++) (await s.put(item(1, 100_000), i, chunk(i)), (t += 500));
    expect(backend.metaWrites.filter(Boolean).map((m) => m!.lastUsed)).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
  });

  it("a seeder reading two items in turn rewrites each record at most once a second, and keeps their order", async () => {
    const backend = new WatchedBackend();
    let t = 0;
    const s = await ChunkStore.open(backend, { quotaBytes: 1e9, now: () => t });
    for (const n of [1, 2]) (await s.put(item(n), 0, chunk(n)), (t += 500));
    backend.metaWrites = [];
    for (let k = 0; k < 400; k++) (await s.get(item(1 + (k % 2)).root, 0), (t += 10)); // 4 s of reads, 10 ms apart
    expect(backend.metaWrites.length).toBeGreaterThanOrEqual(4);
    expect(backend.metaWrites.length).toBeLessThanOrEqual(2 * 5);
    await s.get(item(1).root, 0);
    t += 1000;
    await s.get(item(1).root, 0); // item 1 used last
    const reloaded = await ChunkStore.open(backend, { quotaBytes: 1000 });
    expect(reloaded.held(item(1).root)).toEqual([0]);
  });

  it("re-sends the metadata with the next chunk when the write that carried it failed", async () => {
    const backend = new WatchedBackend();
    const s = await ChunkStore.open(backend, { quotaBytes: 1e9, now: () => 5 });
    backend.failNext = 1;
    expect(await s.put(item(1), 0, chunk(0))).toBe(false);
    expect(s.has(item(1).root, 0)).toBe(false);
    expect(await s.put(item(1), 1, chunk(1))).toBe(true);
    expect(backend.metaWrites.map(Boolean)).toEqual([true, true]);
    const reloaded = await ChunkStore.open(backend, { quotaBytes: 1e9 });
    expect(reloaded.held(item(1).root)).toEqual([1]);
  });

  it("leaves nothing behind of an item evicted while one of its chunks was being written", async () => {
    const backend = new WatchedBackend();
    let t = 0;
    const s = await ChunkStore.open(backend, { quotaBytes: 3000, now: () => ++t });
    await s.put(item(1), 0, chunk(1));
    let release!: () => void;
    backend.hold = new Promise((r) => (release = r));
    const slow = s.put(item(1), 1, chunk(1)); // held back in the backend
    for (const i of [0, 1]) void s.put(item(2), i, chunk(2)); // item 1 is older: evicted for these
    expect(s.held(item(1).root)).toEqual([]);
    backend.hold = undefined;
    release();
    expect(await slow).toBe(false);
    await new Promise((r) => setTimeout(r, 0));
    expect([...backend.chunks.keys()].filter((k) => k.startsWith(item(1).root))).toEqual([]);
    expect(backend.records.has(item(1).root)).toBe(false);
    expect((await ChunkStore.open(backend, { quotaBytes: 3000 })).held(item(2).root)).toEqual([0, 1]);
  });

  it("drops metadata of items whose chunks are all gone when opening", async () => {
    const backend = new MemoryChunkBackend();
    const s = await ChunkStore.open(backend, { quotaBytes: 1e6 });
    await s.put(item(1), 0, chunk(1));
    backend.chunks.clear();
    const reloaded = await ChunkStore.open(backend, { quotaBytes: 1e6 });
    expect(reloaded.recent(5)).toEqual([]);
    await new Promise((r) => setTimeout(r, 0));
    expect(backend.records.size).toBe(0);
  });
});
