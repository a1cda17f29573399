/** IPC between bench sections and SDK peer processes (sdk-peer-process.ts). */

/** createSwarm options the bench varies. */
export interface SdkPeerOptions {
  maxUploadBytesPerSec?: number;
  uploadSlots?: number;
  chunkDeadlineMs?: number;
  peerWaitMs?: number;
  maxPeers?: number;
  seed?: boolean;
}

/** Parent → SDK peer. */
export type SdkCommand =
  | { cmd: "open"; edge: string; peerId: string; options: SdkPeerOptions }
  | { cmd: "fetch"; url: string; expectSha256?: string }
  | { cmd: "close" };

/** Result of one `fetch`. */
export interface SdkFetchResult {
  ok: boolean;
  status: number;
  bytes: number;
  /** From the call to the first body byte, ms. */
  ttfbMs: number;
  /** From the call to the last body byte, ms. */
  totalMs: number;
  fromPeers: number;
  fromEdge: number;
  peersConnected: number;
  hashFailures: number;
  /** Whether the body's SHA-256 equals the expected one (undefined if none given). */
  intact?: boolean;
  error?: string;
}

/** SDK peer → parent. */
export type SdkReport =
  | { type: "opened" }
  | ({ type: "fetched" } & SdkFetchResult)
  | { type: "closed" }
  | { type: "fatal"; message: string };

export const isSdk =
  <T extends SdkReport["type"]>(type: T) =>
  (m: unknown): m is Extract<SdkReport, { type: T }> =>
    typeof m === "object" && m !== null && (m as { type?: unknown }).type === type;
