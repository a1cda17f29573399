/**
 * Reading one edge `Range` response (a run of consecutive chunks) chunk by chunk: reassembles
 * chunk boundaries from whatever read sizes the network delivers, verifies each chunk against the
 * manifest, and hands it over. Reads no further than the caller allows (`room`), so a slow reader
 * stalls the TCP stream instead of buffering the whole run.
 */
import { chunkRange, type Manifest } from "../protocol/manifest";
import type { EdgeFetch } from "./chunk-sources";

/** One edge request in progress: chunks `[pos, end)` still to come. `end` may be cut short. */
export interface EdgeRun {
  pos: number;
  end: number;
  ctrl: AbortController;
  /** An edge-lane run (races slow peers, `edge-lane.ts`): not cut short while the lane is open. */
  lane?: boolean;
}

/** The edge sent bytes that do not match its own manifest (the content changed underneath). */
export class EdgeIntegrityError extends Error {
  override readonly name = "EdgeIntegrityError";
  constructor(readonly index: number) {
    super(`edge bytes of chunk ${index} do not match the manifest`);
  }
}

export interface EdgeRunDeps {
  manifest: Manifest;
  edge: EdgeFetch;
  verify(bytes: Uint8Array, sha256: string): Promise<boolean>;
  /** True once the download stopped: reading ends quietly. */
  stopped(): boolean;
  /** Resolves when chunk `index` may be read (it is inside the reader's window). */
  room(index: number): Promise<void>;
  /** The response arrived (headers): body time starts here, for the edge's rate. */
  opened?(): void;
  /** A verified chunk (`run.pos` has already moved past it). */
  deliver(index: number, bytes: Uint8Array): void;
}

/**
 * Reads `run` to its (possibly shortened) end. Rejects on a network error, a short body, or an
 * {@link EdgeIntegrityError}; the response body is cancelled either way.
 *
 * @example
 * await readEdgeRun({ pos: 3, end: 9, ctrl: new AbortController() }, deps);
 */
export async function readEdgeRun(run: EdgeRun, d: EdgeRunDeps): Promise<void> {
  const len = (i: number) => {
    const [a, b] = chunkRange(d.manifest, i);
    return b - a;
  };
  const [byteStart] = chunkRange(d.manifest, run.pos);
  const [, byteEnd] = chunkRange(d.manifest, run.end - 1);
  const reader = (await d.edge(byteStart, byteEnd, run.ctrl.signal)).getReader();
  d.opened?.();
  try {
    let buf = new Uint8Array(len(run.pos));
    let filled = 0;
    let pending: Uint8Array = new Uint8Array(0);
    while (run.pos < run.end && !d.stopped()) {
      await d.room(run.pos);
      if (d.stopped()) return;
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
      const i = run.pos;
      if (!(await d.verify(buf, d.manifest.chunks[i]!))) throw new EdgeIntegrityError(i);
      run.pos++;
      d.deliver(i, buf);
      if (run.pos < run.end) {
        buf = new Uint8Array(len(run.pos));
        filled = 0;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
