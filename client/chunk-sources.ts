/**
 * Where a download gets bytes from, as contracts it can be tested against: the one {@link Source}
 * interface every source implements (the local store, each peer link, the edge — `sources.ts`), the
 * transports under them — the peers of a content's swarm ({@link PeerSource}, implemented by
 * `content-swarm.ts` over WebRTC and by fake peers in unit tests) and the edge ({@link EdgeFetch}, a
 * `Range` request) — and the clock ({@link SchedulerClock}). Nothing here touches the network.
 */
import type { Manifest } from "../protocol/manifest";
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

/** A chunk asked of a peer: its index and length in bytes. */
export interface ChunkWant {
  index: number;
  length: number;
}

/**
 * One request to one peer for a run of chunks (one REQUEST frame, `protocol/peer-frames.ts`): each
 * whole chunk goes to the request's `onChunk` as it completes; `done` resolves after the last.
 */
export interface PeerRequest {
  done: Promise<void>;
  /** Stops the transfer of what is left; `done` then rejects with code "cancelled" (or is ignored). */
  cancel(): void;
  /**
   * Keeps only the request's first `keep` chunks (≥ 1, more than it delivered): the peer drops the
   * rest unsent (a partial CANCEL) and `done` resolves after chunk `keep`.
   */
  trim(keep: number): void;
}

/** Peers of this content's swarm, as the scheduler sees them. */
export interface PeerSource {
  /** Connected, usable peers, best-ranked first. */
  peers(): readonly PeerInfo[];
  /** True while the swarm is being joined or links to its peers are being set up. */
  pending(): boolean;
  /** Asks `peerId` for `chunks` (strictly increasing, ≤ `MAX_REQUEST_CHUNKS`) in one request. */
  request(peerId: string, chunks: readonly ChunkWant[], onChunk: ChunkArrival): PeerRequest;
  /** Disconnects a peer that sent bad bytes and never uses it again. */
  ban(peerId: string, reason: string): void;
  /** Calls `listener` when peers or their chunks change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Asks the coordinator for peers holding these chunks (the source throttles). */
  want?(chunks: number[]): void;
  /** The {@link Source} of one of its peers (`peer-link-source.ts`: lives with the peer side). */
  source(peer: PeerInfo, manifest: Manifest): PeerChunkSource;
}

/** Fetches bytes `[start, end)` of the content from the edge (a `Range` request). */
export type EdgeFetch = (start: number, end: number, signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>;

/** The kinds of {@link Source}. */
export type SourceKind = "store" | "peer" | "edge";

/**
 * Takes one whole, not yet verified chunk from a source, in order. Resolves `false` to stop the
 * read (the rest is no longer wanted); awaiting it is the source's backpressure. A peer's chunk
 * also comes as `parts`, its DATA payloads in order ({@link ChunkArrival}).
 */
export type ChunkSink = (index: number, bytes: Uint8Array, parts?: readonly Uint8Array[]) => boolean | Promise<boolean>;

/**
 * One whole chunk of a peer request, as it completes: `bytes` assembled from its DATA frames, and
 * `parts`, those frames' payloads in order — views of the channel's messages, which nothing else
 * holds (absent where a source has no such payloads). Two owners, one allocation each: the store
 * may keep `bytes` while the reader gets `parts` (docs/client-core.md, "One buffer per owner").
 */
export type ChunkArrival = (index: number, bytes: Uint8Array, parts?: readonly Uint8Array[]) => void;

/**
 * A place chunks come from: the local store, one peer link, or the edge — "a source that holds every
 * chunk, over Range requests". The download core claims chunks in its task table and reads them
 * through this one interface; it verifies every chunk itself, whatever the source.
 *
 * @example
 * await source.read(3, 5, (i, bytes) => { take(i, bytes); return true; }, ctrl.signal);
 */
export interface Source {
  readonly kind: SourceKind;
  /** `"store"`, `"edge"`, or the peer's id. */
  readonly id: string;
  /** Whether this source can serve chunk `index` now (the edge: always). */
  has(index: number): boolean;
  /**
   * Reads chunks `[start, end)` in order into `sink`. Resolves when done or stopped (sink `false`,
   * `signal` aborted); rejects on a transport failure (peers: a {@link PeerRequestError}).
   */
  read(start: number, end: number, sink: ChunkSink, signal: AbortSignal): Promise<void>;
}

/**
 * A peer link as a source: besides contiguous reads it takes any strictly increasing list of
 * chunks in one request (rarest-first picks are rarely contiguous). The sink is called as each
 * chunk completes, without waiting for the previous call: the network does not stall on hashing.
 */
export interface PeerChunkSource extends Source {
  readonly kind: "peer";
  /** Reads `indices` (increasing) in runs; the source sets `tail.cut` while the read is open. */
  readList(indices: readonly number[], sink: ChunkSink, signal: AbortSignal, tail?: RunTail): Promise<void>;
}

/**
 * The reader's handle on the tail of a peer read: `cut(from)` drops the chunks from index `from` on
 * that the peer has not started sending (a partial CANCEL, `protocol/peer-frames.ts`); the read
 * then ends after the last chunk before `from`.
 */
export interface RunTail {
  cut?: (from: number) => void;
}

/** A chunk a download obtained and verified. */
export interface ChunkEvent {
  index: number;
  bytes: Uint8Array;
  source: SourceKind;
  peerId?: string;
}
