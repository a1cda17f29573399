/**
 * Chunk bytes on disk for the Node supernode: the SDK's {@link ChunkBackend} over a folder, so the
 * SDK's own {@link ChunkStore} (quota + LRU by item) runs unchanged on top of it.
 *
 * Layout under `dir`:
 * - `items/<root>.json`       one constant-size {@link ItemMeta} per item (info, last use)
 * - `chunks/<root>/<index>`   one file per verified chunk
 *
 * The chunk files are the index: no file lists them, so storing chunk k writes chunk k and, at
 * most, the small metadata file — O(1) index bytes per chunk. (An earlier layout kept the chunk
 * list in the item file and rewrote it with every chunk: O(n²) bytes for an n-chunk item; such
 * files still load, their list ignored.)
 *
 * Every write goes to a temporary file first and is then renamed over the target: POSIX `rename(2)`
 * is atomic, so a crash leaves either the old or the new file, never a torn one. `loadItems()` lists
 * only chunk files with the right name and size, deletes everything else in a chunk folder
 * (temporaries of an interrupted write, truncated files) and deletes chunk folders without
 * metadata (a crash between a new item's first chunk and its metadata): the index can only
 * under-promise, and what it does not list does not stay on disk.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ChunkStore, type ChunkBackend, type ItemMeta, type ItemRecord } from "../client/chunk-store";
import { chunkLength } from "../protocol/manifest";

/** Roots are SHA-256 hex; anything else never becomes a path (no `..`, no separators). */
const SAFE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** A chunk file's name: its index, canonical decimal (so one index has one file). */
const CHUNK_NAME = /^(0|[1-9]\d{0,14})$/;
/** Stats at once when loading (a 4 GiB item of 256 KiB chunks is 16k files). */
const STAT_BATCH = 64;

let tmpSeq = 0;

/** Whether a parsed metadata file is usable (operators edit folders; older versions wrote more fields). */
function isItemMeta(v: unknown): v is ItemMeta {
  const r = v as Partial<ItemMeta> | null;
  return (
    !!r && typeof r.root === "string" && SAFE_NAME.test(r.root) && typeof r.url === "string" &&
    Number.isSafeInteger(r.size) && r.size! >= 0 && Number.isSafeInteger(r.chunkSize) && r.chunkSize! > 0 &&
    typeof r.type === "string" && typeof r.lastUsed === "number"
  );
}

/** Just the {@link ItemMeta} fields (an older layout also stored a chunk list). */
function metaOf(r: ItemMeta): ItemMeta {
  return { root: r.root, url: r.url, size: r.size, chunkSize: r.chunkSize, type: r.type, lastUsed: r.lastUsed };
}

/** Writes `data` to `file` atomically (temp file in the same folder, then rename). */
async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/**
 * A {@link ChunkBackend} over a folder.
 *
 * @example
 * const backend = await DiskChunkBackend.open("/var/lib/edgeswarm");
 * const store = await ChunkStore.open(backend, { quotaBytes: 10 * 1024 ** 3 });
 */
export class DiskChunkBackend implements ChunkBackend {
  /** Pending write/delete per chunk file: they run in call order (fs calls may otherwise overtake). */
  private readonly queues = new Map<string, Promise<void>>();

  private constructor(readonly dir: string) {}

  /** Creates the folder layout if needed. */
  static async open(dir: string): Promise<DiskChunkBackend> {
    await mkdir(join(dir, "items"), { recursive: true });
    await mkdir(join(dir, "chunks"), { recursive: true });
    return new DiskChunkBackend(dir);
  }

  private itemFile(root: string): string {
    if (!SAFE_NAME.test(root)) throw new Error(`unsafe root name: ${JSON.stringify(root)}`);
    return join(this.dir, "items", `${root}.json`);
  }

  private chunkDir(root: string): string {
    if (!SAFE_NAME.test(root)) throw new Error(`unsafe root name: ${JSON.stringify(root)}`);
    return join(this.dir, "chunks", root);
  }

