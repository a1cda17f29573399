/**
 * Messages between the service worker (`sw.ts`) and a window running the SDK
 * (`service-worker-bridge.ts`). The worker cannot open RTCPeerConnections, so for each intercepted
 * request it hands a `MessagePort` to a window, which fetches through the swarm and streams the
 * body back chunk by chunk, one chunk per `pull` (the worker's stream backpressure reaches the window).
 */

/** Worker → window (with a transferred port): please fetch this. */
export interface FetchRequestMessage {
  type: "edgeswarm-fetch";
  url: string;
  range: string | null;
}
/** Window → worker: this window can serve fetches. */
export interface ReadyMessage {
  type: "edgeswarm-ready";
}

/** Window → worker, on the port. */
export type PortReply =
  | { type: "head"; status: number; headers: [string, string][] }
  | { type: "chunk"; buf: ArrayBuffer }
  | { type: "end" }
  | { type: "error"; message: string };

/** Worker → window, on the port. */
export type PortCommand = { type: "pull" } | { type: "cancel" };

/** Service worker configuration, passed in its script URL (`?config=`) so it survives restarts. */
export interface SwConfig {
  /** URL prefixes (absolute, or paths starting with "/") or `re:<regexp source>` patterns. */
  patterns: string[];
  /** How long to wait for a window to answer before fetching from the network, ms. */
  timeoutMs?: number;
}

/** True when `url` matches one of the patterns. */
export function matchesPattern(url: string, patterns: readonly string[]): boolean {
  let path = "";
  try {
    path = new URL(url).pathname;
  } catch {
    return false;
  }
  return patterns.some((p) => {
    if (p.startsWith("re:")) {
      try {
        return new RegExp(p.slice(3)).test(url);
      } catch {
        return false;
      }
    }
    return p.startsWith("/") ? path.startsWith(p) : url.startsWith(p);
  });
}

/** Header marking the SDK's own requests, which the worker must not intercept (it would loop). */
export const INTERNAL_HEADER = "x-edgeswarm-internal";
