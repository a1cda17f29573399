/**
 * WebKit (the engine behind Safari) as Debian ships it: WebKitGTK's MiniBrowser driven through
 * `WebKitWebDriver` (W3C WebDriver over HTTP) on a private Xvfb display — WebKitGTK has no headless
 * mode. Debian builds WebKitGTK without WebRTC (`RTCPeerConnection` is undefined), which makes it the
 * stand-in for a visitor whose browser cannot join a swarm.
 *
 * Quirk: when MiniBrowser fails to start (no display, a crash), `POST /session` never answers; every
 * driver call here carries a timeout so such a failure is a clear error, not a hung test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import type { PageLogLine } from "./browser";

/** MiniBrowser of Debian's libwebkit2gtk-4.1-0 (pulled in by `apt-get install -y webkit2gtk-driver`). */
export const MINIBROWSER_PATH = process.env.EDGESWARM_MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
const DRIVER = "WebKitWebDriver";
const XVFB = "Xvfb";

/** How long one WebDriver command may take. */
const COMMAND_TIMEOUT_MS = 60_000;
/** How long a session start may take before the driver is restarted and the start retried once. */
const SESSION_TIMEOUT_MS = 45_000;

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => existsSync(`${d}/${cmd}`));
}

/** Throws with the fix when a piece of the WebKit setup is missing. */
export function assertWebKit(): void {
  const missing = [
    !onPath(DRIVER) && "WebKitWebDriver (apt-get install -y webkit2gtk-driver)",
    !existsSync(MINIBROWSER_PATH) && `MiniBrowser at ${MINIBROWSER_PATH} (apt-get install -y webkit2gtk-driver; or set EDGESWARM_MINIBROWSER)`,
    !onPath(XVFB) && "Xvfb (apt-get install -y xvfb)",
  ].filter(Boolean);
  if (missing.length) throw new Error(`e2e: WebKit setup incomplete, missing: ${missing.join("; ")}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject).listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts Xvfb on the first free display (`-displayfd` lets the server pick it and tell us). */
async function startXvfb(): Promise<{ proc: ChildProcess; display: string }> {
  const proc = spawn(XVFB, ["-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp"], { stdio: ["ignore", "ignore", "pipe", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  const display = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Xvfb did not report a display in 10 s: ${err.slice(-500)}`)), 10_000);
    let out = "";
    (proc.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) {
        clearTimeout(t);
        resolve(`:${out.trim()}`);
      }
    });
    proc.once("exit", (code) => reject(new Error(`Xvfb exited (${code}): ${err.slice(-500)}`)));
  });
  return { proc, display };
}

/** A WebKit page under WebDriver. */
export interface WebKitPeer {
  readonly engine: "webkit";
  readonly name: string;
  /** Lines the page reported (WebDriver has no console events: peer.js collects errors itself). */
  readonly logs: PageLogLine[];
  goto(url: string): Promise<void>;
  /**
   * Runs `body` (a function body; `arguments[0]` is `arg`) in the page and returns its result; a
   * returned promise is awaited (WebDriver §13.2.1 "execute a function body" + promise handling).
   */
  execute<T>(body: string, arg?: unknown): Promise<T>;
  errors(): PageLogLine[];
  close(): Promise<void>;
}

/**
 * A WebDriver session's owner: Xvfb + WebKitWebDriver, one per test file. Peers reuse one
 * MiniBrowser session: closing a peer navigates it to about:blank and frees it for the next one
 * (a fresh session per test costs a MiniBrowser start, which on a loaded machine is what hangs).
 */
export interface WebKitDriver {
  openPeer(name: string): Promise<WebKitPeer>;
  close(): Promise<void>;
}

/**
 * Starts Xvfb and WebKitWebDriver. {@link WebKitDriver.openPeer} reuses a free MiniBrowser session
 * (ephemeral website data under automation; each peer starts on a new page), else starts one.
 *
 * @example
 * const wk = await startWebKit(); const v = await wk.openPeer("W"); await v.goto(url);
 */