  private chunkFile(root: string, index: number): string {
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`bad chunk index ${index}`);
    return join(this.chunkDir(root), String(index));
  }

  /** Runs `op` after every earlier operation on the same file has settled. */
  private serial(file: string, op: () => Promise<void>): Promise<void> {
    const run = (this.queues.get(file) ?? Promise.resolve()).then(op, op);
    const tail = run.catch(() => {});
    this.queues.set(file, tail);
    void tail.then(() => this.queues.get(file) === tail && this.queues.delete(file));
    return run;
  }

  /**
   * Reads every metadata file and lists each item's chunk files, keeping those with the expected
   * size. Deletes stray files, unreadable metadata's chunks and chunk folders without metadata, so
   * the folder does not grow past the quota across restarts.
   */
  async loadItems(): Promise<ItemRecord[]> {
    const out: ItemRecord[] = [];
    const known = new Set<string>();
    for (const name of await readdir(join(this.dir, "items")).catch(() => [] as string[])) {
      const file = join(this.dir, "items", name);
      if (name.endsWith(".tmp")) {
        await rm(file, { force: true }).catch(() => {});
        continue;
      }
      if (!name.endsWith(".json")) continue;
      let meta: unknown;
      try {
        meta = JSON.parse(await readFile(file, "utf8"));
      } catch {
        continue;
      }
      if (!isItemMeta(meta) || `${meta.root}.json` !== name) continue;
      known.add(meta.root);
      out.push(await this.loadChunks(metaOf(meta)));
    }
    for (const name of await readdir(join(this.dir, "chunks")).catch(() => [] as string[])) {
      if (!known.has(name)) await rm(join(this.dir, "chunks", name), { recursive: true, force: true }).catch(() => {});
    }
    return out;
  }

  /** An item's record from its chunk folder; deletes files that are not a whole chunk of it. */
  private async loadChunks(meta: ItemMeta): Promise<ItemRecord> {
    const rec: ItemRecord = { ...meta, chunks: [], bytes: 0 };
    const dir = this.chunkDir(meta.root);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (let at = 0; at < names.length; at += STAT_BATCH) {
      await Promise.all(
        names.slice(at, at + STAT_BATCH).map(async (name) => {
          const index = Number(name);
          const want = CHUNK_NAME.test(name) ? chunkLength(meta, index) : 0;
          const st = want ? await stat(join(dir, name)).catch(() => undefined) : undefined;
          if (st?.isFile() && st.size === want) {
            rec.chunks.push(index);
            rec.bytes += want;
          } else await rm(join(dir, name), { recursive: true, force: true }).catch(() => {});
        }),
      );
    }
    rec.chunks.sort((a, b) => a - b);
    return rec;
  }

  async putChunk(root: string, index: number, bytes: Uint8Array, meta?: ItemMeta): Promise<void> {
    const file = this.chunkFile(root, index);
    await this.serial(file, async () => {
      await mkdir(this.chunkDir(root), { recursive: true });
      await writeAtomic(file, bytes);
    });
    // After the chunk: a crash in between leaves a chunk folder without metadata, deleted on load.
    if (meta) await this.putMeta(meta);
  }

  async getChunk(root: string, index: number): Promise<Uint8Array | undefined> {
    try {
      const b = await readFile(this.chunkFile(root, index));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch {
      return undefined;
    }
  }

  async deleteChunk(root: string, index: number): Promise<void> {
    const file = this.chunkFile(root, index);
    await this.serial(file, () => rm(file, { force: true }));
  }

  async deleteItem(root: string): Promise<void> {
    // The metadata goes first: a crash in between leaves orphan chunks, which loadItems() removes.
    await rm(this.itemFile(root), { force: true });
    await rm(this.chunkDir(root), { recursive: true, force: true });
  }

  async putMeta(meta: ItemMeta): Promise<void> {
    const file = this.itemFile(meta.root);
    await this.serial(file, () => writeAtomic(file, JSON.stringify(metaOf(meta))));
  }
}

/** Options of {@link openDiskChunkStore}. */
export interface DiskStoreOptions {
  /** Folder (created if missing). */
  dir: string;
  /** Byte budget; least recently used items are evicted beyond it. */
  quotaBytes: number;
  now?: () => number;
}

/**
 * The SDK's quota-bounded LRU {@link ChunkStore} over a folder. A quota smaller than what the
 * folder holds evicts on open.
 *
 * @example
 * const store = await openDiskChunkStore({ dir: "./seed-store", quotaBytes: 10 * 1024 ** 3 });
 * const swarm = createSwarm({ edge, store, ...nodeTransports() });
 */
export async function openDiskChunkStore(o: DiskStoreOptions): Promise<ChunkStore> {
  const backend = await DiskChunkBackend.open(o.dir);
  return ChunkStore.open(backend, { quotaBytes: o.quotaBytes, ...(o.now ? { now: o.now } : {}) });
}
