/**
 * Debian's Firefox ESR driven by puppeteer-core over WebDriver BiDi (stock Firefox does not speak
 * Playwright's Juggler protocol). One Firefox process per test file, launched on first use; each
 * peer is its own BiDi user context (a container: its own cookies, storage, service workers), as two
 * different visitors would be.
 */
import puppeteer, { type Browser, type BrowserContext, type Page } from "puppeteer-core";
import { existsSync } from "node:fs";
import type { PageLogLine } from "./browser";

/** Where the harness expects Debian's Firefox ESR binary (`apt-get install -y firefox-esr`). */
export const FIREFOX_PATH = process.env.EDGESWARM_FIREFOX ?? "/usr/lib/firefox-esr/firefox-esr";

/**
 * Firefox prefs. Why each matters here:
 * - obfuscate_host_addresses: like Chromium's mDNS switch — Firefox otherwise hides host candidates
 *   behind `<uuid>.local` names (draft-ietf-mmusic-mdns-ice-candidates); real 10.99.0.1 host
 *   candidates make the pair deterministic inside the namespace.
 * - network.dns.disabled: the namespace has no resolver; a lookup would hang until its timeout and
 *   makes `close()` take 3–5 s. The harness uses IP URLs only.
 * - the rest keep Firefox offline and quiet (no updates, telemetry, captive-portal or
 *   connectivity probes, safe-browsing lists).
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  "network.dns.disabled": true,
  "app.update.enabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "toolkit.telemetry.enabled": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "media.autoplay.default": 0,
};

/** Throws with the fix when Firefox is not installed. */
export function assertFirefox(): void {
  if (!existsSync(FIREFOX_PATH)) {
    throw new Error(
      `e2e: Firefox not found at ${FIREFOX_PATH}. Install it: \`apt-get install -y --install-recommends firefox-esr\` ` +
        "(or set EDGESWARM_FIREFOX to its binary).",
    );
  }
}

/** Launches headless Firefox ESR over WebDriver BiDi with {@link FIREFOX_PREFS}. */
export async function launchFirefox(): Promise<Browser> {
  assertFirefox();
  return puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
    timeout: 30_000,
    protocolTimeout: 60_000,
  });
}

/** A Firefox peer: one user context + one page, and everything the page printed. */
export interface FirefoxPeer {
  readonly engine: "firefox";
  readonly name: string;
  readonly context: BrowserContext;
  page: Page;
  readonly logs: PageLogLine[];
  errors(): PageLogLine[];
  close(): Promise<void>;
}

/** Attaches console / pageerror / HTTP-error listeners that append to `logs`. */
function recordFirefoxPage(page: Page, logs: PageLogLine[]): void {
  const t0 = Date.now();
  const push = (type: string, text: string) => logs.push({ at: Date.now() - t0, type, text });
  page.on("console", (m) => push(m.type(), m.text()));
  page.on("pageerror", (e) => push("pageerror", String((e as Error).stack ?? e)));
  page.on("response", (r) => {
    if (r.status() >= 400) push("http", `${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => push("requestfailed", `${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
}

/** Opens a Firefox peer in its own user context — not navigated yet. */
export async function openFirefoxPeer(browser: Browser, name: string): Promise<FirefoxPeer> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const logs: PageLogLine[] = [];
  recordFirefoxPage(page, logs);
  let closed = false;
  return {
    engine: "firefox",
    name,
    context,
    page,
    logs,
    errors: () => logs.filter((l) => l.type === "error" || l.type === "pageerror"),
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => undefined);
    },
  };
}
