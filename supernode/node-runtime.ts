/**
 * The SDK core on Node: the same `createSwarm()` the browser runs, given Node transports —
 * `node-datachannel/polyfill`'s `RTCPeerConnection` (libdatachannel), `ws` for the coordinator
 * socket, Node's `fetch` (undici), and a chunk store on disk or in memory. Nothing here
 * re-implements SDK logic; it only chooses transports and counts what they do.
 *
 * Platform notes:
 * - node-datachannel's `remoteDescription` getter is always truthy (it wraps whatever the native
 *   side returns). The SDK's `peer-link.ts` keeps its own "remote description set" flag and queues
 *   ICE candidates until then, so nothing is needed here.
 * - Node 20 has no global `WebSocket` (Node 22 has); `ws` is injected, never installed globally.
 * - libdatachannel runs its own threads; `shutdownNodeRuntime()` calls `cleanup()` so the process
 *   can exit once the swarm is closed.
 */
import { cleanup, initLogger } from "node-datachannel";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import WebSocket from "ws";
import { createHash } from "node:crypto";
import { ChunkStore, MemoryChunkBackend } from "../client/chunk-store";
import { Swarm, type SwarmOptions } from "../client/swarm";
import type { RTCPeerConnectionCtor } from "../client/peer-link";
import type { WebSocketCtor } from "../client/swarm-client";
import type { FetchFn } from "../client/edge-client";
import { SUPERNODE_KEY_HEADER } from "../protocol/swarm-protocol";
import { openDiskChunkStore } from "./disk-chunk-store";

/**
 * SHA-256 hex by `node:crypto`: Node's WebCrypto digest runs on the main thread at about twice the
 * cost (measured: ~1.5 vs ~0.6 ms CPU per MiB), and a supernode verifies every byte it downloads.
 *
 * @example
 * createSwarm({ edge, sha256: nodeSha256 });
 */
export const nodeSha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Socket counters of one runtime (for the supernode's stats line and tests). */
export interface SocketCounters {
  /** Coordinator sockets open now. */
  open: number;
  /** Sockets that reached `open`, ever (first joins + reconnections). */
  opened: number;
  /** Sockets that closed after being open (edge restarts, drops, leaves). */
  dropped: number;
  /** Attempts that never opened (edge unreachable). */
  failed: number;
}

/** Globals the SDK core uses that a Node runtime must provide. */
const REQUIRED_GLOBALS = ["fetch", "Response", "Headers", "ReadableStream", "EventTarget", "CustomEvent", "atob", "btoa"] as const;

/**
 * Throws with a clear message when this Node lacks something the SDK core needs (Node ≥ 20 has all).
 *
 * @example
 * assertNodeRuntime();
 */
export function assertNodeRuntime(g: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): void {
  const missing: string[] = REQUIRED_GLOBALS.filter((n) => typeof g[n] !== "function");
  const c = g.crypto as Crypto | undefined;
  if (typeof c?.getRandomValues !== "function" || typeof c.subtle?.digest !== "function") missing.push("crypto.subtle");
  if (missing.length) throw new Error(`edgeswarm supernode: this runtime lacks ${missing.join(", ")} (Node >= 20 is required)`);
}

/**
 * A `WebSocket` constructor over `ws` that counts connections, with a handshake timeout so an
 * edge that accepts TCP but never answers does not hang a reconnection forever.
 */
export function countingWebSocket(counters: SocketCounters, handshakeTimeoutMs = 10_000): WebSocketCtor {
  class CountingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { handshakeTimeout: handshakeTimeoutMs });
      let wasOpen = false;
      this.addEventListener("open", () => {
        wasOpen = true;
        counters.open++;
        counters.opened++;
      });
      this.addEventListener("close", () => {
        if (wasOpen) {
          counters.open--;
          counters.dropped++;
        } else counters.failed++;
      });
      // ws emits "error" as an event; without a listener on the EventEmitter side it would throw.
      this.on("error", () => {});
    }
  }
  // ws's event objects carry the fields the SDK reads (data, code, reason); its types differ from
  // the DOM's only nominally.
  return CountingWebSocket as unknown as WebSocketCtor;
}

