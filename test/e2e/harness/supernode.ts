/**
 * Node peers for the end-to-end suite, both built from the real supernode code:
 * - {@link spawnSupernode}: the `edgeswarm-seed` CLI as its own process (bin/edgeswarm-seed.mjs →
 *   the esbuild bundle of supernode/ + client/), so a test can SIGKILL it mid-transfer;
 * - {@link startNodePeer}: `createNodeSwarm()` in the test process (node-datachannel + ws), for
 *   Node ↔ Node and Browser → Node transfers whose bytes the test reads directly.
 * Both run inside the private namespace like everything else (child processes inherit it).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, type TestEdge } from "./edge";
import { contentRoot, waitFor, withE2eLaneSlack, type SwarmShardStats } from "./swarm-page";
import { createNodeSwarm, type NodeSwarm, type NodeSwarmOptions } from "../../../supernode/node-runtime";

/** Builds dist/supernode/cli.mjs once per test file (the launcher would otherwise do it lazily). */
export function buildSupernode(): void {
  const r = spawnSync(process.execPath, [join(REPO, "scripts/build-supernode.mjs"), "--quiet"], { cwd: REPO, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`e2e: scripts/build-supernode.mjs failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/** A running `edgeswarm-seed` process. */
export interface SupernodeProcess {
  readonly peerId: string;
  readonly pid: number;
  /** Resident memory now, bytes (from /proc; 0 once exited). For reports, never asserted. */
  rss(): number;
  /** Every stdout/stderr line so far (the CLI prefixes each with an ISO timestamp). */
  readonly lines: string[];
  /** Resolves with the first line matching `re` (bounded wait, not a timing assertion). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The id the edge derives from a peer key (functions/join-token.ts), computed here independently
 * with node:crypto: a supernode's chunks credited to this id prove both sides derive alike.
 */
export const peerIdOfKey = (key: string): string => "pk_" + createHash("sha256").update(key).digest("base64url").slice(0, 29);

/**
 * Spawns `node bin/edgeswarm-seed.mjs --edge <edge> --pin … --stats-interval 1s …` with a fresh
 * peer key in `EDGESWARM_PEER_KEY` (or `peerKey`), so its id (`peerId`) is known up front; a legacy
 * `peerId` is passed as `--peer-id` instead.
 *
 * @example
 * const sn = spawnSupernode({ edge: s.edge.url, pins: [url] });
 * await sn.waitForLine(/held .* seeding/);
 */
export function spawnSupernode(o: { edge: string; pins: string[]; peerId?: string; peerKey?: string; args?: string[] }): SupernodeProcess {
  const argv = [join(REPO, "bin/edgeswarm-seed.mjs"), "--edge", o.edge, "--stats-interval", "1s"];
  const key = o.peerId ? undefined : o.peerKey ?? randomBytes(16).toString("base64url");
  if (o.peerId) argv.push("--peer-id", o.peerId);
  for (const p of o.pins) argv.push("--pin", p);
  argv.push(...(o.args ?? []));
  const env = { ...process.env, EDGESWARM_PEER_KEY: key ?? "" };
  const child: ChildProcess = spawn(process.execPath, argv, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let done = false;
  const onData = (prefix: string) => {
    let rest = "";
    return (buf: Buffer) => {
      const parts = (rest + buf.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      for (const l of parts) lines.push(prefix + l);
      for (const f of [...listeners]) f();
    };
  };
  child.stdout!.on("data", onData(""));
  child.stderr!.on("data", onData("stderr: "));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      for (const f of [...listeners]) f();
      resolve({ code, signal });
    });
  });
  return {
    peerId: o.peerId ?? peerIdOfKey(key!),
    pid: child.pid!,
    rss() {
      try {
        return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
      } catch {
        return 0;
      }
    },
    lines,
    exited,
    waitForLine(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => re.test(l));
          if (hit || done) {
            listeners.delete(check);
            clearTimeout(timer);
            if (hit) resolve(hit);
            else reject(new Error(`supernode exited before printing ${re}; output:\n${lines.join("\n")}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`supernode printed no ${re} in ${timeoutMs} ms; output:\n${lines.join("\n")}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    kill: (signal) => void child.kill(signal),
    async stop(graceMs = 5_000) {
      if (!done) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(t);
      }
      return exited;
    },
  };
}

/**
 * Waits until the coordinator lists `n` supernode(s) holding every chunk of `originPath` (the
 * supernode's `hello`/`have` reached the swarm). Returns the shard stats.
 */
export async function waitForSupernodes(edge: TestEdge, originPath: string, n = 1, timeoutMs = 30_000): Promise<SwarmShardStats & { supernodes: number; browsers: number }> {
  const { root, chunks } = await contentRoot(edge, originPath);
  return waitFor(`${n} supernode(s) of ${originPath} announced to the swarm`, async () => {
    const s = (await edge.swarmStats(root)) as SwarmShardStats & { supernodes: number; browsers: number };
    return s.supernodes >= n && s.chunkCopies >= n * chunks ? s : undefined;
  }, timeoutMs);
}

/** An in-process Node peer (the supernode runtime: SDK core + node-datachannel + ws). */
export interface NodePeer extends NodeSwarm {
  /** `swarm.fetch(url)`, body read fully: status, the `x-edgeswarm` header, bytes and their SHA-256. */
  fetch(url: string): Promise<{ status: number; via: string | null; bytes: Uint8Array; sha256: string }>;
}

/**
 * Starts a Node peer in this process with an in-memory store.
 *
 * @example
 * const n = await startNodePeer({ edge: s.edge.url }); // n.swarm.peerId: pk_… (random key)
 * const r = await n.fetch(url); n.close();
 */
export async function startNodePeer(o: NodeSwarmOptions): Promise<NodePeer> {
  const node = await createNodeSwarm(withE2eLaneSlack(o));
  return {
    ...node,
    async fetch(url) {
      const res = await node.swarm.fetch(url);
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { status: res.status, via: res.headers.get("x-edgeswarm"), bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
    },
  };
}
