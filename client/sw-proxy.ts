/**
 * The service worker's half of the window bridge, free of `self` so it runs (and is tested) in
 * Node: hands one intercepted request to a window over a `MessageChannel` and turns the window's
 * replies back into a streamed `Response`.
 *
 * Failure policy — the page must see what it would have seen without us:
 * - no window, or no `head` reply within `headTimeoutMs` → the request goes to the network as is;
 * - the window errors, goes away (closed tab: `alive()` turns false) or stalls for `stallMs` after
 *   the head → the rest of the body comes from the network with a `Range` request starting at the
 *   first byte not yet delivered, so the page's stream continues seamlessly.
 * `Range` headers are forwarded to the window, which answers 206 with the right `Content-Range`.
 */
import { edgeRangeFetch, type FetchFn } from "./edge-client";
import type { FetchRequestMessage, PortCommand, PortReply } from "./sw-messages";

/** A window that can answer fetches through its swarm. */
export interface BridgeWindow {
  /** Hands the request and our port's twin to the window. */
  post(msg: FetchRequestMessage, port: MessagePort): void;
  /** False once the window is gone (closed, navigated away). */
  alive(): Promise<boolean>;
}

export interface ProxyOptions {
  /** The window to ask; `undefined` = none available. */
  window: BridgeWindow | undefined;
  /** The network (the worker's `fetch`). */
  fetch: FetchFn;
  /** Wait for the window's response head, ms. */
  headTimeoutMs: number;
  /** Longest wait for one body piece while the window is alive, ms (peers and the edge may stall). Default 120000. */
  stallMs?: number;
  /** How often to check that the window still exists while waiting, ms. Default 1000. */
  aliveCheckMs?: number;
}

/** The byte span `[start, end)` a response body covers, from its status and headers; null if unknown. */
export function bodySpan(status: number, headers: Headers): { start: number; end: number } | null {
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers.get("content-range") ?? "");
    return m ? { start: Number(m[1]), end: Number(m[2]) + 1 } : null;
  }
  const len = headers.get("content-length");
  return status === 200 && len !== null && /^\d+$/.test(len) ? { start: 0, end: Number(len) } : null;
}

/** Replies arriving on the port, awaited one at a time with a timeout and a liveness check. */
class Inbox {
  private readonly queue: PortReply[] = [];
  private wake: (() => void) | null = null;

  constructor(port: MessagePort, private readonly win: BridgeWindow, private readonly checkMs: number) {
    port.onmessage = (m: MessageEvent<PortReply>) => {
      this.queue.push(m.data);
      this.wake?.();
    };
  }

  /** The next reply; `null` after `ms`, or as soon as the window is found gone. */
  next(ms: number): Promise<PortReply | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    return new Promise((resolve) => {
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(check);
        this.wake = null;
        resolve(this.queue.shift() ?? null);
      };
      const timer = setTimeout(done, ms);
      const check = setInterval(() => void this.win.alive().then((ok) => ok || done(), done), this.checkMs);
      this.wake = done;
    });
  }
}

/**
 * Serves `req` through a window, or from the network when that is not possible.
 *
 * @example
 * self.addEventListener("fetch", (e) => e.respondWith(proxyViaWindow(e.request, { window, fetch, headTimeoutMs: 3000 })));
 */
export async function proxyViaWindow(req: Request, o: ProxyOptions): Promise<Response> {
  const win = o.window;
  if (!win) return o.fetch(req);
  const { port1: port, port2 } = new MessageChannel();
  const inbox = new Inbox(port, win, o.aliveCheckMs ?? 1000);
  const send = (c: PortCommand) => port.postMessage(c);
  // Giving up on the window: tell it to stop (a download nobody pulls would hold its memory and
  // peer requests), then drop the port. Messages already posted are still delivered.
  const abandon = () => {
    send({ type: "cancel" });
    port.close();
  };
  win.post({ type: "edgeswarm-fetch", url: req.url, range: req.headers.get("range") }, port2);
  const head = await inbox.next(o.headTimeoutMs);
  if (!head || head.type !== "head") {
    abandon();
    return o.fetch(req);
  }
  const headers = new Headers(head.headers);
  const span = bodySpan(head.status, headers);
  let sent = 0;
  let rest: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const abort = new AbortController();
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        if (!rest) {
          send({ type: "pull" });
          const r = await inbox.next(o.stallMs ?? 120_000);
          if (r?.type === "chunk") {
            const b = new Uint8Array(r.buf);
            sent += b.length;
            return c.enqueue(b);
          }
          if (r?.type === "end") {
            port.close();
            return c.close();
          }
          abandon();
          // The window failed, left or stalled mid-body: the rest from the network.
          if (!span) return c.error(new TypeError(r?.type === "error" ? r.message : "window stopped answering"));
          if (span.start + sent >= span.end) return c.close();
          rest = (await edgeRangeFetch(o.fetch, req.url)(span.start + sent, span.end, abort.signal)).getReader();
        }
        const { value, done } = await rest.read();
        if (done) return c.close();
        c.enqueue(value);
      } catch (e) {
        c.error(e);
      }
    },
    cancel() {
      abandon();
      abort.abort();
      void rest?.cancel().catch(() => {});
    },
  });
  headers.set("x-edgeswarm-sw", "1");
  return new Response(body, { status: head.status, headers });
}
