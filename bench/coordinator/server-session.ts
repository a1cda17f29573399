/**
 * One server under test in the coordinator bench (sections/coordinator.ts): the server process
 * (our Worker bundle or the floor in workerd via Miniflare, or bittorrent-tracker in Node), its
 * load-generator processes holding the simulated peers, and the measured phases — joins (whole or
 * one part of the peers), closed-loop signalling rounds, open-loop paced frames of one type — each
 * returning the server's CPU seconds from the phase's start until it is idle again.
 *
 * Several sessions may be open at once (ours and the floor, so their phases can alternate); only one
 * runs a phase at a time, the other's processes sit idle.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { childScript, cpuSeconds, forkChild, nextMessage, rssBytes, stopChild } from "../lib/procs";
import { summarize } from "../lib/stats";
import { BENCH_TOKEN_SECRET, benchBindings, startEdgeProcess } from "../lib/edge-server";
import { isListening, isReport, type Group, type LoadCommand, type LoadReport, type PacedKind, type PeerSpec, type ServerCommand, type Target } from "./load-protocol";

/** One measured configuration: K peers spread over `swarms` swarms. */
export interface Shape {
  peers: number;
  swarms: number;
}

/** What a session needs of the section's configuration. */
export interface SessionConfig {
  warmPeers: number;
  loadProcs: number;
  concurrencyPerProc: number;
  /** Longest wait for the server to fall idle after a phase (a busy host's neighbours keep it from ever being quiet). */
  idleCapMs: number;
  chunks: number;
  numwant: number;
  quick: boolean;
}

/** Worker scripts for the workerd targets. */
export type Scripts = Partial<Record<Exclude<Target, "tracker">, string>>;

/** One join phase (all peers, or one part of them). */
export interface JoinRun {
  joined: number;
  errors: number;
  latenciesMs: number[];
  wallS: number;
  serverCpuS: number;
  /** Server CPU µs per join. */
  cpuPerJoin: number;
  /** 1-minute load average at the phase's start. */
  load: number;
  firstError?: string;
}

/** One closed-loop rounds phase. */
export interface RoundsRun {
  rate: number;
  linksPerRound: number;
  latency: ReturnType<typeof summarize>;
  errors: number;
  serverCpuS: number;
  /** Server CPU µs per round. */
  cpuPerRound: number;
  loadCpu: number[];
  framesSent: number;
  load: number;
  firstError?: string;
}

/** One paced phase: server CPU per frame sent. */
export interface PacedRun {
  kind: PacedKind;
  sent: number;
  received: number;
  errors: number;
  serverCpuS: number;
  cpuPerFrame: number;
  load: number;
  firstError?: string;
}

