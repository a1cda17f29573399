/**
 * Section 3 — Coordinator: our Swarm Durable Object (the real Worker bundle in Miniflare/workerd) vs
 * bittorrent-tracker's WebSocket tracker, same machine, same load generator, same run. K peers join,
 * then announce / ask for peers in a closed loop; we report operations per second, p50/p99
 * latency, and server RSS growth per connected peer, plus the CPU of the server and of the load
 * generator (so it is visible which one was saturated).
 *
 * Servers run one at a time (never concurrently: they would share the 2 cores), alternating
 * tracker, swarm, tracker, swarm… over the rounds, each in a fresh process.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import type { SectionContext, Section } from "../lib/section";
import { childScript, cpuMeter, forkChild, nextMessage, rssBytes, stopChild } from "../lib/procs";
import { fmt, fmtRange, median, summarize } from "../lib/stats";
import { bundleWorker } from "../lib/worker-bundle";
import { BENCH_TOKEN_SECRET, benchBindings, startEdgeProcess } from "../lib/edge-server";
import type { Row } from "../lib/report";
import { FLOOR_WORKER_SOURCE } from "../coordinator/floor-worker";
import { type FanoutResult, measureLeaveFanout } from "../coordinator/leave-fanout";
import { isListening, isReport, type Group, type LoadCommand, type LoadReport, type ServerCommand, type Target } from "../coordinator/load-protocol";

const ROOT = createHash("sha256").update("edgeswarm bench swarm").digest("hex");
const INFO_HASH = "bench-info-hash-0001"; // 20 characters, as the tracker requires
const CHUNKS = 64; // a 16 MiB item in 256 KiB chunks
const NUMWANT = 10;

interface Config {
  peers: number;
  warmPeers: number;
  loadProcs: number;
  concurrencyPerProc: number;
  opsMs: number;
  rounds: number;
  /** Also measure the runtime floor (a do-nothing Durable Object in workerd). */
  floor: boolean;
}

const QUICK: Config = { peers: 1000, warmPeers: 64, loadProcs: 2, concurrencyPerProc: 16, opsMs: 3000, rounds: 1, floor: true };
const FULL: Config = { peers: 4000, warmPeers: 128, loadProcs: 2, concurrencyPerProc: 16, opsMs: 12_000, rounds: 2, floor: true };

/** Everything measured in one server run. */
export interface TargetRun {
  target: Target;
  peers: number;
  joined: number;
  joinErrors: number;
  joinRate: number;
  joinLatency: ReturnType<typeof summarize>;
  opsRate: number;
  opsErrors: number;
  opsLatency: ReturnType<typeof summarize>;
  unsolicited: number;
  rssBeforeMiB: number;
  rssJoinedMiB: number;
  rssAfterOpsMiB: number;
  bytesPerPeer: number;
  /** Growth of the Durable Object's SQLite files per peer (0 for the tracker: it keeps no storage). */
  sqliteBytesPerPeer: number;
  serverCpuJoin: number;
  serverCpuOps: number;
  /** Per load process: fraction of one core during the ops phase. */
  loadCpuOps: number[];
  loadCpuJoin: number[];
  firstError?: string;
}

