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

/**
 * Path of the referrer that marks the SDK's own requests to an edge on another origin (a site at
 * www.example.com, its edge at cdn.example.com). A custom header there would make every request
 * CORS-preflighted, and browsers cache a preflight per URL (Chromium for at most 2 h), so each new
 * item would cost a round trip. `referrer` costs nothing: it may name any URL of the page's own
 * origin (Fetch §5.3, Request constructor step 14), and the worker reads it as `request.referrer`.
 * `referrerPolicy: "unsafe-url"` keeps the path, which the default policy (strict-origin-when-
 * cross-origin) would cut to the origin before the worker sees the request (Fetch §4.1 main fetch
 * step 8); the edge then sees this fixed path as Referer, which says less than the page's own URL.
 */
export const INTERNAL_REFERRER_PATH = "/.edgeswarm-internal";

/**
 * `init` with the marker that tells our service worker to let the request through: the header when
 * the page and the edge share an origin, the referrer when they do not (see above). Unchanged where
 * there is no page (Node, workers) or its origin is opaque.
 * @example
 * fetch(url, markInternal(init, location.origin, "https://cdn.example"));
 */
export function markInternal(init: RequestInit | undefined, pageOrigin: string | undefined, edgeOrigin: string): RequestInit | undefined {
  if (!pageOrigin || pageOrigin === "null") return init;
  if (pageOrigin !== edgeOrigin) return { ...init, referrer: `${pageOrigin}${INTERNAL_REFERRER_PATH}`, referrerPolicy: "unsafe-url" };
  const headers = new Headers(init?.headers);
  headers.set(INTERNAL_HEADER, "1");
  return { ...init, headers };
}

/** True for a request the SDK made itself (either marker), which the worker must pass through. */
export function isInternalRequest(req: Pick<Request, "headers" | "referrer">, workerOrigin: string): boolean {
  return req.headers.has(INTERNAL_HEADER) || req.referrer === `${workerOrigin}${INTERNAL_REFERRER_PATH}`;
}
