/**
 * Debian Chromium driven by playwright-core. One browser process per test file (launch costs ~1 s
 * on this machine); each peer is its own browser context — isolated storage, cookies, service
 * workers and Cache Storage, as two different visitors would be.
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { FirefoxPeer } from "./firefox";
import type { WebKitPeer } from "./webkit";
import { CHROMIUM_PATH } from "./preflight";

/**
 * Chromium switches. Why each matters here:
 * - WebRtcHideLocalIpsWithMdns: by default Chromium replaces host candidates with random
 *   `<uuid>.local` names resolved over mDNS; the namespace has no mDNS responder, so two pages would
 *   never connect. Disabling it exposes the real 10.99.0.1 host candidate (RFC 8445 §5.1.1.1).
 * - the rest keep a headless browser quiet and offline (no component updates, sync, metrics).
 */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-features=WebRtcHideLocalIpsWithMdns,Translate,MediaRouter,OptimizationHints",
  "--metrics-recording-only",
  "--mute-audio",
];

/** One line of page output kept for failure reports. */
export interface PageLogLine {
  at: number;
  type: string;
  text: string;
}

/** A browser peer: one context + one page, and everything the page printed. */
export interface Peer {
  readonly engine: "chromium";
  readonly name: string;
  readonly context: BrowserContext;
  page: Page;
  readonly logs: PageLogLine[];
  /** Console errors and uncaught exceptions only. */
  errors(): PageLogLine[];
  close(): Promise<void>;
}

/** Launches Chromium with the harness switches. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    // The namespace has no DNS and no route out: any attempt to leave it fails fast anyway.
    timeout: 30_000,
  });
}

/** Attaches console / pageerror / crash listeners that append to `logs`. */
export function recordPage(page: Page, logs: PageLogLine[], prefix = ""): void {
  const t0 = Date.now();
  page.on("console", (m) => logs.push({ at: Date.now() - t0, type: m.type(), text: prefix + m.text() }));
  page.on("pageerror", (e) => logs.push({ at: Date.now() - t0, type: "pageerror", text: prefix + String(e.stack ?? e) }));
  page.on("crash", () => logs.push({ at: Date.now() - t0, type: "crash", text: prefix + "page crashed" }));
  // Chromium's console line for a 4xx/5xx names no URL; this one does.
  page.on("response", (r) => {
    if (r.status() >= 400) logs.push({ at: Date.now() - t0, type: "http", text: `${prefix}${r.status()} ${r.request().method()} ${r.url()}` });
  });
  page.on("requestfailed", (r) =>
    logs.push({ at: Date.now() - t0, type: "requestfailed", text: `${prefix}${r.method()} ${r.url()}: ${r.failure()?.errorText}` }),
  );
}

/**
 * Opens a new peer (own context, own page) — not navigated yet.
 *
 * @example
 * const a = await openPeer(browser, "A"); await a.page.goto(`${edge.url}/__e2e/blank.html`);
 */
export async function openPeer(browser: Browser, name: string): Promise<Peer> {
  const context = await browser.newContext({ serviceWorkers: "allow" });
  const page = await context.newPage();
  const logs: PageLogLine[] = [];
  recordPage(page, logs);
  // Service worker console output is useful in scenario 5.
  context.on("serviceworker", (w) => {
    w.on("console", (m) => logs.push({ at: 0, type: `sw-${m.type()}`, text: m.text() }));
  });
  let closed = false;
  return {
    engine: "chromium",
    name,
    context,
    page,
    logs,
    errors: () => logs.filter((l) => l.type === "error" || l.type === "pageerror" || l.type === "crash"),
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
    },
  };
}

/**
 * A page in any engine the harness drives: Chromium (playwright-core), Firefox (puppeteer-core over
 * WebDriver BiDi) or WebKit (MiniBrowser over classic WebDriver).
 */
export type AnyPeer = Peer | FirefoxPeer | WebKitPeer;

/**
 * `page.evaluate(fn, arg)` in either engine (both libraries take one serialisable argument; their
 * overloads differ, so TypeScript cannot call the union directly).
 *
 * @example
 * const secure = await evaluateIn(peer, () => window.isSecureContext, undefined);
 */
export function evaluateIn<R, A>(peer: AnyPeer, fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
  // WebDriver runs a function body: the function travels as source, like page.evaluate's does.
  if (peer.engine === "webkit") return peer.execute<R>(`return (${fn.toString()})(arguments[0]);`, arg === undefined ? null : arg);
  if (peer.engine === "firefox") return peer.page.evaluate(fn as (a: unknown) => R, arg) as Promise<R>;
  return peer.page.evaluate(fn as (a: unknown) => R, arg) as Promise<R>;
}

/** Waits until `fn` is truthy in the page (bounded), in either engine. */
export async function waitInPage(peer: AnyPeer, fn: () => unknown, timeoutMs = 15_000): Promise<void> {
  if (peer.engine === "webkit") {
    const end = Date.now() + timeoutMs;
    while (!(await evaluateIn(peer, fn, undefined))) {
      if (Date.now() > end) throw new Error(`${peer.name}: page condition not met in ${timeoutMs} ms: ${fn.toString()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return;
  }
  if (peer.engine === "firefox") await peer.page.waitForFunction(fn, { timeout: timeoutMs, polling: 100 });
  else await peer.page.waitForFunction(fn, undefined, { timeout: timeoutMs });
}

/** Formats peers' logs for a failure message (last `max` lines each). */
export function formatLogs(peers: Iterable<AnyPeer>, max = 80): string {
  const parts: string[] = [];
  for (const p of peers) {
    if (p.logs.length === 0) continue;
    const lines = p.logs.slice(-max).map((l) => `  [${p.name} +${l.at}ms ${l.type}] ${l.text}`);
    parts.push(`--- ${p.name} (${p.logs.length} lines, last ${lines.length}) ---\n${lines.join("\n")}`);
  }
  return parts.join("\n");
}