const peerId = (g: Group, i: number) => `-ES0001-${g === "warm" ? "w" : "m"}${i.toString(36).padStart(11, "0")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

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

/** Worker scripts for the workerd targets. */
type Scripts = Partial<Record<Exclude<Target, "tracker">, string>>;

async function startServer(target: Target, cfg: Config, scripts: Scripts): Promise<Server> {
  if (target !== "tracker") {
    // The default shard limit (2,000) is below the full run's K: raised for the bench.
    const max = String(Math.min(32_768, cfg.peers + cfg.warmPeers + 100));
    const edge = await startEdgeProcess(scripts[target]!, benchBindings({ "/bench/": "http://127.0.0.1:9/" }, { MAX_PEERS_PER_SHARD: max }));
    return { pid: edge.pid, host: edge.host, port: edge.port, persistDir: edge.persistDir, stop: edge.stop };
  }
  const cp = forkChild(childScript("coordinator/tracker-process.mjs"), [String(cfg.peers + cfg.warmPeers)]);
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

async function everyLoad<T extends LoadReport["type"]>(load: ChildProcess[], cmd: LoadCommand, type: T, timeoutMs: number) {
  const replies = load.map((cp) => nextMessage(cp, isReport(type), timeoutMs, `load ${cmd.cmd}`));
  const fatal = load.map((cp) => nextMessage(cp, isReport("fatal"), timeoutMs + 1000, "load").then((m) => Promise.reject(new Error(`load process: ${m.message}`))));
  for (const cp of load) cp.send(cmd);
  return Promise.race([Promise.all(replies), ...fatal.map((p) => p.catch((e: unknown) => Promise.reject(e)))]) as Promise<Extract<LoadReport, { type: T }>[]>;
}

async function runTarget(target: Target, cfg: Config, scripts: Scripts, ctx: SectionContext): Promise<TargetRun> {
  const server = await startServer(target, cfg, scripts);
  const load: ChildProcess[] = [];
  try {
    for (let i = 0; i < cfg.loadProcs; i++) load.push(forkChild(childScript("coordinator/load-process.mjs")));
    const slice = (n: number, g: Group, i: number) =>
      Array.from({ length: n }, (_, k) => peerId(g, k)).filter((_, k) => k % cfg.loadProcs === i);
    await Promise.all(
      load.map((cp, i) => {
        const ready = nextMessage(cp, isReport("ready"), 60_000, "load init");
        cp.send({
          cmd: "init", target, url: `ws://127.0.0.1:${server.port}`, swarmKey: target === "tracker" ? INFO_HASH : ROOT, secret: BENCH_TOKEN_SECRET,
          peers: { warm: slice(cfg.warmPeers, "warm", i), main: slice(cfg.peers, "main", i) }, chunks: CHUNKS, numwant: NUMWANT, seed: 7 + i,
        } satisfies LoadCommand);
        return ready;
      }),
    );
    // Warm-up: JIT, first swarm object, SQLite schema — then gone before the baseline RSS reading.
    await everyLoad(load, { cmd: "join", group: "warm", concurrency: 8, timeoutMs: 20_000 }, "joined", 60_000);
    await everyLoad(load, { cmd: "ops", group: "warm", concurrency: 8, durationMs: 1000 }, "ops-done", 30_000);
    await everyLoad(load, { cmd: "close", group: "warm", timeoutMs: 5000 }, "closed", 30_000);
    await sleep(1500);
    const rss0 = rssBytes(server.pid);
    const sql0 = sqliteBytes(server.persistDir);

    // Diagnostics: BENCH_CPU_PROFILE=<file> records a CPU profile of the ops phase
    // (BENCH_CPU_PROFILE_PHASE=join: of the join phase instead; swarm-process.ts).
    const profiling = process.env.BENCH_CPU_PROFILE && server.host ? server.host : null;
    const profileCmd = async (on: boolean) => {
      if (!profiling) return;
      const done = nextMessage(profiling, (m): m is { type: "profiled" } => typeof m === "object" && m !== null && (m as { type?: unknown }).type === "profiled", 60_000, "profile");
      profiling.send({ cmd: "profile", on } satisfies ServerCommand);
      await done;
    };
    const profilePhase = process.env.BENCH_CPU_PROFILE_PHASE === "join" ? "join" : "ops";
    ctx.log(`${target}: joining ${cfg.peers} peers`);
    if (profilePhase === "join") await profileCmd(true);
    let meter = cpuMeter(server.pid);
    const joinT0 = performance.now();
    const joined = await everyLoad(load, { cmd: "join", group: "main", concurrency: cfg.concurrencyPerProc, timeoutMs: 30_000 }, "joined", 120_000);
    const joinWall = (performance.now() - joinT0) / 1000;
    const serverCpuJoin = meter();
    if (profilePhase === "join") await profileCmd(false);
    await sleep(1500);
    const rss1 = rssBytes(server.pid);
    const sql1 = sqliteBytes(server.persistDir);

    ctx.log(`${target}: operations for ${cfg.opsMs / 1000} s`);
    if (profilePhase === "ops") await profileCmd(true);
    meter = cpuMeter(server.pid);
    const opsT0 = performance.now();
    const done = await everyLoad(load, { cmd: "ops", group: "main", concurrency: cfg.concurrencyPerProc, durationMs: cfg.opsMs }, "ops-done", cfg.opsMs + 30_000);
    const opsWall = (performance.now() - opsT0) / 1000;
    const serverCpuOps = meter();
    if (profilePhase === "ops") await profileCmd(false);
    const rss2 = rssBytes(server.pid);

    const joinLat = joined.flatMap((j) => j.latenciesMs);
    const opsLat = done.flatMap((d) => d.latenciesMs);
    const firstError = joined.find((j) => j.firstError)?.firstError ?? done.find((d) => d.firstError)?.firstError;
    const run: TargetRun = {
      target,
      peers: cfg.peers,
      joined: joinLat.length,
      joinErrors: joined.reduce((a, j) => a + j.errors, 0),
      joinRate: joinLat.length / joinWall,
      joinLatency: summarize(joinLat),
      opsRate: opsLat.length / opsWall,
      opsErrors: done.reduce((a, d) => a + d.errors, 0),
      opsLatency: summarize(opsLat),
      unsolicited: done.reduce((a, d) => a + d.unsolicited, 0),
      rssBeforeMiB: rss0 / MiB,
      rssJoinedMiB: rss1 / MiB,
      rssAfterOpsMiB: rss2 / MiB,
      bytesPerPeer: (rss1 - rss0) / Math.max(1, joinLat.length),
      sqliteBytesPerPeer: (sql1 - sql0) / Math.max(1, joinLat.length),
      serverCpuJoin,
      serverCpuOps,
      loadCpuJoin: joined.map((j) => j.cpuS / j.wallS),
      loadCpuOps: done.map((d) => d.cpuS / d.wallS),
      ...(firstError ? { firstError } : {}),
    };
    ctx.log(`${target}: ${fmt(run.opsRate)} ops/s, p50 ${fmt(run.opsLatency.p50)} ms, ${fmt(run.bytesPerPeer / 1024)} KiB/peer, server CPU ${fmt(serverCpuOps)}, load CPU ${run.loadCpuOps.map((c) => fmt(c, 2)).join("+")}`);
    return run;
  } finally {
    await Promise.all(load.map((cp) => stopChild(cp, 500)));
    await server.stop();
  }
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
/** Server CPU seconds per operation, µs: what an op costs, whatever share of the cores the server got. */
const cpuPerOp = (r: TargetRun) => (r.serverCpuOps / r.opsRate) * 1e6;
const cpuPerJoin = (r: TargetRun) => (r.serverCpuJoin / r.joinRate) * 1e6;

