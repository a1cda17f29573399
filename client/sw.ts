/// <reference lib="webworker" />
/**
 * The edgeswarm service worker (served by the edge at `/edgeswarm-sw.js`). It intercepts GET
 * requests matching the configured patterns and asks a controlled window running the SDK to fetch
 * them through the swarm — RTCPeerConnection does not exist in service workers — streaming the
 * bytes back over a `MessageChannel` (`sw-proxy.ts`). When no window answers in time it fetches
 * from the network as if it were not there; when the window fails or closes mid-body, the rest
 * comes from the network with a `Range` request. `Range` headers are forwarded, so the window
 * answers 206 with the right bytes (video seeking works).
 */
import { proxyViaWindow, type BridgeWindow } from "./sw-proxy";
import { isInternalRequest, matchesPattern, type SwConfig } from "./sw-messages";

declare const self: ServiceWorkerGlobalScope;

function readConfig(): SwConfig {
  try {
    const v = JSON.parse(new URL(self.location.href).searchParams.get("config") ?? "{}") as Partial<SwConfig>;
    return { patterns: Array.isArray(v.patterns) ? v.patterns.filter((p) => typeof p === "string") : [], timeoutMs: typeof v.timeoutMs === "number" ? v.timeoutMs : 3000 };
  } catch {
    return { patterns: [] };
  }
}

const config = readConfig();
/** Windows that announced a bridge (lost when the worker restarts; then the requesting window is tried). */
const ready = new Set<string>();

self.addEventListener("install", () => void self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  const src = e.source as Client | null;
  if ((e.data as { type?: string })?.type === "edgeswarm-ready" && src?.id) ready.add(src.id);
});

self.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET" || isInternalRequest(req, self.location.origin) || !matchesPattern(req.url, config.patterns)) return;
  const net = (r: RequestInfo | URL, init?: RequestInit) => fetch(r, init);
  e.respondWith(
    pickWindow(e.clientId)
      .then((window) => proxyViaWindow(req, { window, fetch: net, headTimeoutMs: config.timeoutMs ?? 3000 }))
      .catch(() => fetch(req)),
  );
});

/** The requesting window if it has a bridge, else any window with one, else the requester (it may have one we forgot). */
async function pickWindow(clientId: string): Promise<BridgeWindow | undefined> {
  const windows = await self.clients.matchAll({ type: "window" });
  const w = windows.find((c) => ready.has(c.id) && c.id === clientId) ?? windows.find((c) => ready.has(c.id)) ?? windows.find((c) => c.id === clientId);
  if (!w) return undefined;
  return {
    post: (msg, port) => w.postMessage(msg, [port]),
    alive: async () => !!(await self.clients.get(w.id)),
  };
}
