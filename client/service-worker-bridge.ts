/**
 * Window side of the service worker: registers `/edgeswarm-sw.js` with the URL patterns to
 * intercept, and answers the worker's fetch requests through a {@link Swarm}.
 */
import { contentUrl } from "./edge-client";
import type { Swarm } from "./swarm";
import type { FetchRequestMessage, PortCommand, PortReply, SwConfig } from "./sw-messages";

export interface RegisterOptions {
  swarm: Swarm;
  /** URL prefixes to intercept: paths ("/c/demo/"), absolute prefixes, or RegExps. */
  patterns: (string | RegExp)[];
  /** Service worker scope; default "/". */
  scope?: string;
  /** How long the worker waits for a window before going to the network, ms (default 3000). */
  timeoutMs?: number;
  /** Script URL; default "/edgeswarm-sw.js" (served by the edge). */
  scriptUrl?: string;
}

/**
 * Registers the edgeswarm service worker and makes this window answer its fetches. Resolves once
 * this page is controlled (so fetches made afterwards are intercepted), or with `null` where
 * service workers are unavailable.
 *
 * @example
 * const swarm = createSwarm({ edge: location.origin });
 * await registerServiceWorker({ swarm, patterns: ["/c/videos/"] });
 * document.querySelector("video").src = "/c/videos/intro.mp4"; // now served by peers
 */
export async function registerServiceWorker(o: RegisterOptions): Promise<ServiceWorkerRegistration | null> {
  const sw = (globalThis.navigator as Navigator | undefined)?.serviceWorker;
  if (!sw) return null;
  sw.addEventListener("message", (e: MessageEvent) => {
    const m = e.data as FetchRequestMessage | undefined;
    if (m?.type === "edgeswarm-fetch" && e.ports[0]) void answerFetch(o.swarm, m, e.ports[0]);
  });
  sw.startMessages?.();
  const config: SwConfig = {
    patterns: o.patterns.map((p) => (typeof p === "string" ? p : `re:${p.source}`)),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  };
  const reg = await sw.register(`${o.scriptUrl ?? "/edgeswarm-sw.js"}?config=${encodeURIComponent(JSON.stringify(config))}`, { scope: o.scope ?? "/" });
  const announce = () => sw.controller?.postMessage({ type: "edgeswarm-ready" });
  sw.addEventListener("controllerchange", announce);
  if (!sw.controller) {
    // The worker claims clients on activation; wait for that (bounded) so the caller can rely on it.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 10_000);
      sw.addEventListener("controllerchange", () => (clearTimeout(t), resolve()), { once: true });
    });
  }
  announce();
  return reg;
}

/**
 * Window side of one bridged fetch: fetches `m.url` through the swarm and streams the response over
 * `port` — `head`, then one `chunk` per `pull` (the worker's backpressure reaches the swarm), `end`.
 *
 * @example
 * navigator.serviceWorker.onmessage = (e) => answerFetch(swarm, e.data, e.ports[0]);
 */
export async function answerFetch(swarm: Pick<Swarm, "fetch" | "edgeOrigin">, m: FetchRequestMessage, port: MessagePort): Promise<void> {
  const reply = (r: PortReply, transfer: Transferable[] = []) => port.postMessage(r, transfer);
  // Not edge content: let the worker go to the network itself (a window fetch would loop back to it).
  if (!contentUrl(m.url, swarm.edgeOrigin)) return reply({ type: "error", message: "not edge content" });
  let res: Response;
  try {
    res = await swarm.fetch(m.url, m.range ? { headers: { range: m.range } } : {});
  } catch (e) {
    return reply({ type: "error", message: String(e) });
  }
  const reader = res.body?.getReader();
  reply({ type: "head", status: res.status, headers: [...res.headers] });
  port.onmessage = async (e: MessageEvent<PortCommand>) => {
    if (e.data.type === "cancel") {
      port.close();
      return void reader?.cancel().catch(() => {});
    }
    try {
      const r = reader ? await reader.read() : { done: true as const, value: undefined };
      if (r.done) {
        reply({ type: "end" });
        return port.close();
      }
      const v = r.value;
      // Transfer, don't copy: the swarm hands out chunks it no longer references.
      const buf = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? (v.buffer as ArrayBuffer) : v.slice().buffer;
      reply({ type: "chunk", buf }, [buf]);
    } catch (err) {
      reply({ type: "error", message: String(err) });
      port.close();
    }
  };
}