function rows(swarm: TargetRun[], tracker: TargetRun[]): Row[] {
  const m = (runs: TargetRun[], f: (r: TargetRun) => number) => runs.map(f);
  const ratioOf = (a: number[], b: number[]) => median(a) / median(b);
  const opsRatio = ratioOf(m(swarm, (r) => r.opsRate), m(tracker, (r) => r.opsRate));
  const memRatio = ratioOf(m(swarm, (r) => r.bytesPerPeer), m(tracker, (r) => r.bytesPerPeer));
  const joinRatio = ratioOf(m(swarm, (r) => r.joinRate), m(tracker, (r) => r.joinRate));
  const lat = (runs: TargetRun[], f: (r: TargetRun) => ReturnType<typeof summarize>) =>
    `${fmt(median(m(runs, (r) => f(r).p50)))} / ${fmt(median(m(runs, (r) => f(r).p99)))} ms`;
  return [
    { metric: "announce / ask-for-peers rate (ops/s)", value: fmtRange(m(swarm, (r) => r.opsRate)), baseline: fmtRange(m(tracker, (r) => r.opsRate)), ratio: `${fmt(opsRatio)}×`, target: "≥ 2×", status: opsRatio >= 2 ? "pass" : "fail" },
    { metric: "op latency p50 / p99", value: lat(swarm, (r) => r.opsLatency), baseline: lat(tracker, (r) => r.opsLatency), ratio: `${fmt(median(m(swarm, (r) => r.opsLatency.p50)) / median(m(tracker, (r) => r.opsLatency.p50)))}× p50`, target: "", status: "info" },
    { metric: "server memory per connected peer (RSS growth)", value: `${fmtRange(m(swarm, (r) => r.bytesPerPeer / 1024))} KiB`, baseline: `${fmtRange(m(tracker, (r) => r.bytesPerPeer / 1024))} KiB`, ratio: `${fmt(memRatio)}×`, target: "≤ 0.25×", status: memRatio <= 0.25 ? "pass" : "fail" },
    { metric: "storage per peer (Durable Object SQLite + WAL growth)", value: `${fmtRange(m(swarm, (r) => r.sqliteBytesPerPeer / 1024))} KiB`, baseline: "0 (keeps no storage)", ratio: "", target: "", status: "info" },
    { metric: "join rate (connect + hello/announce, joins/s)", value: fmtRange(m(swarm, (r) => r.joinRate)), baseline: fmtRange(m(tracker, (r) => r.joinRate)), ratio: `${fmt(joinRatio)}×`, target: "", status: "info" },
    { metric: "join latency p50 / p99", value: lat(swarm, (r) => r.joinLatency), baseline: lat(tracker, (r) => r.joinLatency), ratio: "", target: "", status: "info" },
    { metric: "server CPU time per op (µs; robust to a busy machine)", value: fmtRange(m(swarm, cpuPerOp)), baseline: fmtRange(m(tracker, cpuPerOp)), ratio: `${fmt(ratioOf(m(swarm, cpuPerOp), m(tracker, cpuPerOp)))}×`, target: "≤ 0.5× (≡ 2× rate)", status: ratioOf(m(swarm, cpuPerOp), m(tracker, cpuPerOp)) <= 0.5 ? "pass" : "fail" },
    { metric: "server CPU time per join (µs)", value: fmtRange(m(swarm, cpuPerJoin)), baseline: fmtRange(m(tracker, cpuPerJoin)), ratio: `${fmt(ratioOf(m(swarm, cpuPerJoin), m(tracker, cpuPerJoin)))}×`, target: "", status: "info" },
    { metric: "server CPU during ops (1.0 = one core)", value: fmtRange(m(swarm, (r) => r.serverCpuOps), 2), baseline: fmtRange(m(tracker, (r) => r.serverCpuOps), 2), ratio: "", target: "", status: "info" },
    { metric: "load generator CPU during ops, per process", value: swarm.map((r) => r.loadCpuOps.map(pct).join(" + ")).join("; "), baseline: tracker.map((r) => r.loadCpuOps.map(pct).join(" + ")).join("; "), ratio: "", target: "< server", status: "info" },
    { metric: "errors (join / ops)", value: `${swarm.reduce((a, r) => a + r.joinErrors, 0)} / ${swarm.reduce((a, r) => a + r.opsErrors, 0)}`, baseline: `${tracker.reduce((a, r) => a + r.joinErrors, 0)} / ${tracker.reduce((a, r) => a + r.opsErrors, 0)}`, ratio: "", target: "0", status: [...swarm, ...tracker].some((r) => r.joinErrors + r.opsErrors > 0) ? "fail" : "pass" },
  ];
}

