/// <reference lib="webworker" />
/**
 * The edgeswarm service worker (served by the edge at `/edgeswarm-sw.js`). It intercepts GET
 * requests matching the configured patterns and asks a controlled window running the SDK to fetch
 * them through the swarm — RTCPeerConnection does not exist in service workers — streaming the
 * bytes back over a `MessageChannel`. When no window answers in time, or the window fails before
 * the response head, it fetches from the network as if it were not there. `Range` headers are
 * forwarded, so the window answers 206 with the right bytes (video seeking works).
 */
import { INTERNAL_HEADER, matchesPattern, type PortCommand, type PortReply, type SwConfig } from "./sw-messages";

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
  if (req.method !== "GET" || req.headers.has(INTERNAL_HEADER) || !matchesPattern(req.url, config.patterns)) return;
  e.respondWith(viaWindow(e).catch(() => fetch(req)));
});

async function pickWindow(clientId: string): Promise<Client | undefined> {
  const windows = await self.clients.matchAll({ type: "window" });
  for (const w of windows) if (ready.has(w.id) && w.id === clientId) return w;
  return windows.find((w) => ready.has(w.id)) ?? windows.find((w) => w.id === clientId);
}

async function viaWindow(e: FetchEvent): Promise<Response> {
  const req = e.request;
  const win = await pickWindow(e.clientId);
  if (!win) return fetch(req);
  const { port1: port, port2 } = new MessageChannel();
  const replies: PortReply[] = [];
  let wake: (() => void) | null = null;
  port.onmessage = (m: MessageEvent<PortReply>) => {
    replies.push(m.data);
    wake?.();
  };
  const next = (ms: number): Promise<PortReply | null> =>
    replies.length
      ? Promise.resolve(replies.shift()!)
      : new Promise((resolve) => {
          const t = setTimeout(() => resolve(null), ms);
          wake = () => {
            clearTimeout(t);
            wake = null;
            resolve(replies.shift() ?? null);
          };
        });
  win.postMessage({ type: "edgeswarm-fetch", url: req.url, range: req.headers.get("range") }, [port2]);
  const head = await next(config.timeoutMs ?? 3000);
  if (!head || head.type !== "head") {
    port.close();
    return fetch(req);
  }
  const send = (c: PortCommand) => port.postMessage(c);
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      send({ type: "pull" });
      // Peers and the edge may stall a chunk for seconds; the window ends or errors the stream itself.
      const r = await next(120_000);
      if (!r || r.type === "error") {
        port.close();
        return c.error(new TypeError(r ? r.message : "window stopped answering"));
      }
      if (r.type === "end") {
        port.close();
        return c.close();
      }
      if (r.type === "chunk") c.enqueue(new Uint8Array(r.buf));
    },
    cancel() {
      send({ type: "cancel" });
      port.close();
    },
  });
  const headers = new Headers(head.headers);
  headers.set("x-edgeswarm-sw", "1");
  return new Response(body, { status: head.status, headers });
}
