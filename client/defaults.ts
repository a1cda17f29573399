/** The SDK's default upload cap, bytes/s: also the pace the edge lane expects of a peer it has not measured. */
const UPLOAD_CAP_BYTES_PER_SEC = 4 * 1024 * 1024;

/**
 * Every default of the SDK in one object: the options of `createSwarm` and the download core's
 * tuning. docs/client.md explains each number and the measurement behind it; code reads them only
 * from here, so a default has one value.
 */
export const DEFAULTS = {
  /** Links to other peers. */
  maxPeers: 8,
  /**
   * Coordinator sockets open at once: one per swarm (a collection — a stream, a route's assets — or
   * an item of its own); past it the least recently used swarm is left with `bye`.
   */
  maxCoordinatorSockets: 4,
  /** Item URLs whose tallies `stats().contents` keeps (oldest dropped first): flat memory on long streams. */
  trackedItems: 512,
  /** Concurrent uploads. */
  uploadSlots: 4,
  /** Upload rate cap, bytes/s (0 = unlimited). */
  maxUploadBytesPerSec: UPLOAD_CAP_BYTES_PER_SEC,
  /** Share of the browser's storage quota for the chunk store. */
  storeQuotaShare: 0.2,
  /** Hard cap of the chunk store, bytes. */
  storeMaxBytes: 1024 ** 3,
  /** Recently held items whose swarms are re-joined on start. */
  rejoinRecent: 3,
  /** A manifest answer is reused this long, ms. */
  manifestTtlMs: 60_000,
  /**
   * Largest cold item (`/m/` answered 202) whose streamed bytes are kept aside to be verified and
   * seeded once the manifest exists, bytes; larger ones are streamed and not seeded.
   */
  coldCopyMaxBytes: 64 * 1024 * 1024,
  /**
   * How long such a kept copy waits for the manifest after its last byte, ms: `/m/` is asked again
   * at once, then after its `retryAfter` (doubling, each wait ≤ 8 s) while it still answers pending.
   * The edge hashes a large item while it stores it (chunked storage puts and promotes 128 entries
   * for 32 MiB), so its manifest can follow the body by seconds; giving up sooner left the first
   * viewers of a new item unable to seed it.
   */
  coldSeedWaitMs: 60_000,

  /** Deadline of one chunk asked of a peer, ms, before the edge takes it. */
  chunkDeadlineMs: 4000,
  /** Deadline of a fast-start chunk asked of a peer, ms (the edge would have sent it at once). */
  startChunkDeadlineMs: 1000,
  /**
   * Most chunks in flight per peer (K), asked for in runs of at least K/2 (one request each): a
   * fast peer's K is what it sends in `peerQueueMs`, up to this — 16 × 256 KiB keeps ≥ 2 MiB queued
   * at a 60 MiB/s seeder when its next run arrives (docs/client-core.md, "Peer path").
   */
  maxInFlightPerPeer: 16,
  /**
   * Chunks in flight per peer before its first chunk, and the least K of a slow one: a slow peer's
   * queue is the tail an item waits for at its end.
   */
  slowPeerInFlight: 3,
  /**
   * A peer's K is what it delivers in this long at its measured rate (≥ `slowPeerInFlight`, ≤
   * `maxInFlightPerPeer`), ms: its queue covers a request's round trip and drains within about this.
   */
  peerQueueMs: 250,
  /** Chunks ahead of the reader that may be fetched. */
  window: 32,
  /** How near the reader a chunk a busy browser holds must be for a supernode to get it. */
  supernodeReach: 4,
  /** Chunks at the start of a range fetched for a fast start. */
  edgeStartChunks: 1,
  /**
   * How long the fast-start chunks wait for a linked peer holding them, ms (bench §1: a linked
   * holder is found within it, and the edge costs one RTT more when none is).
   */
  startGraceMs: 300,
  /** How long to wait for peers to connect before the edge takes chunks nobody holds, ms. */
  peerWaitMs: 1500,
  /** Longest edge Range request, chunks. */
  edgeRunMax: 64,
  /** Concurrent edge requests of one download. */
  edgeConcurrency: 2,
  /** Edge failures in a row tolerated before the plain-edge fallback. */
  edgeRetries: 3,
  /** Peers' rate window of the edge lane, and the window the visitor's link is measured over, ms. */
  laneWindowMs: 1000,
  /**
   * A peer's pace the edge lane expects before the peer has shown one (and before this instance
   * saw a faster one), bytes/ms: the SDK's own upload cap (`maxUploadBytesPerSec`, 4 MiB/s).
   */
  assumedPeerBytesPerMs: UPLOAD_CAP_BYTES_PER_SEC / 1000,
  /**
   * How long after a download's start the edge lane expects links still connecting to deliver, ms
   * (bench §2: links open 260–415 ms after the mesh creates them; the start grace is 300 ms).
   */
  assumedLinkMs: 400,
  /** The lane opens only when peers would finish later than the edge alone plus this, ms. */
  laneSlackMs: 0,
  /** A peer that answered `busy` is not asked again for this long, ms. */
  busyBackoffMs: 250,
  /**
   * Edge throughput assumed for item deadlines before one was measured, bytes/ms (50 Mbit/s): when
   * the edge must start for the rest of an item to arrive by its deadline.
   */
  assumedEdgeBytesPerMs: 6250,
} as const;

/** The download core's knobs (a subset of {@link DEFAULTS}), as numbers. */
export type DownloadTuning = {
  -readonly [K in "chunkDeadlineMs" | "startChunkDeadlineMs" | "maxInFlightPerPeer" | "slowPeerInFlight" | "peerQueueMs" | "window" | "supernodeReach" |
    "edgeStartChunks" | "startGraceMs" | "peerWaitMs" | "edgeRunMax" | "edgeConcurrency" | "edgeRetries" |
    "laneWindowMs" | "laneSlackMs" | "busyBackoffMs" | "assumedEdgeBytesPerMs" | "assumedPeerBytesPerMs" | "assumedLinkMs"]: number;
} & {
  /** Longest edge-lane run, chunks (default the window: the lane sizes each run to the edge's share of it). */
  laneRunMax: number;
};

/**
 * The tuning of one download: {@link DEFAULTS} overridden by `given`.
 * @example
 * downloadTuning({ window: 8 }).laneRunMax; // 8 (the window)
 */
export function downloadTuning(given: Partial<DownloadTuning> = {}): DownloadTuning {
  const window = given.window ?? DEFAULTS.window;
  // The other DEFAULTS ride along unread: one spread is smaller in the first-load bundle than a list.
  return { ...DEFAULTS, laneRunMax: window, ...stripUndefined(given), window };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
