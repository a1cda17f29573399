/**
 * Chunk bytes on disk for the Node supernode: the SDK's {@link ChunkBackend} over a folder, so the
 * SDK's own {@link ChunkStore} (quota + LRU by item) runs unchanged on top of it.
 *
 * Layout under `dir`:
 * - `items/<root>.json`       one {@link ItemRecord} per item (held chunks, bytes, last use)
 * - `chunks/<root>/<index>`   one file per verified chunk
 *
 * Every write goes to a temporary file first and is then renamed over the target: POSIX `rename(2)`
 * is atomic, so a crash leaves either the old or the new file, never a torn one. The chunk is
 * renamed into place before its record lists it, so a record never names a chunk that was not
 * written; `loadItems()` also drops chunks whose file is missing or has the wrong size (a disk
 * that lost files, or an operator who deleted some), so the index can only under-promise.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ChunkStore, type ChunkBackend, type ItemRecord } from "../client/chunk-store";

/** Roots are SHA-256 hex; anything else never becomes a path (no `..`, no separators). */
const SAFE_NAME = /^[A-Za-z0-9_-]{1,128}$/;

let tmpSeq = 0;

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

function isRecord(v: unknown): v is ItemRecord {
  const r = v as Partial<ItemRecord> | null;
  return (
    !!r && typeof r.root === "string" && SAFE_NAME.test(r.root) && typeof r.url === "string" &&
    Number.isSafeInteger(r.size) && r.size! >= 0 && Number.isSafeInteger(r.chunkSize) && r.chunkSize! > 0 &&
    typeof r.type === "string" && Array.isArray(r.chunks) && typeof r.lastUsed === "number"
  );
}

/** Byte length of chunk `index` of an item. */
function chunkLength(r: Pick<ItemRecord, "size" | "chunkSize">, index: number): number {
  return Math.max(0, Math.min(r.chunkSize, r.size - index * r.chunkSize));
}

/**
 * A {@link ChunkBackend} over a folder.
 *
 * @example
 * const backend = await DiskChunkBackend.open("/var/lib/edgeswarm");
 * const store = await ChunkStore.open(backend, { quotaBytes: 10 * 1024 ** 3 });
 */
export class DiskChunkBackend implements ChunkBackend {
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

  /**
   * Reads every record, keeping only chunks whose file exists with the expected size; bytes are
   * recomputed from what is really there. Unreadable records are skipped (their chunks are then
   * orphans, removed here too, so the folder does not grow past the quota across restarts).
   */
  async loadItems(): Promise<ItemRecord[]> {
    const out: ItemRecord[] = [];
    const names = await readdir(join(this.dir, "items")).catch(() => [] as string[]);
    const known = new Set<string>();
    for (const name of names) {
      if (name.endsWith(".tmp")) {
        await rm(join(this.dir, "items", name), { force: true }).catch(() => {});
        continue;
      }
      if (!name.endsWith(".json")) continue;
      let rec: unknown;
      try {
        rec = JSON.parse(await readFile(join(this.dir, "items", name), "utf8"));
      } catch {
        continue;
      }
      if (!isRecord(rec) || `${rec.root}.json` !== name) continue;
      const chunks: number[] = [];
      let bytes = 0;
      for (const i of new Set(rec.chunks)) {
        if (!Number.isSafeInteger(i) || i < 0 || i * rec.chunkSize >= rec.size) continue;
        const st = await stat(this.chunkFile(rec.root, i)).catch(() => undefined);
        if (!st || st.size !== chunkLength(rec, i)) continue;
        chunks.push(i);
        bytes += st.size;
      }
      chunks.sort((a, b) => a - b);
      known.add(rec.root);
      out.push({ ...rec, chunks, bytes });
    }
    // Chunk folders without a record (a crash between the chunk rename and the record write of a
    // new item, or a record lost): their bytes are unaccounted for, so remove them.
    for (const name of await readdir(join(this.dir, "chunks")).catch(() => [] as string[])) {
      if (!known.has(name)) await rm(join(this.dir, "chunks", name), { recursive: true, force: true }).catch(() => {});
    }
    return out;
  }

  async putChunk(root: string, index: number, bytes: Uint8Array, record: ItemRecord): Promise<void> {
    const file = this.chunkFile(root, index);
    await mkdir(this.chunkDir(root), { recursive: true });
    await writeAtomic(file, bytes);
    await this.putRecord(record);
  }

  async getChunk(root: string, index: number): Promise<Uint8Array | undefined> {
    try {
      const b = await readFile(this.chunkFile(root, index));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch {
      return undefined;
    }
  }

  async deleteItem(root: string, _chunks: readonly number[]): Promise<void> {
    // The record goes first: a crash in between leaves orphan chunks, which loadItems() removes.
    await rm(this.itemFile(root), { force: true });
    await rm(this.chunkDir(root), { recursive: true, force: true });
  }

  async putRecord(record: ItemRecord): Promise<void> {
    await writeAtomic(this.itemFile(record.root), JSON.stringify(record));
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