/** Options of {@link createNodeSwarm}: SDK options without transports, plus where chunks live. */
export interface NodeSwarmOptions extends Omit<SwarmOptions, "RTCPeerConnection" | "WebSocket" | "store" | "kind"> {
  /** Chunk store folder; undefined = in memory. */
  storeDir?: string | undefined;
  /** A ready store instead (tests: a store that lies about its chunks); `storeDir` is then ignored. */
  store?: ChunkStore;
  /** Store budget, bytes (default 1 GiB). */
  quotaBytes?: number;
  /** Announced kind (default "supernode"; Node load peers in tests may say "browser"). */
  kind?: SwarmOptions["kind"];
  /** libdatachannel log level (default "Error"). */
  logLevel?: "Verbose" | "Debug" | "Info" | "Warning" | "Error" | "Fatal";
  /**
   * The edge's supernode credential (default `$EDGESWARM_SUPERNODE_KEY`): shown to `/m/` so the join
   * token lets this node say `kind: "supernode"` (the coordinator refuses that kind otherwise).
   */
  supernodeKey?: string | undefined;
}

/** A swarm running on Node, with what the runtime adds. */
export interface NodeSwarm {
  swarm: Swarm;
  store: ChunkStore;
  sockets: SocketCounters;
  /** The fetch this node's requests to the edge go through (shows the supernode key to `/m/`). */
  edgeFetch: FetchFn;
  /** Closes the swarm (bye to coordinators, links closed). Idempotent. */
  close(): void;
}

let loggerSet = false;

/**
 * Creates the SDK's swarm with Node transports and a disk (or memory) chunk store.
 *
 * @example
 * const { swarm, close } = await createNodeSwarm({ edge: "https://cdn.example", storeDir: "./store", quotaBytes: 10 * 1024 ** 3 });
 * const res = await swarm.fetch("/c/demo/video.mp4"); await res.arrayBuffer();
 * // …seeds until close()
 */
export async function createNodeSwarm(o: NodeSwarmOptions): Promise<NodeSwarm> {
  assertNodeRuntime();
  if (!loggerSet) {
    loggerSet = true;
    // node-datachannel 0.33's native initLogger throws "Function expected" without a callback,
    // although its typings mark the callback optional.
    initLogger(o.logLevel ?? "Error", (level, msg) => process.stderr.write(`libdatachannel ${level}: ${msg}\n`));
  }
  const quotaBytes = o.quotaBytes ?? 1024 ** 3;
  const store = o.store ?? (o.storeDir
    ? await openDiskChunkStore({ dir: o.storeDir, quotaBytes })
    : await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes }));
  const sockets: SocketCounters = { open: 0, opened: 0, dropped: 0, failed: 0 };
  const { storeDir: _dir, quotaBytes: _q, logLevel: _l, supernodeKey: _k, store: _s, ...sdk } = o;
  const kind = o.kind ?? "supernode";
  const key = o.supernodeKey ?? process.env.EDGESWARM_SUPERNODE_KEY;
  const base: FetchFn = o.fetch ?? globalThis.fetch.bind(globalThis);
  const fetch: FetchFn = kind === "supernode" && key ? withSupernodeKey(base, key) : base;
  const swarm = new Swarm({
    ...sdk,
    fetch,
    kind,
    store,
    RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
    WebSocket: countingWebSocket(sockets),
    sha256: nodeSha256,
  });
  await swarm.ready; // swarm.peerId is known from here on (a key-derived id takes a digest)
  let closed = false;
  return {
    swarm,
    store,
    sockets,
    edgeFetch: fetch,
    close() {
      if (closed) return;
      closed = true;
      swarm.close();
    },
  };
}

/** `base` with the supernode key shown on `/m/` requests only (nothing else needs it). */
function withSupernodeKey(base: FetchFn, key: string): FetchFn {
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!/^\/m\//.test(new URL(url, "http://x").pathname)) return base(input, init);
    const headers = new Headers(init?.headers);
    headers.set(SUPERNODE_KEY_HEADER, key);
    return base(input, { ...init, headers });
  };
}

/**
 * Releases libdatachannel's threads so the process can exit. Call once, after every swarm of the
 * process is closed (links close asynchronously: give them a moment first).
 *
 * @example
 * node.close(); await new Promise((r) => setTimeout(r, 200)); shutdownNodeRuntime();
 */
export function shutdownNodeRuntime(): void {
  try {
    cleanup();
  } catch {
    // nothing native was started
  }
}
