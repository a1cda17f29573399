/**
 * The demo as `npm start` runs it, started for one test file: demo/origin.mjs (the generated image
 * gallery, demo/public/, optional video streams) → the edge Worker in Miniflare (ROUTES `/e2e/` →
 * the demo origin) → Chromium. The counterpart of `useStack()` (stack.ts, the test origin) for the
 * files that open the demo's own pages: dashboard, demo-page, video-players.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startOrigin, type DemoOrigin } from "../../../demo/origin.mjs";
import { formatLogs, launchChromium, openPeer, type Peer } from "./browser";
import { startTestEdge, type TestEdge } from "./edge";
import { assertPreconditions } from "./preflight";

/** A started demo stack. */
export interface DemoStack {
  origin: DemoOrigin;
  edge: TestEdge;
  browser: Browser;
  /** Every page opened in this file (closed with the stack; their logs are printed on a failure). */
  peers: Peer[];
  /** Opens a Chromium page in its own context (a new visitor); `goto` it yourself. */
  openPeer(name: string): Promise<Peer>;
  /**
   * Opens `url` as a new visitor and waits until the page's `window[global].state` leaves
   * `"loading"` (demo/public/app.js sets `window.demo`, video.js `window.video`).
   */
  visit(name: string, url: string, global?: string, timeoutMs?: number): Promise<Peer>;
}

/** Options of {@link useDemoStack}. */
export interface DemoStackOptions {
  /**
   * Runs before the origin starts and names its stream folders (`startOrigin({ streams })`), e.g.
   * ffmpeg-made media; a throw fails every test of the file with its message.
   */
  streams?: () => Promise<Record<string, string>>;
  /** Label of the failure dump. */
  name?: string;
}

/**
 * Registers beforeAll/afterAll for a demo stack shared by the tests of one file, and on a failure
 * prints the origin's hit counts and the pages' logs. A start failure (no namespace, no Chromium,
 * no ffmpeg) is rethrown by every test: it fails, it is never a skip.
 *
 * @example
 * const demo = useDemoStack();
 * it("…", async () => { const a = await demo().visit("A", `${demo().edge.url}/c/e2e/index.html`); });
 */
export function useDemoStack(opts: DemoStackOptions = {}): () => DemoStack {
  let s: DemoStack | undefined;
  let startError: unknown;
  let origin: DemoOrigin | undefined;
  let edge: TestEdge | undefined;
  let browser: Browser | undefined;
  const peers: Peer[] = [];

  beforeAll(async () => {
    try {
      assertPreconditions();
      const streams = opts.streams ? await opts.streams() : {};
      origin = await startOrigin({ port: 0, streams });
      // The demo as shipped: the edge's default swarm scope per content type (the gallery's images
      // share one route swarm, one socket per page), not the per-item swarms of the other scenarios.
      [edge, browser] = await Promise.all([startTestEdge({ originUrl: origin.url, scope: "by-type" }), launchChromium()]);
      const b = browser;
      const open = async (name: string) => {
        const p = await openPeer(b, name);
        peers.push(p);
        return p;
      };
      s = {
        origin, edge, browser, peers,
        openPeer: open,
        async visit(name, url, global = "demo", timeoutMs = 150_000) {
          const peer = await open(name);
          await peer.page.goto(url);
          await peer.page.waitForFunction((g) => (window as any)[g] && (window as any)[g].state !== "loading", global, { timeout: timeoutMs });
          return peer;
        },
      };
    } catch (e) {
      startError = e;
    }
  }, 180_000);

  afterAll(async () => {
    for (const p of peers) await p.close();
    await browser?.close().catch(() => undefined);
    await edge?.close().catch(() => undefined);
    await origin?.close();
  });

  beforeEach(({ onTestFailed }) => {
    const first = peers.length;
    onTestFailed(() => {
      if (!origin) return;
      console.log(`\n===== ${opts.name ?? "demo"} failure context =====\norigin hits: ${JSON.stringify(origin.hits())}\n${formatLogs(peers.slice(first))}`);
    });
  });

  return () => {
    if (startError) throw startError;
    if (!s) throw new Error("demo stack not started");
    return s;
  };
}
