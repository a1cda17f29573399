/**
 * IPC between bench sections and SDK peer processes (sdk-peer-process.ts). One process can host
 * several SDK peers (independent `createSwarm` instances): commands and reports carry the `peer`
 * slot they address (default "": the one-peer case of the peer-path section).
 */

/** createSwarm options the bench varies. */
export interface SdkPeerOptions {
  maxUploadBytesPerSec?: number;
  uploadSlots?: number;
  chunkDeadlineMs?: number;
  peerWaitMs?: number;
  maxPeers?: number;
  seed?: boolean;
  /** Download-core knobs (createSwarm's `scheduler`), e.g. `{ laneSlackMs }`. */
  scheduler?: { laneSlackMs?: number };
}

/** Parent → SDK peer. */
export type SdkCommand =
  | { cmd: "open"; peer?: string; edge: string; peerId: string; options: SdkPeerOptions }
  | { cmd: "fetch"; peer?: string; url: string; expectSha256?: string }
  | { cmd: "close"; peer?: string }
  /** A plain HTTP GET of `url` (no SDK; a new connection, as a first visit), timed like a fetch. */
  | { cmd: "plain"; peer?: string; url: string; expectSha256?: string }
  /** The process's CPU time so far (all threads: JS and the WebRTC stack's own). */
  | { cmd: "cpu"; peer?: string };

/** Result of one `fetch`. */
export interface SdkFetchResult {
  ok: boolean;
  status: number;
  bytes: number;
  /** From the call to the first body byte, ms. */
  ttfbMs: number;
  /** From the call to the last body byte, ms. */
  totalMs: number;
  /** Bytes of this item from peers / from the edge, as the SDK's stats count them. */
  fromPeers: number;
  fromEdge: number;
  peersConnected: number;
  hashFailures: number;
  /** CPU time of the whole process during the fetch (user + system, all threads), ms. */
  cpuMs?: number;
  /** Garbage collection during the fetch: major (mark-compact) collections, and all pauses summed, ms. */
  gc?: { major: number; ms: number };
  /** Whether the body's SHA-256 equals the expected one (undefined if none given). */
  intact?: boolean;
  error?: string;
  /** BENCH_TIMELINE=1: the process's link, `[ms since the call, bytes received since]` (link-sampler.ts). */
  link?: [number, number][];
}

/** Result of one plain GET (`plain`). */
export interface PlainGetResult {
  status: number;
  bytes: number;
  /** From the request to the first body byte, ms. */
  ttfbMs: number;
  /** From the request to the last body byte, ms. */
  totalMs: number;
  /** The edge's cache status header (`X-Edgeswarm-Cache`: HIT / MISS), if any. */
  cache?: string;
  intact?: boolean;
  error?: string;
  /** BENCH_TIMELINE=1: as {@link SdkFetchResult.link}. */
  link?: [number, number][];
}

/** Totals of one SDK instance when it closes (swarm.stats()). */
export interface SdkTotals {
  fromPeers: number;
  fromEdge: number;
  uploaded: number;
  hashFailures: number;
}

/** SDK peer → parent. */
export type SdkReport =
  | { type: "opened"; peer: string }
  | ({ type: "fetched"; peer: string } & SdkFetchResult)
  | { type: "closed"; peer: string; totals: SdkTotals | null }
  | { type: "cpu"; peer: string; ms: number }
  | ({ type: "plained"; peer: string } & PlainGetResult)
  | { type: "fatal"; peer: string; message: string };

/** Type guard for one report type, optionally of one peer slot. */
export const isSdk =
  <T extends SdkReport["type"]>(type: T, peer?: string) =>
  (m: unknown): m is Extract<SdkReport, { type: T }> =>
    typeof m === "object" && m !== null && (m as { type?: unknown }).type === type &&
    (peer === undefined || (m as { peer?: unknown }).peer === peer);
