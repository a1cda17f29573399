/**
 * Where the download scheduler gets bytes from, as contracts it can be tested against: the peers
 * of a content's swarm ({@link PeerSource}, implemented by `content-swarm.ts` over WebRTC and by fake
 * peers in unit tests), the edge ({@link EdgeFetch}, a `Range` request) and the clock
 * ({@link SchedulerClock}). Nothing here touches the network.
 */
import type { PeerKind } from "../protocol/swarm-protocol";

/** Timers as the scheduler needs them (injected so tests run on a fake clock). */
export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The platform's timers. */
export const realClock: SchedulerClock = {
  now: () => (globalThis.performance ? performance.now() : Date.now()),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A connected peer that can serve this content. */
export interface PeerInfo {
  id: string;
  has(index: number): boolean;
  /** Browser or supernode, as the coordinator's `peers` frames said; absent when unknown. */
  kind?: PeerKind;
}

/** Why a peer request failed. */
export type PeerRequestErrorCode = "busy" | "not-found" | "unavailable" | "gone" | "protocol" | "cancelled" | "internal";

/**
 * The one error type of peer requests.
 *
 * @example
 * if (err instanceof PeerRequestError && err.code === "busy") backOff(peerId);
 */
export class PeerRequestError extends Error {
  override readonly name = "PeerRequestError";
  constructor(readonly code: PeerRequestErrorCode, message: string = code) {
    super(message);
  }
}

/** One chunk requested from one peer: resolves with the whole chunk's (unverified) bytes. */
export interface PeerRequest {
  done: Promise<Uint8Array>;
  /** Stops the transfer; `done` then rejects with code "cancelled" (or is ignored). */
  cancel(): void;
}

/** Peers of this content's swarm, as the scheduler sees them. */
export interface PeerSource {
  /** Connected, usable peers, best-ranked first. */
  peers(): readonly PeerInfo[];
  /** True while the swarm is being joined or links to its peers are being set up. */
  pending(): boolean;
  request(peerId: string, index: number, length: number): PeerRequest;
  /** Disconnects a peer that sent bad bytes and never uses it again. */
  ban(peerId: string, reason: string): void;
  /** Calls `listener` when peers or their chunks change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Asks the coordinator for peers holding these chunks (the source throttles). */
  want?(chunks: number[]): void;
}

/** Fetches bytes `[start, end)` of the content from the edge (a `Range` request). */
export type EdgeFetch = (start: number, end: number, signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>;

/** A chunk the scheduler obtained and verified. */
export interface ChunkEvent {
  index: number;
  bytes: Uint8Array;
  source: "peer" | "edge" | "store";
  peerId?: string;
}
