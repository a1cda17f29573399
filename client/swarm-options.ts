/**
 * The options of `createSwarm()` and of `swarm.fetch()`: the SDK's public configuration surface, kept
 * apart from the `Swarm` class that reads it.
 */
import type { PeerKind } from "../protocol/swarm-protocol";
import type { ChunkStore } from "./chunk-store";
import type { DownloadTuning } from "./defaults";
import type { FetchFn } from "./edge-client";
import type { RTCPeerConnectionCtor } from "./peer-link";
import type { SeedingPolicyOptions } from "./seeding-policy";
import type { WebSocketCtor } from "./swarm-client";

/** Options of {@link createSwarm}. */
export interface SwarmOptions {
  /** Edge origin, e.g. `"https://cdn.example"`. */
  edge: string;
  /**
   * `"relay"`: peer connections only through TURN relays (the edge issues TURN credentials when it
   * has a TURN key), so visitors never learn each other's IP addresses. Without TURN configured no
   * peer connects and everything comes from the edge. Default `"all"`.
   */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /**
   * Legacy: a chosen peer id (8–64 of `[A-Za-z0-9_-]`), sent to the edge as `?peer=`. Anyone who
   * learns it can take it over, and an edge with `PEER_KEY_REQUIRED` refuses it: prefer `peerKey`.
   */
  peerId?: string;
  /**
   * This peer's secret key (22–128 base64url characters), sent to the edge as `?key=`; the peer id
   * is derived from it (`pk_…`, see `peerIdFromKey` in protocol/peer-id.ts). Default: 16 random bytes per instance — per tab,
   * since two tabs sharing an id would push each other out of the swarm.
   */
  peerKey?: string;
  /**
   * Upload to other peers, for a visitor who never chose (default true). The visitor's choice
   * (`swarm.seeding = …`) is persisted per site and wins; uploads also stop while the device saves
   * data, is on a cellular/metered or 2g/3g link, on low battery, or hidden on mobile
   * (`seeding-policy.ts`, docs/privacy.md).
   */
  seed?: boolean;
  /**
   * Awaited before any peer connection or coordinator socket; `false` (or a rejection) keeps this
   * page edge-only. Content never waits for it: downloads that start before the answer use the edge.
   */
  consent?: () => boolean | Promise<boolean>;
  /** Thresholds of the seeding policy (`SEEDING_DEFAULTS`); `site` defaults to the edge origin. */
  seedingPolicy?: Omit<SeedingPolicyOptions, "seed" | "consent">;
  /** Concurrent uploads (default 4). */
  uploadSlots?: number;
  /** Upload rate cap, bytes/s (default 4 MiB/s; 0 = unlimited). */
  maxUploadBytesPerSec?: number;
  /** Share of the browser's storage quota for the chunk store (default 0.2). */
  storeQuotaShare?: number;
  /** Hard cap of the chunk store, bytes (default 1 GiB). */
  storeMaxBytes?: number;
  /** Deadline of one chunk requested from a peer, ms, before the edge takes it (default 4000). */
  chunkDeadlineMs?: number;
  /** How long a download waits for peers to connect before the edge takes over, ms (default 1500). */
  peerWaitMs?: number;
  /**
   * Advanced download-core knobs (`DEFAULTS` in `defaults.ts`, docs/client.md), e.g.
   * `{ startGraceMs: 0 }` for an edge-first fast start.
   */
  scheduler?: Partial<DownloadTuning>;
  /** Most peer links (default 8). */
  maxPeers?: number;
  /** Most coordinator sockets open at once (default 4; items of one collection share one). */
  maxCoordinatorSockets?: number;
  /** Recently held items whose swarms are re-joined on start to seed them (default 3). */
  rejoinRecent?: number;
  /** Peer kind announced to coordinators (default "browser"). */
  kind?: PeerKind;
  /** Injected transports (default: the platform's). `null` disables that transport. */
  fetch?: FetchFn;
  WebSocket?: WebSocketCtor | null;
  RTCPeerConnection?: RTCPeerConnectionCtor | null;
  /** A ready store (e.g. on disk in Node); default IndexedDB, else memory. */
  store?: ChunkStore;
  /**
   * Injected SHA-256 (lowercase hex), used to verify every chunk; default WebCrypto's
   * `crypto.subtle.digest`. Browsers run that digest off the main thread; Node runs it on the main
   * thread at about twice `node:crypto`'s cost (docs/client-core.md, "Peer path"), so Node hosts
   * (`supernode/`, the bench) pass `node:crypto`'s.
   */
  sha256?: (bytes: Uint8Array) => string | Promise<string>;
}

/** `fetch` options of {@link Swarm.fetch}: `RequestInit` plus an item deadline. */
export interface SwarmRequestInit extends RequestInit {
  /**
   * The whole response is due this many ms from now (e.g. a video segment's playback time):
   * peers keep what they can deliver by then, the edge takes the rest in time.
   */
  deadline?: number;
}

/** `RTC` with the `iceTransportPolicy` option forced into every connection's configuration. */
export function withIcePolicy(RTC: RTCPeerConnectionCtor, iceTransportPolicy: RTCIceTransportPolicy): RTCPeerConnectionCtor {
  // A plain function: `new` on it returns the object it returns (the real RTCPeerConnection).
  return function (config?: RTCConfiguration) {
    return new RTC({ ...config, iceTransportPolicy });
  } as unknown as RTCPeerConnectionCtor;
}
