/**
 * The edge under test in its own process: a Worker script in Miniflare (bench/coordinator/
 * swarm-process.ts hosts it), Durable Object storage on tmpfs. Gives the port and the pid of the
 * workerd process (a child of the host), which is what gets measured.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isListening } from "../coordinator/load-protocol";
import { childPids, childScript, forkChild, nextMessage, processName, rssBytes, stopChild } from "./procs";

/** Secret of the bench's join tokens (the edge's TOKEN_SECRET). */
export const BENCH_TOKEN_SECRET = "bench-token-secret-0123456789abcdef0123456789abcdef";

/** Worker vars as wrangler.toml has them, for the bench. */
export function benchBindings(routes: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TOKEN_SECRET: BENCH_TOKEN_SECRET,
    ROUTES: JSON.stringify(routes),
    CHUNK_SIZE: "262144",
    ICE_SERVERS: "[]",
    SHARD_BY: "continent",
    MAX_PEERS_PER_SHARD: "2000",
    TOKEN_TTL: "3600",
    ORIGIN_TIMEOUT_MS: "15000",
    // Bench peers and the coordinator load generator name fixed ids (?peer=) to attribute bytes and
    // ops; production (wrangler.toml) derives ids from keys only.
    PEER_KEY_REQUIRED: "0",
    ...extra,
  };
}

/** A running edge. */
export interface EdgeProcess {
  port: number;
  /** The workerd process. */
  pid: number;
  /** Where Durable Object SQLite files live. */
  persistDir: string;
  host: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a Worker script in Miniflare in a child process.
 * @example
 * const edge = await startEdgeProcess(bundleWorker(root), benchBindings({ "/bench/": origin.url }));
 */
export async function startEdgeProcess(scriptPath: string, bindings: Record<string, string>): Promise<EdgeProcess> {
  const persistDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "edgeswarm-bench-do-"));
  const host = forkChild(childScript("coordinator/swarm-process.mjs"), [scriptPath, JSON.stringify(bindings), persistDir]);
  const stop = async () => {
    const workerd = childPids(host.pid!).filter((p) => processName(p) === "workerd");
    host.send({ cmd: "stop" });
    await Promise.race([new Promise((r) => host.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
    await stopChild(host, 1000);
    // Miniflare disposes workerd on stop; make sure it is gone even if the host died first.
    for (const pid of workerd) {
      if (Number.isFinite(rssBytes(pid))) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    rmSync(persistDir, { recursive: true, force: true });
  };
  try {
    const { port } = await nextMessage(host, isListening, 30_000, "edge (Miniflare)");
    const pid = childPids(host.pid!).find((p) => processName(p) === "workerd");
    if (!pid) throw new Error("no workerd child of the Miniflare host");
    return { port, pid, persistDir, host, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