/** The runtime floor beside the tracker: how much of the gap is workerd's and how much ours. */
function floorRows(floor: TargetRun[], tracker: TargetRun[]): Row[] {
  if (!floor.length || !tracker.length) return [];
  const m = (runs: TargetRun[], f: (r: TargetRun) => number) => runs.map(f);
  return [
    { metric: "runtime floor: ops/s (do-nothing DO, same workerd)", value: fmtRange(m(floor, (r) => r.opsRate)), baseline: fmtRange(m(tracker, (r) => r.opsRate)), ratio: `${fmt(median(m(floor, (r) => r.opsRate)) / median(m(tracker, (r) => r.opsRate)))}×`, target: "", status: "info" },
    { metric: "runtime floor: memory per peer", value: `${fmtRange(m(floor, (r) => r.bytesPerPeer / 1024))} KiB`, baseline: `${fmtRange(m(tracker, (r) => r.bytesPerPeer / 1024))} KiB`, ratio: `${fmt(median(m(floor, (r) => r.bytesPerPeer)) / median(m(tracker, (r) => r.bytesPerPeer)))}×`, target: "", status: "info" },
    { metric: "runtime floor: server CPU time per op (µs)", value: fmtRange(m(floor, cpuPerOp)), baseline: fmtRange(m(tracker, cpuPerOp)), ratio: `${fmt(median(m(floor, cpuPerOp)) / median(m(tracker, cpuPerOp)))}×`, target: "", status: "info" },
  ];
}

