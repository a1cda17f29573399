/**
 * The whole system under test, started for one test file: test origin → edge Worker + Durable
 * Object in Miniflare → Chromium peers. `useStack()` wires it into vitest's lifecycle and prints
 * every page's console output when a test fails.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { Browser } from "playwright-core";
import { assertPreconditions } from "./preflight";
import { startTestOrigin, type TestOrigin } from "./origin";
import { startTestEdge, type EdgeOptions, type TestEdge } from "./edge";
import { formatLogs, launchChromium, openPeer, waitInPage, type AnyPeer, type Peer } from "./browser";
import { launchFirefox, openFirefoxPeer, type FirefoxPeer } from "./firefox";
import { startWebKit, type WebKitDriver, type WebKitPeer } from "./webkit";
import type { Browser as FirefoxBrowser } from "puppeteer-core";

/** A started stack. */
export interface Stack {
  origin: TestOrigin;
  edge: TestEdge;
  browser: Browser;
  /** Every peer opened in this file, in any engine (for log dumps). */
  peers: AnyPeer[];
  /** Opens a Chromium peer (own context) on a harness page, e.g. "peer.html"; waits until its script ran. */
  openPeer(name: string, page?: string): Promise<Peer>;
  /**
   * Opens a Firefox peer (own user context) on a harness page. Firefox is launched on first use and
   * shared by the rest of the file (launch ~2 s).
   */
  openFirefoxPeer(name: string, page?: string): Promise<FirefoxPeer>;
  /**
   * Opens a WebKit peer (MiniBrowser under WebKitWebDriver on a private Xvfb display; a new
   * WebDriver session each) on a harness page or any edge path (`/c/demo/index.html`).
   */
  openWebKitPeer(name: string, page?: string): Promise<WebKitPeer>;
  close(): Promise<void>;
}

/** Edge options a test file may set (the origin URL is the harness's), and whether to launch Chromium. */
export type StackOptions = Omit<EdgeOptions, "originUrl"> & {
  /** Launch Chromium with the stack (default true; a WebKit-only file needs none). */
  chromium?: boolean;
};

/**
 * Starts origin, edge and browser.
 *
 * @example
 * const s = await startStack(); const a = await s.openPeer("A");
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  assertPreconditions();
  const t0 = Date.now();
  const origin = await startTestOrigin();
  // Independent: start the edge and Chromium concurrently; on any failure stop whatever started.
  const [er, br] = await Promise.allSettled([
    startTestEdge({ originUrl: origin.url, ...opts }).then((e) => ({ e, ms: Date.now() - t0 })),
    (opts.chromium === false ? Promise.resolve(undefined) : launchChromium()).then((b) => ({ b, ms: Date.now() - t0 })),
  ]);
  if (er.status === "rejected" || br.status === "rejected") {
    if (er.status === "fulfilled") await er.value.e.close().catch(() => undefined);
    if (br.status === "fulfilled") await br.value.b?.close().catch(() => undefined);
    await origin.close();
    throw er.status === "rejected" ? er.reason : (br as PromiseRejectedResult).reason;
  }
  console.log(`e2e stack up: edge ${er.value.ms} ms${opts.chromium === false ? "" : `, chromium ${br.value.ms} ms`}`);
  const ed = er.value.e;
  const chromiumBrowser = br.value.b;
  const chromium = (): Browser => {
    if (!chromiumBrowser) throw new Error("this stack was started with { chromium: false }");
    return chromiumBrowser;
  };
  const peers: AnyPeer[] = [];
  let firefox: Promise<FirefoxBrowser> | undefined;
  let webkit: Promise<WebKitDriver> | undefined;
  const ready = async (peer: AnyPeer, page: string) => {
    const url = page.startsWith("/") ? `${ed.url}${page}` : `${ed.url}/__e2e/${page}`;
    await (peer.engine === "webkit" ? peer.goto(url) : peer.page.goto(url));
    if (page === "peer.html") await waitInPage(peer, () => (window as any).e2e?.ready === true);
  };
  return {
    origin,
    edge: ed,
    get browser() {
      return chromium();
    },
    peers,
    async openPeer(name, page = "peer.html") {
      const peer = await openPeer(chromium(), name);
      peers.push(peer);
      await ready(peer, page);
      return peer;
    },
    async openFirefoxPeer(name, page = "peer.html") {
      if (!firefox) {
        const t = Date.now();
        firefox = launchFirefox();
        void firefox.then(() => console.log(`e2e: firefox up in ${Date.now() - t} ms`), () => undefined);
      }
      const peer = await openFirefoxPeer(await firefox, name);
      peers.push(peer);
      await ready(peer, page);
      return peer;
    },
    async openWebKitPeer(name, page = "peer.html") {
      webkit ??= startWebKit();
      const peer = await (await webkit).openPeer(name);
      peers.push(peer);
      await ready(peer, page);
      return peer;
    },
    async close() {
      for (const p of peers) await p.close();
      if (webkit) await (await webkit.catch(() => undefined))?.close().catch(() => undefined);
      if (firefox) await (await firefox.catch(() => undefined))?.close().catch(() => undefined);
      await chromiumBrowser?.close().catch(() => undefined);
      await ed.close().catch(() => undefined);
      await origin.close();
    },
  };
}

/**
 * Registers beforeAll/afterAll for a stack shared by the tests of one file, and dumps page logs
 * plus the origin's request log when a test fails. Origin hit counts are reset before each test and
 * each test's pages are closed after it. Returns a getter (the stack exists after
 * beforeAll ran).
 *
 * @example
 * const stack = useStack();
 * it("…", async () => { const a = await stack().openPeer("A"); });
 */
export function useStack(opts: StackOptions = {}): () => Stack {
  let s: Stack | undefined;
  let startError: unknown;
  // A start failure (no namespace, no Chromium, Worker does not bundle) is rethrown by every test,
  // so each one fails with the reason instead of being reported as skipped.
  beforeAll(async () => {
    try {
      s = await startStack(opts);
    } catch (e) {
      startError = e;
    }
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(({ onTestFailed }) => {
    const first = s?.peers.length ?? 0;
    s?.origin.reset();
    onTestFailed(() => {
      if (!s) return;
      const logs = formatLogs(s.peers.slice(first));
      const originLog = s.origin.log().map((r) => `  ${r.method} ${r.path} ${r.status}${r.range ? ` (${r.range})` : ""}`);
      console.log(`\n===== e2e failure context =====\norigin requests:\n${originLog.join("\n") || "  (none)"}\n${logs}\n===============================`);
    });
  });
  // Each test closes its pages: fewer processes competing for the two cores in the next test.
  afterEach(async () => {
    for (const p of s?.peers ?? []) await p.close();
  });
  return () => {
    if (startError) throw startError;
    if (!s) throw new Error("e2e stack not started");
    return s;
  };
}
