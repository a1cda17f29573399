/**
 * The local chunk store and the edge as {@link Source}s (a peer link's is `peer-link-source.ts`, loaded
 * with the peer side). Each only moves bytes — claiming, verifying and the policies are the
 * download core's (`download.ts`).
 */
import { chunkLength, chunkRange, type Manifest } from "../protocol/manifest";
import type { ChunkStoreLike } from "./chunk-store";
import type { ChunkSink, EdgeFetch, Source } from "./chunk-sources";

/**
 * The local store as a source.
 * @example
 * storeSource(store, manifest).read(0, 1, sink, signal);
 */
export function storeSource(store: ChunkStoreLike, m: Manifest): Source {
  return {
    kind: "store",
    id: "store",
    has: (i) => store.has(m.root, i),
    async read(start, end, sink, signal) {
      for (let i = start; i < end && !signal.aborted; i++) {
        const bytes = await store.get(m.root, i);
        if (!bytes) throw new Error(`chunk ${i} is no longer stored`);
        if (signal.aborted || !(await sink(i, bytes))) return;
      }
    },
  };
}

/**
 * The edge as a source: it holds every chunk; a read of chunks `[start, end)` is one `Range` request
 * whose body is cut into chunks at their boundaries, whatever read sizes the network delivers.
 * Awaiting the sink between chunks stalls the TCP stream instead of buffering the whole run.
 *
 * @example
 * new EdgeSource(edgeFetch, manifest).read(0, 8, sink, ctrl.signal, () => t0 = now());
 */
export class EdgeSource implements Source {
  readonly kind = "edge" as const;
  readonly id = "edge";

  constructor(private readonly fetch: EdgeFetch, private readonly m: Manifest) {}

  has(): boolean {
    return true;
  }

  /** As {@link Source.read}; `opened` runs when the response arrived (body time starts there). */
  async read(start: number, end: number, sink: ChunkSink, signal: AbortSignal, opened?: () => void): Promise<void> {
    const m = this.m;
    const [byteStart] = chunkRange(m, start);
    const [, byteEnd] = chunkRange(m, end - 1);
    const reader = (await this.fetch(byteStart, byteEnd, signal)).getReader();
    opened?.();
    try {
      let pos = start;
      let buf = new Uint8Array(chunkLength(m, pos));
      let filled = 0;
      let pending: Uint8Array = new Uint8Array(0);
      while (pos < end && !signal.aborted) {
        if (!pending.length) {
          const { value, done } = await reader.read();
          if (done) throw new Error("edge response ended early");
          pending = value;
        }
        const n = Math.min(pending.length, buf.length - filled);
        buf.set(pending.subarray(0, n), filled);
        filled += n;
        pending = pending.subarray(n);
        if (filled < buf.length) continue;
        const i = pos++;
        if (!(await sink(i, buf))) return;
        if (pos < end) {
          buf = new Uint8Array(chunkLength(m, pos));
          filled = 0;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }
}
