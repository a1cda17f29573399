/**
 * The chunk store a `Swarm` opens when it is given none: IndexedDB within a share of the browser's
 * storage quota (`navigator.storage.estimate()`), or memory where IndexedDB is unavailable.
 */
import { ChunkStore, MemoryChunkBackend, resolveQuota } from "./chunk-store";
import { DEFAULTS } from "./defaults";
import { IdbChunkBackend } from "./idb-chunk-backend";
import type { SwarmOptions } from "./swarm-options";

/**
 * The `store` option, else a store opened as above.
 * @example
 * const store = await openChunkStore({ edge, storeQuotaShare: 0.1 });
 */
export async function openChunkStore(o: Pick<SwarmOptions, "store" | "storeQuotaShare" | "storeMaxBytes">): Promise<ChunkStore> {
  if (o.store) return o.store;
  const nav = globalThis.navigator as Navigator | undefined;
  const quotaBytes = await resolveQuota({
    share: o.storeQuotaShare ?? DEFAULTS.storeQuotaShare,
    maxBytes: o.storeMaxBytes ?? DEFAULTS.storeMaxBytes,
    ...(nav?.storage?.estimate ? { estimate: () => nav.storage.estimate() } : {}),
  });
  try {
    return await ChunkStore.open(await IdbChunkBackend.open(), { quotaBytes });
  } catch {
    return ChunkStore.open(new MemoryChunkBackend(), { quotaBytes });
  }
}
