/**
 * Child processes of the bench: spawned through one registry so that every one of them is killed
 * when the bench ends, fails or is interrupted (the bench runs in a network namespace that outlives
 * nothing, but processes left behind would still eat the shared cores). Also reads a process's
 * resident memory and CPU time from /proc (Linux), which is how workerd and the tracker are measured.
 */
import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const live = new Set<ChildProcess>();

function track(cp: ChildProcess): ChildProcess {
  live.add(cp);
  cp.once("exit", () => live.delete(cp));
  // A section that timed out keeps running in the background after its children were killed; its
  // next `send` fails with ERR_IPC_CHANNEL_CLOSED as an 'error' event, which without a listener
  // would end the whole bench (every later section lost) instead of only the failed one.
  cp.on("error", (e) => process.stderr.write(`[bench] child ${cp.pid ?? "?"}: ${e.message}\n`));
  return cp;
}

/**
 * Path of a bundled child entry point (`bench/<rel>-process.ts` is bundled to `<rel>-process.mjs`
 * next to the bundled main by bench/index.mjs).
 * @example
 * forkChild(childScript("coordinator/load-process.mjs"), [])
 */
export function childScript(rel: string): string {
  return fileURLToPath(new URL(`./${rel}`, import.meta.url));
}

/** Forks a Node child with an IPC channel, tracked for cleanup. */
export function forkChild(script: string, args: string[] = [], opts: ForkOptions = {}): ChildProcess {
  return track(fork(script, args, { stdio: ["ignore", "inherit", "inherit", "ipc"], ...opts }));
}

/** Spawns any command, tracked for cleanup. */
export function spawnChild(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return track(spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts }));
}

/** Kills one child (SIGTERM, then SIGKILL after `graceMs`) and resolves when it has exited. */
export async function stopChild(cp: ChildProcess, graceMs = 2000): Promise<void> {
  if (cp.exitCode !== null || cp.signalCode !== null) return;
  const exited = new Promise<void>((r) => cp.once("exit", () => r()));
  cp.kill("SIGTERM");
  const t = setTimeout(() => cp.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(t);
}

/** Kills every live child at once (SIGKILL): the last-resort path on exit or interrupt. */
export function killAllChildren(): void {
  for (const cp of live) {
    try {
      cp.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Number of children still running (the bench asserts 0 at the end). */
export function liveChildren(): number {
  return live.size;
}

/** Resident set size of a process, bytes (VmRSS of /proc/<pid>/status); NaN if it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

// USER_HZ is 100 on every Linux ABI in use (sysconf(_SC_CLK_TCK)); /proc/<pid>/stat counts in it.
const CLK_TCK = 100;

function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used so far, seconds; NaN if it is gone. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  // After the name: state(0) ppid(1) … utime(11) stime(12).
  return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : NaN;
}

/** Pids of the direct children of `pid` (scan of /proc/<n>/stat). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === pid) out.push(Number(name));
  }
  return out;
}

/** Command name of a process (`/proc/<pid>/comm`), or "" if it is gone. */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/**
 * Measures a process's CPU use over an interval: call the returned function at the end to get the
 * fraction of one core it used (1.0 = one core busy the whole time).
 * @example
 * const done = cpuMeter(pid); await work(); console.log(done()); // 0.83
 */
export function cpuMeter(pid: number): () => number {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  return () => (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
}

/** Waits for a message from a child's IPC channel that satisfies `pred`, with a timeout. */
export function nextMessage<T>(cp: ChildProcess, pred: (m: unknown) => m is T, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: unknown) => {
      if (pred(m)) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${what}: child exited (${code}) before answering`));
    };
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(t);
      cp.off("message", onMsg);
      cp.off("exit", onExit);
    };
    cp.on("message", onMsg);
    cp.once("exit", onExit);
  });
}