const peerId = (g: Group, i: number) => `-ES0001-${g === "warm" ? "w" : "m"}${i.toString(36).padStart(11, "0")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load1 = () => Math.round(loadavg()[0]! * 100) / 100;

/** Bytes of the Durable Objects' SQLite files (database + WAL) under a persist directory. */
function sqliteBytes(dir: string | null): number {
  if (!dir || !existsSync(dir)) return 0;
  let n = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, name);
    if (/\.sqlite(-wal)?$/.test(name) && !name.includes("metadata") && statSync(p).isFile()) n += statSync(p).size;
  }
  return n;
}

interface Server {
  pid: number;
  /** The Miniflare host process (workerd targets): takes `profile` commands. */
  host: ChildProcess | null;
  port: number;
  persistDir: string | null;
  stop(): Promise<void>;
}

async function startServer(target: Target, shape: Shape, cfg: SessionConfig, scripts: Scripts, profile: boolean): Promise<Server> {
  if (target !== "tracker") {
    // The default shard limit (2,000) is below the full run's K: raised for the bench. One sub-shard:
    // each swarm is one object, as for the floor (with spill-over a busy object — over its request
    // budget, durable/spill-budget.ts — would send joins to sub-shards, splitting the shape).
    const max = String(Math.min(32_768, shape.peers + cfg.warmPeers + 100));
    // Only the profiled server gets the inspector (it costs CPU): the Miniflare host reads the
    // variable from its environment, inherited when it is forked (synchronously, inside the call).
    const saved = process.env.BENCH_CPU_PROFILE;
    if (!profile) delete process.env.BENCH_CPU_PROFILE;
    const started = startEdgeProcess(scripts[target]!, benchBindings({ "/bench/": "http://127.0.0.1:9/" }, { MAX_PEERS_PER_SHARD: max, MAX_SUBSHARDS: "1" }));
    if (saved !== undefined) process.env.BENCH_CPU_PROFILE = saved;
    const edge = await started;
    return { pid: edge.pid, host: edge.host, port: edge.port, persistDir: edge.persistDir, stop: edge.stop };
  }
  const cp = forkChild(childScript("coordinator/tracker-process.mjs"), [String(shape.peers + cfg.warmPeers)]);
  const { port } = await nextMessage(cp, isListening, 30_000, "tracker");
  return {
    pid: cp.pid!, host: null, port, persistDir: null,
    async stop() {
      cp.send({ cmd: "stop" });
      await Promise.race([new Promise((r) => cp.once("exit", r)), sleep(5000)]);
      await stopChild(cp, 1000);
    },
  };
}

/** The next `type` report of one load process; a `fatal` report, its exit or the timeout reject (listeners removed either way). */
function loadReply<T extends LoadReport["type"]>(cp: ChildProcess, type: T, timeoutMs: number, what: string): Promise<Extract<LoadReport, { type: T }>> {
  return new Promise((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer);
      cp.off("message", onMessage);
      cp.off("exit", onExit);
      settle();
    };
    const onMessage = (m: unknown) => {
      if (isReport(type)(m)) done(() => resolve(m));
      else if (isReport("fatal")(m)) done(() => reject(new Error(`load process: ${m.message}`)));
    };
    const onExit = (code: number | null) => done(() => reject(new Error(`${what}: load process exited (${code})`)));
    const timer = setTimeout(() => done(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`))), timeoutMs);
    cp.on("message", onMessage);
    cp.on("exit", onExit);
  });
}

/**
 * Waits until the server is idle: its CPU time grows by < 2 ms over 100 ms (at most `capMs`). On a busy
 * machine an open-loop phase can leave frames queued, and their CPU must count for that phase.
 */
async function idle(pid: number, capMs: number): Promise<void> {
  for (const end = performance.now() + capMs; performance.now() < end; ) {
    const c0 = cpuSeconds(pid);
    await sleep(100);
    if (cpuSeconds(pid) - c0 < 0.002) return;
  }
}

/**
 * A started server with its load processes and warmed-up peers.
 * @example
 * const s = await ServerSession.open("swarm", { peers: 1000, swarms: 1 }, cfg, scripts, log);
 * const j = await s.join({ index: 0, of: 3 }, 2500);
 * const p = await s.paced("want-any", 2000, 3000, 0);
 * await s.close();
 */
export class ServerSession {
  readonly label: string;
  rss0 = 0;
  #sql0 = 0;
  /** Phases (by name) not yet profiled: each is recorded once, the first time it runs. */
  readonly #toProfile: Set<string>;

  private constructor(readonly target: Target, readonly shape: Shape, private readonly cfg: SessionConfig, private readonly server: Server, private readonly load: ChildProcess[]) {
    this.label = `${target} K=${shape.peers}/${shape.swarms} swarm(s)`;
    // Diagnostics: BENCH_CPU_PROFILE=<file> records a CPU profile of one phase of the Worker isolate
    // (swarm-process.ts): BENCH_CPU_PROFILE_PHASE = join | ops | ice | <paced kind> (default ops), of
    // BENCH_CPU_PROFILE_TARGET (default swarm; floor to profile the floor).
    const on = profiledTarget() === target && !!server.host;
    this.#toProfile = new Set(on ? [process.env.BENCH_CPU_PROFILE_PHASE ?? "ops"] : []);
  }

