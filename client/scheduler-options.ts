/**
 * What one download is given (`SchedulerOptions`: the content, its sources, callbacks) and the
 * tuning knobs with their defaults (docs/client.md, "Fixed internals"), resolved in one place so the
 * scheduler (`download-scheduler.ts`) reads plain numbers.
 */
import type { Manifest } from "../protocol/manifest";
import type { ByteSpan } from "./byte-span";
import type { ChunkStoreLike } from "./chunk-store";
import type { ChunkEvent, EdgeFetch, PeerSource, SchedulerClock } from "./chunk-sources";
import type { EdgeReason } from "./download-scheduler";
import type { EdgeLane } from "./edge-lane";

/** Options of one `DownloadScheduler` (`download-scheduler.ts`). */
export interface SchedulerOptions {
  manifest: Manifest;
  /** Bytes to emit; default the whole content. */
  range?: ByteSpan;
  edge: EdgeFetch;
  peers?: PeerSource;
  store?: ChunkStoreLike;
  clock?: SchedulerClock;
  /** Chunk verification; default SHA-256 via WebCrypto. */
  verify?: (bytes: Uint8Array, sha256: string) => Promise<boolean>;
  /** Per peer chunk request deadline, ms. Default 4000. */
  deadlineMs?: number;
  /** Requests in flight per peer (K). Default 3. */
  maxInFlightPerPeer?: number;
  /** Chunks ahead of the reader that may be fetched. Default 32. */
  window?: number;
  /** How near the reader a chunk a busy browser holds must be for a supernode to get it. Default 4. */
  supernodeReach?: number;
  /** Chunks at the start of the range fetched from the edge for a fast start. Default 1. */
  edgeStartChunks?: number;
  /**
   * How long the fast-start chunks wait for a linked peer that holds them, ms; such a peer is asked
   * first (deadline min(1000, `deadlineMs`)), the edge takes them when none turns up in time or the swarm
   * has answered without one. 0 (the default here) = always from the edge at once; the SDK
   * (`swarm.ts`) passes 300 (docs/client.md).
   */
  startGraceMs?: number;
  /** How long to wait for peers to connect before the edge takes chunks nobody holds. Default 1500. */
  peerWaitMs?: number;
  /** Longest edge Range request, chunks. Default 64. */
  edgeRunMax?: number;
  /** Concurrent edge requests. Default 2. */
  edgeConcurrency?: number;
  /** Peers' rate window for the edge lane, ms (`edge-lane.ts`). Default 1000. */
  laneWindowMs?: number;
  /** Longest edge-lane run, chunks. Default half the window. */
  laneRunMax?: number;
  /**
   * The edge lane opens only when the peers' pace would finish the range later than the edge alone
   * would have (from the start, at the measured edge rate) plus this much, ms. Default 0: measured
   * against a realistic edge (bench §1 and §2, docs/client.md) slack bought no offload and cost a
   * visitor up to the slack itself.
   */
  laneSlackMs?: number;
  /** Edge throughput measured by earlier downloads, bytes/ms (the lane's first estimate). */
  edgeRate?: number;
  /**
   * The edge lane of this download (`edge-lane.ts` {@link edgeLane}); none = no lane. The SDK's peer
   * side supplies it (loaded lazily with the peers), so pages without peers do not download it.
   */
  lane?: (t: SchedulerTuning) => EdgeLane;
  /** Edge failures tolerated before giving up (then `fallback`). Default 3. */
  edgeRetries?: number;
  /** After a fatal error: the plain edge bytes `[start, end)` to finish the stream with. */
  fallback?: (start: number, end: number) => Promise<ReadableStream<Uint8Array>>;
  /** A verified chunk; `why` says why the edge served it (`EdgeReason`, edge chunks only). */
  onChunk?(e: ChunkEvent & { why?: EdgeReason | undefined }): void;
  /** A chunk was written to the store (announce it). */
  onStored?(index: number): void;
  onHashFailure?(peerId: string, index: number): void;
  /** Called once when the download ends: completed, cancelled, aborted or failed. */
  onEnd?(): void;
}

/** The numeric knobs of {@link SchedulerOptions}, defaults applied. */
export type SchedulerTuning = Required<Pick<SchedulerOptions,
  "deadlineMs" | "maxInFlightPerPeer" | "window" | "supernodeReach" | "edgeStartChunks" | "peerWaitMs" |
  "edgeRunMax" | "edgeConcurrency" | "edgeRetries" | "laneWindowMs" | "laneRunMax" | "startGraceMs" |
  "laneSlackMs">>;

/**
 * Applies the defaults to `opts`' tuning knobs.
 *
 * @example
 * schedulerTuning({ manifest, edge }).window;           // 32
 * schedulerTuning({ manifest, edge, window: 8 }).laneRunMax; // 4 (half the window)
 */
export function schedulerTuning(opts: SchedulerOptions): SchedulerTuning {
  const window = opts.window ?? 32;
  const deadlineMs = opts.deadlineMs ?? 4000;
  return {
    deadlineMs, startGraceMs: opts.startGraceMs ?? 0,
    laneSlackMs: opts.laneSlackMs ?? 0, maxInFlightPerPeer: opts.maxInFlightPerPeer ?? 3, window,
    supernodeReach: opts.supernodeReach ?? 4,
    edgeStartChunks: opts.edgeStartChunks ?? 1, peerWaitMs: opts.peerWaitMs ?? 1500, edgeRunMax: opts.edgeRunMax ?? 64,
    edgeConcurrency: opts.edgeConcurrency ?? 2, edgeRetries: opts.edgeRetries ?? 3,
    laneWindowMs: opts.laneWindowMs ?? 1000, laneRunMax: opts.laneRunMax ?? Math.max(1, window >> 1),
  };
}
