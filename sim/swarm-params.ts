/**
 * What a swarm simulation run is given (`swarm-engine.ts` `runSwarm`): the population, the
 * workload (a Zipf catalogue, one viral item, or a stream on one collection swarm), the coordinator's
 * sharding and spill-over limits, and the client's piece, `want` and deadline parameters.
 */
import type { SpillBudgetLimits } from "../durable/spill-budget";
import type { PopulationParams } from "./world";

/**
 * A stream on one collection swarm (issue 14): `segments` items of `segmentBytes`, one every
 * `segmentS`. Viewers arrive uniformly over `arrivalS`, join the collection's swarm ONCE (one
 * socket for all segments), and fetch segments in order like a player: VOD from the first segment,
 * ahead of playback within `forwardBufferS`; live from `liveSyncSegments` behind the newest one,
 * each new segment when it appears (after a playlist refresh of up to 1 s). Links to other viewers
 * persist across segments (signalling is paid once per pair). After the last segment a viewer stays
 * (seeding) for an exponential `seedMeanS`, then leaves with `bye`.
 */
export interface StreamWorkload {
  kind: "stream";
  live: boolean;
  segments: number;
  segmentBytes: number;
  segmentS: number;
  arrivalS: number;
  forwardBufferS: number;
  liveSyncSegments: number;
  seedMeanS: number;
}

/** All parameters of a swarm run. */
export interface SwarmParams {
  seed: number;
  browsers: number;
  population: PopulationParams;
  workload:
    | { kind: "catalogue"; items: number; zipfS: number; sizeMedian: number; sizeSigma: number; populationFactor: number; sessionMeanS: number; thinkMeanS: number }
    | { kind: "flash"; itemBytes: number; rampS: number; seedMeanS: number }
    | StreamWorkload;
  /** Swarm shard: the edge's SHARD_BY (`continent` default; `colo` = the model's 18 metros; `global` = none). */
  shardBy: "continent" | "colo" | "global";
  /** Sockets per shard object before `swarm-full` (default `MAX_PEERS_PER_SHARD`). */
  maxPeersPerShard?: number;
  /** Objects per shard incl. sub-shard 0 (`MAX_SUBSHARDS`, default `DEFAULT_MAX_SUBSHARDS`; 1 = hard cap, no spill-over). */
  maxSubshards?: number;
  /** Sub-shards a spilled shard's joins spread over (`SPILL_WINDOW`, default the Worker's). */
  spillWindow?: number;
  /** The coordinator's request budget (`durable/spill-budget.ts`); null/absent: objects spill only when full. */
  spillBudget?: SpillBudgetLimits | null;
  /**
   * Also count the same frames per object as if objects were keyed by these shardings (frames per
   * peer barely depend on the sharding, so one run gives every sharding's object load).
   */
  alsoCount?: readonly ("global" | "continent" | "colo")[];
  pieceBytes: number;
  /** Picker window, pieces ahead of the first needed one. */
  window: number;
  /** Requests in flight per peer (K) and per download in total. */
  perPeerInflight: number;
  maxParallel: number;
  /** Peers in a `want` answer (MAX_PEERS_PER_ANSWER) and members sampled for ranking. */
  maxPeers: number;
  sampleSize: number;
  wantIntervalS: number;
  /** A peer piece not done after this many seconds is re-fetched from the edge. */
  deadlineS: number;
  edgeRate: number;
  edgeMaxRun: number;
  /** Items (by popularity rank) every supernode pins; 0 = none. */
  supernodePinTop: number;
  horizonS: number;
  warmupS: number;
  binS: number;
  /** Pieces are simulated coarser than the protocol's chunks; `have` frames are counted per chunk of this size. */
  messageChunkBytes: number;
}