export const coordinatorSection: Section = {
  id: "coordinator",
  number: 3,
  title: "Coordinator: Swarm Durable Object (Miniflare) vs bittorrent-tracker WebSocket tracker",
  budgetS: { quick: 50, full: 240 },
  async run(ctx) {
    const cfg = { ...(ctx.quick ? QUICK : FULL) };
    // Diagnostics only (the published table uses the defaults): BENCH_COORDINATOR_PEERS=<K>.
    const k = Number(process.env.BENCH_COORDINATOR_PEERS);
    if (Number.isSafeInteger(k) && k > 0) cfg.peers = k;
    const only = process.env.BENCH_COORDINATOR_TARGETS?.split(",") as Target[] | undefined;
    const scripts: Scripts = {};
    let swarmError: string | undefined;
    if (!only || only.includes("swarm")) {
      try {
        ctx.log("bundling the Worker (wrangler deploy --dry-run)");
        scripts.swarm = bundleWorker(ctx.root);
      } catch (e) {
        swarmError = e instanceof Error ? e.message : String(e);
      }
    }
    scripts.floor = join(ctx.tmp, "floor-worker.mjs");
    writeFileSync(scripts.floor, FLOOR_WORKER_SOURCE);
    const runs: TargetRun[] = [];
    for (let round = 0; round < cfg.rounds; round++) {
      for (const target of ["tracker", "swarm", "floor"] as const) {
        if (only && !only.includes(target)) continue;
        if (!cfg.floor && target === "floor") continue;
        if (target !== "tracker" && !scripts[target]) continue;
        runs.push(await runTarget(target, cfg, scripts, ctx));
      }
    }
    const swarm = runs.filter((r) => r.target === "swarm");
    const tracker = runs.filter((r) => r.target === "tracker");
    const floor = runs.filter((r) => r.target === "floor");
    const notes = [
      `K = ${cfg.peers} peers in one swarm, ${cfg.loadProcs} load-generator processes (ws, no compression), ${cfg.concurrencyPerProc} requests in flight per process (closed loop, one per socket), ${cfg.opsMs / 1000} s of operations; ${cfg.rounds} round(s) per server, servers alternated and never run at the same time. Figures: median (min–max) over rounds.`,
      `Operations: ours \`want\` (max ${NUMWANT}) → \`peers\` (ranked peers with ${CHUNKS}-chunk bitfields); tracker \`announce\` without offers → announce reply. The WebSocket tracker returns peers only by forwarding WebRTC offers the announcer includes, so an announce without offers is its cheapest request: this favours the baseline. Join: ours WebSocket upgrade through the Worker (join-token HMAC check, Hono route) + \`hello\` → \`welcome\`; tracker upgrade + announce event=started.`,
      "Memory: RSS growth of the server process between the warmed-up idle state and K peers joined (workerd for ours — the Worker and the Durable Object share it; the tracker's own Node process), divided by K. Includes each server's WebSocket buffers.",
      "Runtime floor: a do-nothing Durable Object in the same workerd (bench/coordinator/floor-worker.ts: accepts hibernatable sockets, answers hello/want with fixed frames, no storage, no token check). What it costs is the runtime's (Miniflare's workerd: per-socket buffers, dispatch); the gap between it and ours is our code.",
      "CPU time per op = server CPU seconds during the ops phase ÷ ops: it holds whatever share of the 2 shared cores the server got, so it is the steadier figure when the machine is busy (load average in the header).",
      "The bench raises MAX_PEERS_PER_SHARD above K for the run, and the tracker's per-swarm peer LRU (default 1,000) likewise.",
    ];
    // Churn: peer-left frames per leave, broadcast (before) vs told-only (durable/leave-audience.ts).
    // A model over the object's real record class, ~1 s per 1,000 members (bench/coordinator/leave-fanout.ts).
    const churnKs = cfg.peers > 1000 ? [1000, cfg.peers] : [cfg.peers];
    const churn: (FanoutResult & { members: number })[] = [];
    for (const members of churnKs) {
      ctx.log(`churn model: K = ${members}`);
      churn.push({ members, ...measureLeaveFanout({ members, sessionS: 240, wantEveryS: 20, answer: 8, dials: 2, haveEveryS: 5 }) });
    }
    notes.push("Churn (model, not workerd): sessions exponential, mean 240 s, leavers replaced at once; a `want` on join and every 20 s, answered by 8 uniform members (a one-ASN swarm), 2 of them signalled; a `have` every 5 s tells 8 recent wanters. Before = the old broadcast to every member; after = members whose last 128 tells name the leaver. Frames/s at ~K/240 leaves/s.");
    if (swarmError) notes.push(`Our coordinator was not measured: ${swarmError.slice(0, 300)}`);
    for (const r of runs) if (r.firstError) notes.push(`${r.target}: first error: ${r.firstError.slice(0, 200)}`);
    return {
      rows: [
        ...(swarm.length && tracker.length ? [...rows(swarm, tracker), ...floorRows(floor, tracker)] : [
          { metric: "tracker ops/s", value: "—", baseline: fmtRange(tracker.map((r) => r.opsRate)), ratio: "—", target: "≥ 2×", status: "pending" as const },
        ]),
        ...churn.map((c) => ({
          metric: `peer-left frames per leave, K = ${c.members} (churn model; frames/s at K/240 leaves/s)`,
          value: `${fmt(c.framesAfter)} (${fmt((c.framesAfter * c.members) / 240)}/s)`,
          baseline: `${fmt(c.framesBefore)} broadcast (${fmt((c.framesBefore * c.members) / 240)}/s)`,
          ratio: `${fmt(c.framesAfter / c.framesBefore)}×`,
          target: "",
          status: "info" as const,
        })),
      ],
      notes,
      data: { config: cfg, runs, churn },
    };
  },
};
