/**
 * A lying peer, made the way a real one would be: its chunk store hands back bytes that differ from
 * what was stored (a byte in the middle flipped), so everything it uploads fails the requester's
 * SHA-256 check. The SDK has no corrupting path of its own; tests build the liar from this.
 */
import { MemoryChunkBackend } from "../../../client/chunk-store";

/**
 * @example
 * const evil = createSwarm({ edge, store: await ChunkStore.open(new LyingChunkBackend(), { quotaBytes }) });
 */
export class LyingChunkBackend extends MemoryChunkBackend {
  override async getChunk(root: string, index: number): Promise<Uint8Array | undefined> {
    const bytes = await super.getChunk(root, index);
    if (bytes?.length) bytes[bytes.length >> 1]! ^= 0x55;
    return bytes;
  }
  /** The seeder's copy-free read lies too (a flipped copy: the stored bytes stay as stored). */
  override viewChunk(root: string, index: number): Uint8Array | undefined {
    const bytes = super.viewChunk(root, index)?.slice();
    if (bytes?.length) bytes[bytes.length >> 1]! ^= 0x55;
    return bytes;
  }
}
