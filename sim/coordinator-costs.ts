/**
 * What the protocol costs one coordinator object, as the swarm engine counts it: inbound frames per
 * protocol step, the SDK's `have` batching, the socket cap per shard and the SDK's retry schedule
 * when a shard is full. Taken from the real modules where they export the number.
 */
import { DEFAULT_LIMITS } from "../durable/swarm-limits";
import { COORDINATOR_HAVE_INTERVAL_MS } from "../client/content-swarm";

/** Default sockets per shard object: the coordinator's own `maxPeers` (MAX_PEERS_PER_SHARD). */
export const MAX_PEERS_PER_SHARD = DEFAULT_LIMITS.maxPeers;

/**
 * A refused peer (`swarm-full`, close 1013) retries like client/swarm-client.ts: 1 s × 2^(attempt + 4),
 * at most 30 s, jitter ×0.75–1.25; its download meanwhile runs from the edge alone.
 */
export const retryDelayS = (attempt: number, u: number) => Math.min(30, 2 ** (attempt + 4)) * (0.75 + u * 0.5);

/** Inbound frames to the coordinator per protocol step (protocol/swarm-protocol.ts). */
export const MSG = {
  /** `hello` when joining a swarm (a download, or re-joining a held item's swarm on load). */
  join: 1,
  /** `want` per peer-list refresh. */
  want: 1,
  /**
   * `signal` frames relayed per new peer connection: the offer and the answer, each held until the
   * browser's ICE gathering completes (host and server-reflexive candidates, one STUN round trip),
   * at most 200 ms (client/signal-batch.ts). A link whose gathering takes longer (a far or dead
   * STUN/TURN server) costs one more frame per side; not modelled. Without batching it was 6, with
   * a fixed 60 ms batch 4.
   */
  connect: 2,
  /** `have` per flush of the client's announce batch (see {@link HAVE_BATCH_S}). */
  have: 1,
  /** `stats` + `bye` when a download completes / a peer leaves. */
  stats: 1,
  bye: 1,
} as const;

/**
 * The SDK batches `have` announcements: the first stored chunk arms a 50 ms timer and every chunk
 * stored before it fires rides in the same frame (client/content-swarm.ts `announce`). The engine
 * replays that timer per download over the chunk arrival times of each transfer.
 */
export const HAVE_BATCH_S = 0.05;

/**
 * …and paces them to the coordinator: after an item's first `have`, at most one per
 * `COORDINATOR_HAVE_INTERVAL_MS`; the `have` completing the item goes at once (client/content-swarm.ts).
 */
export const HAVE_INTERVAL_S = COORDINATOR_HAVE_INTERVAL_MS / 1000;
