/**
 * Tunables of the swarm coordinator, with their defaults. `maxPeers` comes from the
 * `MAX_PEERS_PER_SHARD` var; the rest are constants an instance may override (tests do, through
 * `runInDurableObject`).
 */
import { MAX_ANSWER_BYTES } from "../protocol/swarm-protocol";

/** Limits and timings of one coordinator object. */
export interface SwarmLimits {
  /** Most sockets (joined or joining) per shard; the next gets `swarm-full` and close 1013. */
  maxPeers: number;
  /** Token bucket per socket: sustained frames per second… */
  ratePerSecond: number;
  /** …and burst. */
  rateBurst: number;
  /** Strikes (invalid frames, rate-limit episodes) before close 1008. */
  maxBadFrames: number;
  /** A socket that has not said `hello` after this long is closed by the alarm. */
  helloTimeoutMs: number;
  /** Alarm period while sockets are connected (prune, reconcile, roll up). */
  alarmIntervalMs: number;
  /** Peers that sent `want` within this window hear `peer-have` about new holders… */
  peerHaveWindowMs: number;
  /** …at most this many per `have` (bounded fan-out). */
  peerHaveFanout: number;
  /** Per-peer counters of peers offline and silent this long are folded into the totals. */
  statsRetentionMs: number;
  /** Buffered `stats` frames reach SQLite at most this long after the first one (alarm). */
  statsFlushMs: number;
  /** Largest `peers` answer, bytes of JSON (at most the protocol's, below the client's parse limit). */
  maxAnswerBytes: number;
  /**
   * Peers remembered per member as "told about" (answers, `peer-have`, signals; the most recent
   * ones), whose `peer-left` it will hear (`leave-audience.ts`): bounds that record.
   */
  leaveAudienceCap: number;
  /** Chunk indices per extra token a `want`/`have` costs (a frame naming n indices costs 1 + ⌊n / this⌋). */
  indicesPerToken: number;
  /** Connects per peer id (i.e. per join token): sustained per second… */
  connectPerSecond: number;
  /** …and burst. Past it the object answers 429 `rate-limited` without a socket. */
  connectBurst: number;
  /** Signals relayed TO one member, in units of 1 + KiB per frame: sustained per second… */
  signalUnitsPerSecond: number;
  /** …and burst. Past it the sender gets `target-busy` and the frame is dropped. */
  signalUnitsBurst: number;
  /** Fastest a peer can move bytes, bytes/s: bounds `uploaded` (by time since its socket connected). */
  maxPeerBytesPerSecond: number;
  /** `fromPeers` and `fromEdge` are each bounded by this many copies of the item. */
  maxDownloadCopies: number;
}

/**
 * Defaults (50 frames/s, burst 100; 20 strikes; hello within 30 s; 10 connects per peer id then one
 * per 5 s; ≤ 256 KiB/s of signals to one member, burst 1 MiB; counters ≤ 2 items down, ≤ 1 Gbit/s up).
 */
export const DEFAULT_LIMITS: Readonly<SwarmLimits> = {
  maxPeers: 2000,
  ratePerSecond: 50,
  rateBurst: 100,
  maxBadFrames: 20,
  helloTimeoutMs: 30_000,
  alarmIntervalMs: 120_000,
  peerHaveWindowMs: 30_000,
  peerHaveFanout: 8,
  statsRetentionMs: 3_600_000,
  statsFlushMs: 2000,
  maxAnswerBytes: MAX_ANSWER_BYTES,
  leaveAudienceCap: 128,
  indicesPerToken: 64,
  connectPerSecond: 0.2,
  connectBurst: 10,
  signalUnitsPerSecond: 256,
  signalUnitsBurst: 1024,
  maxPeerBytesPerSecond: 125_000_000,
  maxDownloadCopies: 2,
};

/**
 * Limits for an object from its environment.
 * @example
 * limitsFromEnv({ MAX_PEERS_PER_SHARD: "500" }).maxPeers; // 500
 */
export function limitsFromEnv(env: { MAX_PEERS_PER_SHARD?: string }): SwarmLimits {
  const n = Number(env.MAX_PEERS_PER_SHARD);
  // 32,768 hibernatable sockets per object is the platform ceiling.
  const maxPeers = Number.isSafeInteger(n) && n > 0 ? Math.min(n, 32_768) : DEFAULT_LIMITS.maxPeers;
  return { ...DEFAULT_LIMITS, maxPeers };
}