  /** Starts the server and its load processes, and joins and drops the warm-up peers (JIT, first objects, SQLite schema). */
  static async open(target: Target, shape: Shape, cfg: SessionConfig, scripts: Scripts, swarmKey: (i: number) => string): Promise<ServerSession> {
    const server = await startServer(target, shape, cfg, scripts, profiledTarget() === target);
    const load: ChildProcess[] = [];
    const s = new ServerSession(target, shape, cfg, server, load);
    try {
      for (let i = 0; i < cfg.loadProcs; i++) load.push(forkChild(childScript("coordinator/load-process.mjs")));
      const spec = (g: Group, n: number): PeerSpec[] => Array.from({ length: n }, (_, k) => ({ id: peerId(g, k), swarm: k % shape.swarms }));
      const warm = spec("warm", cfg.warmPeers), main = spec("main", shape.peers);
      const swarmKeys = Array.from({ length: shape.swarms }, (_, i) => swarmKey(i));
      await Promise.all(
        load.map((cp, i) => {
          const ready = nextMessage(cp, isReport("ready"), 60_000, "load init");
          const mine = (all: PeerSpec[]) => all.filter((_, k) => k % cfg.loadProcs === i);
          // Same seeds for every target: ours and the floor are sent the very same paced frames.
          cp.send({
            cmd: "init", target, url: `ws://127.0.0.1:${server.port}`, swarmKeys, secret: BENCH_TOKEN_SECRET,
            peers: { warm: mine(warm), main: mine(main) }, everyone: main, chunks: cfg.chunks, numwant: cfg.numwant, seed: 7 + i,
          } satisfies LoadCommand);
          return ready;
        }),
      );
      await s.#every({ cmd: "join", group: "warm", concurrency: 8, timeoutMs: 20_000 }, "joined", 60_000);
      await s.#every({ cmd: "close", group: "warm", timeoutMs: 5000 }, "closed", 30_000);
      await sleep(cfg.quick ? 500 : 1500);
      s.rss0 = rssBytes(server.pid);
      s.#sql0 = sqliteBytes(server.persistDir);
      return s;
    } catch (e) {
      await s.close();
      throw e;
    }
  }

