/**
 * The two kinds of peers the offload section drives, behind one interface: Node SDK peers (slots
 * of a few shared sdk-peer-process.ts hosts) and Chromium peers (one browser context each, all in
 * one browser: they share its processes, as the issue asks, and each has its own IndexedDB store).
 * Both run the real SDK: Node through client/index.ts, Chromium through the edge's own
 * /sdk/edgeswarm.js bundle.
 */
import type { ChildProcess } from "node:child_process";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { childScript, forkChild, stopChild } from "../lib/procs";
import type { SdkCommand, SdkFetchResult, SdkPeerOptions, SdkReport, SdkTotals } from "../peer/sdk-protocol";

/** One peer as the workload runner sees it. */
export interface BenchPeer {
  readonly kind: "chromium" | "node";
  open(): Promise<void>;
  /** swarm.fetch(url) read to the end and hashed; never throws (failures are in the result). */
  fetch(url: string, expectSha256: string, timeoutMs: number): Promise<SdkFetchResult>;
  /** swarm.stats() totals, then swarm.close(). */
  close(): Promise<SdkTotals | null>;
}

const failed = (error: string): SdkFetchResult => ({
  ok: false, status: 0, bytes: 0, ttfbMs: 0, totalMs: 0, fromPeers: 0, fromEdge: 0, peersConnected: 0, hashFailures: 0, error,
});

/** A Node process hosting many SDK peers; replies are routed by slot. */
export class NodePeerHost {
  readonly cp: ChildProcess = forkChild(childScript("peer/sdk-peer-process.mjs"));
  readonly #waiting = new Map<string, (m: SdkReport) => void>();
  #slots = 0;

  constructor(onFatal: (msg: string) => void) {
    this.cp.on("message", (m: SdkReport) => {
      if (m.type === "fatal") onFatal(`${m.peer}: ${m.message}`);
      const k = `${m.peer}/${m.type}`;
      const w = this.#waiting.get(k);
      if (w) {
        this.#waiting.delete(k);
        w(m);
      }
    });
  }

  /** Sends a command and waits for the `type` report of that slot (null on timeout or exit). */
  request<T extends SdkReport["type"]>(cmd: SdkCommand, peer: string, type: T, timeoutMs: number): Promise<Extract<SdkReport, { type: T }> | null> {
    return new Promise((resolve) => {
      const k = `${peer}/${type}`;
      const t = setTimeout(() => {
        this.#waiting.delete(k);
        resolve(null);
      }, timeoutMs);
      this.#waiting.set(k, (m) => {
        clearTimeout(t);
        resolve(m as Extract<SdkReport, { type: T }>);
      });
      this.cp.send(cmd);
    });
  }

  /** A new peer slot in this host. */
  peer(edge: string, peerId: string, options: SdkPeerOptions): BenchPeer {
    const slot = `p${this.#slots++}`;
    return {
      kind: "node",
      open: async () => {
        if (!(await this.request({ cmd: "open", peer: slot, edge, peerId, options }, slot, "opened", 15_000))) throw new Error(`node peer ${peerId}: open timed out`);
      },
      fetch: async (url, expectSha256, timeoutMs) =>
        (await this.request({ cmd: "fetch", peer: slot, url, expectSha256 }, slot, "fetched", timeoutMs)) ?? failed(`no answer within ${timeoutMs} ms`),
      close: async () => (await this.request({ cmd: "close", peer: slot }, slot, "closed", 10_000))?.totals ?? null,
    };
  }

  stop(): Promise<void> {
    return stopChild(this.cp, 1000);
  }
}

/**
 * A Chromium peer: a fresh context whose page is the edge's SDK script URL (same origin as the
 * edge, 127.0.0.1 is a secure context so crypto.subtle and IndexedDB work), which imports the SDK.
 */
export function chromiumPeer(browser: Browser, edge: string, peerId: string, options: SdkPeerOptions): BenchPeer {
  let context: BrowserContext | null = null;
  let page: Page | null = null;
  return {
    kind: "chromium",
    async open() {
      context = await browser.newContext();
      page = await context.newPage();
      await page.goto(`${edge}/sdk/edgeswarm.js`);
      await page.evaluate(async ([e, id, o]) => {
        const sdk = await import(`${e}/sdk/edgeswarm.js`);
        const s = ((window as any).__swarm = sdk.createSwarm({ edge: e, peerId: id, ...o }));
        // Diagnosis (bench/peer/sdk-peer-process.ts does the same for Node peers).
        const diag: Record<string, { edgeWhy: Record<string, number>; firstPeerAt: number }> = ((window as any).__diag = {});
        s.addEventListener("progress", (ev: CustomEvent) => {
          const d = ev.detail;
          const r = (diag[d.url] ??= { edgeWhy: {}, firstPeerAt: -1 });
          if (d.source === "edge") r.edgeWhy[d.why ?? "?"] = (r.edgeWhy[d.why ?? "?"] ?? 0) + d.bytes;
          if (d.source === "peer" && r.firstPeerAt < 0) r.firstPeerAt = performance.now();
        });
      }, [edge, peerId, options] as const);
    },
    async fetch(url, expectSha256, timeoutMs) {
      const p = page!.evaluate(async (u) => {
        const t0 = performance.now();
        const diagOf = (url: string, t: number) => {
          const r = (window as any).__diag[url];
          return { edgeWhy: r?.edgeWhy ?? {}, firstPeerMs: r && r.firstPeerAt >= 0 ? r.firstPeerAt - t : -1 };
        };
        try {
          const s = (window as any).__swarm;
          const res: Response = await s.fetch(u);
          const buf = await res.arrayBuffer();
          const totalMs = performance.now() - t0;
          const hex = [...new Uint8Array(await crypto.subtle.digest("SHA-256", buf))].map((b) => b.toString(16).padStart(2, "0")).join("");
          const st = s.stats();
          const c = st.contents[new URL(u).href] ?? { fromPeers: 0, fromEdge: 0 };
          return { ok: res.ok, status: res.status, bytes: buf.byteLength, ttfbMs: 0, totalMs, fromPeers: c.fromPeers, fromEdge: c.fromEdge, peersConnected: st.peersConnected, hashFailures: st.hashFailures, sha: hex, ...diagOf(new URL(u).href, t0) };
        } catch (e) {
          return { ok: false, status: 0, bytes: 0, ttfbMs: 0, totalMs: performance.now() - t0, fromPeers: 0, fromEdge: 0, peersConnected: 0, hashFailures: 0, sha: "", error: String(e) };
        }
      }, url);
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([p, new Promise<null>((res) => (timer = setTimeout(() => res(null), timeoutMs)))]).catch((e) => failed(String(e)));
      clearTimeout(timer);
      if (!r) return failed(`no answer within ${timeoutMs} ms`);
      const { sha, ...rest } = r as SdkFetchResult & { sha?: string };
      return { ...rest, ...(r.ok ? { intact: sha === expectSha256 } : {}) };
    },
    async close() {
      let totals: SdkTotals | null = null;
      try {
        totals = await page!.evaluate(() => {
          const s = (window as any).__swarm;
          const st = s.stats();
          s.close();
          return { fromPeers: st.fromPeers, fromEdge: st.fromEdge, uploaded: st.uploaded, hashFailures: st.hashFailures };
        });
      } catch {
        // page gone: totals unknown
      }
      await context?.close().catch(() => undefined);
      return totals;
    },
  };
}