export async function startWebKit(): Promise<WebKitDriver> {
  assertWebKit();
  const x = await startXvfb();
  let driver: ChildProcess;
  let driverErr = "";
  let base = "";
  const startDriver = async (): Promise<void> => {
    const port = await freePort();
    driverErr = "";
    driver = spawn(DRIVER, [`--port=${port}`, "--host=127.0.0.1"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, DISPLAY: x.display } });
    driver.stderr!.on("data", (d) => (driverErr = (driverErr + d).slice(-2000)));
    base = `http://127.0.0.1:${port}`;
    // The driver answers /status once it listens; bounded wait.
    for (let i = 0; ; i++) {
      try {
        await call("GET", "/status");
        return;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const stopDriver = async (): Promise<void> => {
    if (driver.exitCode !== null || driver.signalCode !== null) return;
    const exited = new Promise((r) => driver.once("exit", r));
    driver.kill();
    await exited;
  };

  const call = async <T>(method: string, path: string, body?: unknown, timeoutMs = COMMAND_TIMEOUT_MS): Promise<T> => {
    let r: Response;
    try {
      r = await fetch(base + path, {
        method,
        headers: { "content-type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new Error(`WebKitWebDriver ${method} ${path}: ${(e as Error).message}${driverErr ? `; driver stderr: ${driverErr}` : ""}`);
    }
    const j = (await r.json().catch(() => ({}))) as { value?: any };
    if (!r.ok) throw new Error(`WebKitWebDriver ${method} ${path} → ${r.status}: ${JSON.stringify(j.value ?? j).slice(0, 1000)}`);
    return j.value as T;
  };

  try {
    await startDriver();
  } catch (e) {
    await stopDriver().catch(() => undefined);
    x.proc.kill();
    throw e;
  }

  const CAPABILITIES = {
    capabilities: {
      alwaysMatch: {
        browserName: "MiniBrowser",
        "webkitgtk:browserOptions": { binary: MINIBROWSER_PATH, args: ["--automation"] },
      },
    },
  };
  /**
   * A new session. When MiniBrowser fails to come up, `POST /session` never answers (the driver
   * waits for the browser forever): after SESSION_TIMEOUT_MS restart the driver, which also ends
   * its half-started browser, and try once more.
   */
  const newSession = async (): Promise<string> => {
    try {
      return (await call<{ sessionId: string }>("POST", "/session", CAPABILITIES, SESSION_TIMEOUT_MS)).sessionId;
    } catch (first) {
      sessions.clear();
      free.length = 0;
      await stopDriver();
      await startDriver();
      try {
        return (await call<{ sessionId: string }>("POST", "/session", CAPABILITIES, SESSION_TIMEOUT_MS)).sessionId;
      } catch (second) {
        throw new Error(`MiniBrowser did not start twice: ${(first as Error).message} / ${(second as Error).message}`);
      }
    }
  };

  const sessions = new Set<string>();
  /** Sessions whose peer was closed: the next peer reuses one. */
  const free: string[] = [];
  return {
    async openPeer(name) {
      let id = free.pop();
      if (!id) {
        id = await newSession();
        sessions.add(id);
      }
      const logs: PageLogLine[] = [];
      const t0 = Date.now();
      let closed = false;
      return {
        engine: "webkit",
        name,
        logs,
        async goto(url) {
          await call("POST", `/session/${id}/url`, { url });
        },
        async execute<T>(body: string, arg?: unknown) {
          return call<T>("POST", `/session/${id}/execute/sync`, { script: body, args: arg === undefined ? [] : [arg] });
        },
        errors: () => logs.filter((l) => l.type === "error" || l.type === "pageerror"),
        async close() {
          if (closed) return;
          closed = true;
          // Collect what the page recorded before the session goes.
          try {
            const lines = await call<{ type: string; text: string }[]>("POST", `/session/${id}/execute/sync`, {
              script: "return (window.e2e && window.e2e.pageErrors) || []",
              args: [],
            });
            for (const l of lines) logs.push({ at: Date.now() - t0, type: l.type, text: l.text });
          } catch {
            // the page may be gone already
          }
          // Leave the page (its swarm, sockets and timers go with it) and free the session.
          try {
            await call("POST", `/session/${id}/url`, { url: "about:blank" });
            free.push(id);
          } catch {
            await call("DELETE", `/session/${id}`).catch(() => undefined);
            sessions.delete(id);
          }
        },
      };
    },
    async close() {
      for (const id of sessions) await call("DELETE", `/session/${id}`).catch(() => undefined);
      await stopDriver();
      const exited = x.proc.exitCode !== null ? undefined : new Promise((r) => x.proc.once("exit", r));
      x.proc.kill();
      await exited;
    },
  };
}