  /** RSS and SQLite growth per peer since the warmed-up idle state. */
  memory(peers: number): { rssBeforeMiB: number; rssJoinedMiB: number; bytesPerPeer: number; sqliteBytesPerPeer: number } {
    const rss1 = rssBytes(this.server.pid), sql1 = sqliteBytes(this.server.persistDir);
    const n = Math.max(1, peers);
    return { rssBeforeMiB: this.rss0 / 2 ** 20, rssJoinedMiB: rss1 / 2 ** 20, bytesPerPeer: (rss1 - this.rss0) / n, sqliteBytesPerPeer: (sql1 - this.#sql0) / n };
  }

  /** Joins the main peers (or part `index` of `of`: every `of`-th peer), then waits `flushWaitMs` (the flush alarm the joins armed) and for idle. */
  async join(part: { index: number; of: number } | undefined, flushWaitMs: number): Promise<JoinRun> {
    const load = load1();
    const t0 = performance.now();
    const [joined, cpuS] = await this.#measured("join", () =>
      this.#every({ cmd: "join", group: "main", concurrency: this.cfg.concurrencyPerProc, timeoutMs: 30_000, ...(part ? { part } : {}) }, "joined", 180_000), flushWaitMs);
    const lat = joined.flatMap((j) => j.latenciesMs);
    const firstError = joined.find((j) => j.firstError)?.firstError;
    return {
      joined: lat.length, errors: joined.reduce((a, j) => a + j.errors, 0), latenciesMs: lat, wallS: (performance.now() - t0) / 1000,
      serverCpuS: cpuS, cpuPerJoin: (cpuS / Math.max(1, lat.length)) * 1e6, load, ...(firstError ? { firstError } : {}),
    };
  }

  /** Closed-loop signalling rounds for `durationMs`, with `ice` trickled candidates each way per link. */
  async rounds(ice: number, durationMs: number): Promise<RoundsRun> {
    const load = load1();
    const [done, cpuS] = await this.#measured(ice ? "ice" : "ops", () =>
      this.#every({ cmd: "rounds", group: "main", concurrency: this.cfg.concurrencyPerProc, durationMs, ice }, "rounds-done", durationMs + 30_000));
    const wall = durationMs / 1000;
    const lat = done.flatMap((d) => d.latenciesMs);
    const links = done.reduce((a, d) => a + d.links, 0);
    const firstError = done.find((d) => d.firstError)?.firstError;
    return {
      rate: lat.length / wall, linksPerRound: links / Math.max(1, lat.length), latency: summarize(lat), errors: done.reduce((a, d) => a + d.errors, 0),
      serverCpuS: cpuS, cpuPerRound: (cpuS / Math.max(1, lat.length)) * 1e6, loadCpu: done.map((d) => d.cpuS / d.wallS),
      framesSent: done.reduce((a, d) => a + d.sent, 0), load, ...(firstError ? { firstError } : {}),
    };
  }

  /**
   * Exactly `rate × durationMs` frames of `kind` (all load processes together), paced over
   * `durationMs`; then `drainMs` (a flush alarm those frames armed) and until idle.
   */
  async paced(kind: PacedKind, rate: number, durationMs: number, drainMs: number): Promise<PacedRun> {
    const load = load1();
    const perProc = Math.round((rate * durationMs) / 1000 / this.cfg.loadProcs);
    const [done, cpuS] = await this.#measured(kind, () =>
      this.#every({ cmd: "paced", group: "main", kind, rate: rate / this.cfg.loadProcs, durationMs, frames: perProc }, "paced-done", durationMs + 30_000), drainMs);
    const sent = done.reduce((a, d) => a + d.sent, 0);
    const firstError = done.find((d) => d.firstError)?.firstError;
    return {
      kind, sent, received: done.reduce((a, d) => a + d.received, 0), errors: done.reduce((a, d) => a + d.errors, 0),
      serverCpuS: cpuS, cpuPerFrame: (cpuS / Math.max(1, sent)) * 1e6, load, ...(firstError ? { firstError } : {}),
    };
  }

  /** Stops the load processes and the server. */
  async close(): Promise<void> {
    await Promise.all(this.load.map((cp) => stopChild(cp, 500)));
    await this.server.stop();
  }

  async #every<T extends LoadReport["type"]>(cmd: LoadCommand, type: T, timeoutMs: number) {
    const replies = this.load.map((cp) => loadReply(cp, type, timeoutMs, `load ${cmd.cmd}`));
    for (const cp of this.load) cp.send(cmd);
    return Promise.all(replies);
  }

  /**
   * Server CPU seconds used while `fn` runs, then for `waitMs` (the object's flush alarm, ≤ 2 s after
   * the frames that armed it) and until the server is idle; profiled when it is the phase asked for.
   */
  async #measured<T>(phase: string, fn: () => Promise<T>, waitMs = 0): Promise<[T, number]> {
    const host = this.#toProfile.delete(phase) ? this.server.host : null;
    if (host) await this.#profile(host, true);
    try {
      const c0 = cpuSeconds(this.server.pid);
      const r = await fn();
      if (waitMs > 0) await sleep(waitMs);
      await idle(this.server.pid, this.cfg.idleCapMs);
      return [r, cpuSeconds(this.server.pid) - c0];
    } finally {
      if (host) await this.#profile(host, false);
    }
  }

  async #profile(host: ChildProcess, on: boolean): Promise<void> {
    const done = nextMessage(host, (m): m is { type: "profiled" } => typeof m === "object" && m !== null && (m as { type?: unknown }).type === "profiled", 60_000, "profile");
    host.send({ cmd: "profile", on } satisfies ServerCommand);
    await done;
  }
}

/** The target BENCH_CPU_PROFILE applies to (none when unset). */
function profiledTarget(): Target | null {
  if (!process.env.BENCH_CPU_PROFILE) return null;
  return process.env.BENCH_CPU_PROFILE_TARGET === "floor" ? "floor" : "swarm";
}
