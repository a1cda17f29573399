/**
 * Issue 11 "Done when": a bystander's `want` latency while each coordinator attack runs, against its
 * quiet value, in one workerd (Miniflare 4, the real Worker bundle). The bystander and the honest
 * members live in this process; each attack runs in a forked child of this same script, so the
 * attacker's own work never delays the bystander's clock.
 *
 *   node <bundle of this file> [members=200] [seconds=5]
 *
 * Scenarios (docs/coordinator.md "Threat model"): claims (a browser claiming all 65,536 chunks next
 * to a real supernode holding the item), pending sockets (one attacker reconnecting as fast as it
 * is let in, with 20 tokens), big wants (10 members naming 2,000 chunks each, as fast as allowed),
 * signal flood (5 members sending 15 KiB signals to one honest member), ping flood (5 members sending
 * `ping` as fast as their sockets take it: the runtime's auto-response, never rate-limited by the
 * object), stats flood (5 members reporting `Number.MAX_SAFE_INTEGER` counters at 50/s). Printed: p50 / p99 / max of
 * the bystander's sequential `want` round trips, and p50 ÷ quiet p50.
 */
import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { fork } from "node:child_process";
import { cpus } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { signJoinToken } from "../../functions/join-token";
import { encodeBitfield } from "../../protocol/swarm-protocol";
import { bundleWorker } from "../lib/worker-bundle";
import { BENCH_TOKEN_SECRET, benchBindings } from "../lib/edge-server";

const ROOT = "ab".repeat(32);
const CHUNKS = 4096; // a 1 GiB item of 256 KiB chunks
const ITEM = { chunks: CHUNKS, size: CHUNKS * 262_144 };
const CF = { colo: "FRA", country: "DE", continent: "EU", latitude: "50.11090", longitude: "8.68213", asn: 64500 };

type Scenario = "claims" | "pending" | "big-wants" | "signal-flood" | "ping-flood" | "stats-flood";
const SCENARIOS: Scenario[] = ["claims", "pending", "big-wants", "signal-flood", "ping-flood", "stats-flood"];

async function token(peerId: string, supernode = false): Promise<string> {
  return signJoinToken(BENCH_TOKEN_SECRET, { root: ROOT, peerId, expires: Date.now() + 3_600_000, ...ITEM, ...(supernode ? { supernode } : {}) });
}

/** A socket that joined, with a queue of frames. */
interface Member { id: string; ws: WebSocket; frames: string[]; waiter: ((f: string) => void) | null }

async function connect(port: number, id: string, opts: { have?: number[] | "all-65536"; kind?: "browser" | "supernode"; hello?: boolean } = {}): Promise<Member> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/swarm/${ROOT}?token=${encodeURIComponent(await token(id, opts.kind === "supernode"))}`);
  const m: Member = { id, ws, frames: [], waiter: null };
  ws.on("message", (d) => {
    const f = d.toString();
    if (m.waiter) {
      const w = m.waiter;
      m.waiter = null;
      w(f);
    } else if (m.frames.length < 64) m.frames.push(f);
  });
  await new Promise<void>((resolve, reject) => (ws.once("open", () => resolve()), ws.once("error", reject)));
  if (opts.hello === false) return m;
  const have = opts.have === "all-65536" ? encodeBitfield(Array.from({ length: 65_536 }, (_, i) => i), 65_536)
    : encodeBitfield(opts.have ?? [], CHUNKS);
  ws.send(JSON.stringify({ type: "hello", version: PROTOCOL_VERSION, peerId: id, kind: opts.kind ?? "browser", have, uploadSlots: 4 }));
  await next(m, (f) => f.includes('"welcome"'));
  return m;
}

function next(m: Member, pred: (f: string) => boolean): Promise<string> {
  const i = m.frames.findIndex(pred);
  if (i >= 0) return Promise.resolve(m.frames.splice(i, 1)[0]!);
  return new Promise((resolve) => {
    const wait = (f: string) => (pred(f) ? resolve(f) : (m.waiter = wait));
    m.waiter = wait;
  });
}

const randomChunks = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * CHUNKS));

/** Sequential `want` round trips for `ms`; returns latencies (ms). */
async function measure(b: Member, ms: number): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ms;
  for (let k = 0; performance.now() < end; k++) {
    const t0 = performance.now();
    // Alternately a want naming 16 chunks and an "any chunk" want, as the SDK sends both.
    b.ws.send(JSON.stringify(k % 2 === 0 ? { type: "want", chunks: randomChunks(16), max: 8 } : { type: "want", max: 8 }));
    await next(b, (f) => f.startsWith('{"type":"peers"'));
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20)); // ~40 wants/s: under the 50/s rate limit
  }
  return out;
}

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

// ---- the attacker (a forked child) ----

async function attack(port: number, scenario: Scenario, victim: string): Promise<void> {
  let stop = false;
  process.on("message", () => void (stop = true));
  const paced = async (f: () => void | Promise<void>, perSecond: number) => {
    while (!stop) {
      await f();
      await new Promise((r) => setTimeout(r, 1000 / perSecond));
    }
  };
  if (scenario === "claims") {
    await connect(port, `supernode-${process.pid}`, { kind: "supernode", have: Array.from({ length: CHUNKS }, (_, i) => i) });
    await connect(port, `liar-000-${process.pid}`, { have: "all-65536" });
    process.send!("ready");
    await paced(() => {}, 10);
  } else if (scenario === "pending") {
    process.send!("ready");
    const ids = Array.from({ length: 20 }, (_, i) => `pending-${process.pid}-${i}`);
    let k = 0;
    await paced(async () => {
      const id = ids[k++ % ids.length]!;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/swarm/${ROOT}?token=${encodeURIComponent(await token(id))}`);
      ws.on("error", () => {});
    }, 200);
  } else if (scenario === "big-wants") {
    const ms = await Promise.all(Array.from({ length: 10 }, (_, i) => connect(port, `bigwant-${process.pid}-${i}`)));
    process.send!("ready");
    const chunks = Array.from({ length: 2000 }, (_, i) => i);
    const frame = JSON.stringify({ type: "want", chunks, max: 32 });
    await paced(() => ms.forEach((m) => m.ws.send(frame)), 50);
  } else if (scenario === "ping-flood") {
    const ms = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(port, `pings-${process.pid}-${i}`)));
    process.send!("ready");
    // 200 pings per socket per round, as fast as the socket's buffer drains (pongs discarded).
    await paced(async () => {
      for (const m of ms) for (let k = 0; k < 200; k++) m.ws.send("ping");
      await new Promise<void>((r) => (ms.every((m) => m.ws.bufferedAmount < 65_536) ? r() : setTimeout(r, 5)));
    }, 200);
  } else if (scenario === "stats-flood") {
    const ms = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(port, `stats-${process.pid}-${i}`)));
    process.send!("ready");
    const frame = JSON.stringify({ type: "stats", fromPeers: Number.MAX_SAFE_INTEGER, fromEdge: 0, uploaded: Number.MAX_SAFE_INTEGER });
    await paced(() => ms.forEach((m) => m.ws.send(frame)), 50);
  } else {
    const ms = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(port, `signals-${process.pid}-${i}`)));
    process.send!("ready");
    const frame = JSON.stringify({ type: "signal", to: victim, data: { description: { type: "offer", sdp: "x".repeat(15 * 1024) } } });
    await paced(() => ms.forEach((m) => m.ws.send(frame)), 50);
  }
}

// ---- the host ----

async function main(): Promise<void> {
  const members = Number(process.argv[2] ?? 200);
  const seconds = Number(process.argv[3] ?? 5);
  const persist = mkdtempSync(join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), "attack-load-"));
  // BENCH_ATTACK_ROOT: another checkout (e.g. a worktree of an older commit) to measure "before";
  // BENCH_ATTACK_CLASS: its Durable Object class name.
  const script = bundleWorker(process.env.BENCH_ATTACK_ROOT ?? process.cwd());
  const mf = new Miniflare({
    host: "127.0.0.1", port: 0, cf: CF, durableObjectsPersist: persist,
    workers: [{
      name: "edgeswarm", modules: true, scriptPath: script, modulesRoot: dirname(script), compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"],
      bindings: benchBindings({ "/bench/": "http://127.0.0.1:9/" }),
      durableObjects: { SWARM: { className: process.env.BENCH_ATTACK_CLASS ?? "SwarmCoordinator", useSQLite: true } },
    }],
  });
  const port = Number((await mf.ready).port);
  try {
    for (let i = 0; i < members; i += 20)
      await Promise.all(Array.from({ length: Math.min(20, members - i) }, (_, k) => connect(port, `member-${i + k}`, { have: randomChunks(2048) })));
    const victim = await connect(port, "victim-0000", { have: randomChunks(64) });
    const bystander = await connect(port, "bystander-0");
    await measure(bystander, 1000); // warm-up
    const quiet = await measure(bystander, seconds * 1000);
    console.log(`# coordinator attacks: ${members} members, item of ${CHUNKS} chunks, ${seconds} s each; host CPU: ${cpus()[0]?.model} × ${cpus().length}`);
    console.log(`| scenario | wants | p50 ms | p99 ms | max ms | p50 / quiet p50 |`);
    console.log(`|---|---|---|---|---|---|`);
    const row = (name: string, xs: number[]) =>
      console.log(`| ${name} | ${xs.length} | ${q(xs, 0.5).toFixed(2)} | ${q(xs, 0.99).toFixed(2)} | ${Math.max(...xs).toFixed(2)} | ${(q(xs, 0.5) / q(quiet, 0.5)).toFixed(2)} |`);
    row("quiet", quiet);
    const only = process.env.BENCH_ATTACKS?.split(",") ?? null; // e.g. BENCH_ATTACKS=ping-flood,stats-flood
    for (const scenario of SCENARIOS.filter((x) => only === null || only.includes(x))) {
      const child = fork(process.argv[1]!, ["attack", String(port), scenario, victim.id], { stdio: "inherit" });
      await new Promise<void>((resolve) => child.once("message", () => resolve()));
      await new Promise((r) => setTimeout(r, 500)); // the attack in full swing
      const xs = await measure(bystander, seconds * 1000);
      child.send("stop");
      child.kill();
      await new Promise((r) => setTimeout(r, 1500)); // let the object drain
      row(scenario, xs);
    }
  } finally {
    await mf.dispose();
    rmSync(persist, { recursive: true, force: true });
  }
  process.exit(0);
}

if (process.argv[2] === "attack") void attack(Number(process.argv[3]), process.argv[4] as Scenario, process.argv[5]!);
else main().catch((e: unknown) => { console.error(e); process.exit(1); });
