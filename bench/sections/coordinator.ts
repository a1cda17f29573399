/**
 * Section 3 — Coordinator: our Swarm Durable Object (the real Worker bundle in Miniflare/workerd) vs
 * bittorrent-tracker's WebSocket tracker, same machine, same load generator, same run, op for op:
 * K peers (1,000 / 4,000) in 1 swarm or spread over 50, then closed-loop signalling rounds (ask for
 * peers, offer, answer — and the same with trickled ICE candidates) on both servers, and open-loop
 * paced frames of each message type on ours and on the runtime floor (a Durable Object that does
 * the least each message needs, in the same workerd). We report server CPU per op, per round and per
 * link, per message type ÷ floor, per join, and RSS growth per connected peer.
 *
 * Per shape: the tracker alone in a fresh process; then ours and the floor, both started (fresh
 * processes) and measured phase by phase in alternation — never two phases at once — so drift in
 * the shared host's load hits both alike; each ÷ floor row is a median over repeats with its range
 * (`runPair`). Diagnostic variables for iterating on one case: `configOf`, docs/coordinator.md.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { SectionContext, Section } from "../lib/section";
import { fmt, median, summarize } from "../lib/stats";
import { bundleWorker } from "../lib/worker-bundle";
import type { Row } from "../lib/report";
import { FLOOR_WORKER_SOURCE } from "../coordinator/floor-worker";
import { type FanoutResult, measureLeaveFanout } from "../coordinator/leave-fanout";
import type { PacedKind, Target } from "../coordinator/load-protocol";
import { type JoinRun, type PacedRun, type RoundsRun, type Scripts, type SessionConfig, type Shape, ServerSession } from "../coordinator/server-session";

const CHUNKS = 64; // a 16 MiB item in 256 KiB chunks
const NUMWANT = 10;
/** Trickled candidates per side per link in an ICE round (a host and a server-reflexive one). */
const ICE = 2;
const PACED: readonly PacedKind[] = ["want-chunks", "want-any", "signal", "have", "stats"];
/** Past the object's flush alarm (statsFlushMs = 2 s after the first frame that armed it). */
const FLUSH_WAIT_MS = 2500;
/** Swarm root / tracker info_hash of swarm `i`. */
const rootOf = (i: number) => createHash("sha256").update(`edgeswarm bench swarm ${i}`).digest("hex");
const infoHashOf = (i: number) => `bench-info-hash-${String(i).padStart(4, "0")}`; // 20 characters, as the tracker requires

interface Config {
  shapes: Shape[];
  warmPeers: number;
  loadProcs: number;
  concurrencyPerProc: number;
  roundMs: number;
  /** One ICE-rounds phase per repeat and server (ours vs floor, per link). */
  iceMs: number;
  pacedMs: number;
  /** Frames/s per paced phase, all load processes together (well below any server's capacity). */
  pacedRate: number;
  pacedKinds: readonly PacedKind[];
  /**
   * Ours vs the floor: each paced kind and the ICE rounds run this many times per server, alternating
   * ours and the floor (who goes first alternates too), and the joins are split in this many parts,
   * alternating likewise; a row is the median, its range printed beside it.
   */
  repeats: number;
  /** Wait for the object's flush alarm after joins and `have`/`stats` (0: not counted, quick only). */
  flushWaitMs: number;
  /** Longest wait for the server to fall idle after a phase (a busy host's neighbours keep it from ever being quiet). */
  idleCapMs: number;
}

// Quick (a smoke test; `npm run bench -- --quick` ≤ 2 min in all): one small shape, short phases, no
// `stats` phase, and the flush alarm not waited for (join and `have` CPU then exclude their SQLite writes).
const QUICK: Config = {
  shapes: [{ peers: 200, swarms: 1 }], warmPeers: 8, loadProcs: 2, concurrencyPerProc: 8, roundMs: 700, iceMs: 400, pacedMs: 500, pacedRate: 1500,
  pacedKinds: PACED.filter((k) => k !== "stats"), repeats: 3, flushWaitMs: 0, idleCapMs: 2000,
};
const FULL: Config = {
  shapes: [{ peers: 1000, swarms: 1 }, { peers: 1000, swarms: 50 }, { peers: 4000, swarms: 1 }, { peers: 4000, swarms: 50 }],
  warmPeers: 128, loadProcs: 2, concurrencyPerProc: 16, roundMs: 4000, iceMs: 2000, pacedMs: 1500, pacedRate: 2000, pacedKinds: PACED, repeats: 3,
  flushWaitMs: FLUSH_WAIT_MS, idleCapMs: 15_000,
};

/** Everything measured of one server and shape. */
export interface TargetRun {
  target: Target;
  shape: Shape;
  /** One join phase (the tracker), or one per part (ours and the floor, alternating). */
  joins: JoinRun[];
  joined: number;
  joinErrors: number;
  joinLatency: ReturnType<typeof summarize>;
  rssBeforeMiB: number;
  rssJoinedMiB: number;
  bytesPerPeer: number;
  /** Growth of the Durable Objects' SQLite files per peer (0 for the tracker: it keeps no storage). */
  sqliteBytesPerPeer: number;
  /** Median server CPU µs per join over the parts. */
  cpuPerJoin: number;
  /** Closed-loop op rounds (ours and the tracker). */
  ops: RoundsRun | null;
  /** ICE rounds, one per repeat. */
  ice: RoundsRun[];
  /** Paced phases, `repeats` per kind. */
  paced: PacedRun[];
  firstError?: string;
}

/** Median and range of a sample. */
interface Spread {
  med: number;
  min: number;
  max: number;
}
const spread = (xs: number[]): Spread => ({ med: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const perLink = (r: RoundsRun) => r.cpuPerRound / Math.max(1, r.linksPerRound);

function targetRun(s: ServerSession, joins: JoinRun[], ops: RoundsRun | null, ice: RoundsRun[], paced: PacedRun[]): TargetRun {
  const lat = joins.flatMap((j) => j.latenciesMs);
  const joined = lat.length;
  const firstError = joins.find((j) => j.firstError)?.firstError ?? ops?.firstError ?? ice.find((r) => r.firstError)?.firstError ?? paced.find((p) => p.firstError)?.firstError;
  return {
    target: s.target, shape: s.shape, joins, joined, joinErrors: joins.reduce((a, j) => a + j.errors, 0), joinLatency: summarize(lat),
    ...s.memory(joined), cpuPerJoin: median(joins.map((j) => j.cpuPerJoin)), ops, ice, paced, ...(firstError ? { firstError } : {}),
  };
}

/** The tracker: all peers join at once, then the op and ICE rounds. */
async function runTracker(shape: Shape, cfg: Config, scfg: SessionConfig, ctx: SectionContext): Promise<TargetRun> {
  const s = await ServerSession.open("tracker", shape, scfg, {}, infoHashOf);
  try {
    ctx.log(`${s.label}: joining`);
    const j = await s.join(undefined, 0);
    ctx.log(`${s.label}: signalling rounds, ${cfg.roundMs / 1000} s without and with ICE`);
    const ops = await s.rounds(0, cfg.roundMs);
    const ice = await s.rounds(ICE, cfg.roundMs);
    const run = targetRun(s, [j], ops, [ice], []);
    ctx.log(`${s.label}: op ${fmt(ops.cpuPerRound)} µs, ICE round ${fmt(ice.cpuPerRound)} µs, join ${fmt(run.cpuPerJoin)} µs, ${fmt(run.bytesPerPeer / 1024)} KiB/peer`);
    return run;
  } finally {
    await s.close();
  }
}

/**
 * Ours and the floor, both open, phase by phase alternating: joins in `repeats` parts, ours' op rounds
 * (for the tracker rows), then per repeat an ICE-rounds phase each, then per kind and repeat a paced
 * phase each. Both get the same command sequence from load processes of the same seeds, so the same
 * frames; the flush-alarm wait is ours only (the floor has no deferred work; the wait counts against us).
 */
async function runPair(shape: Shape, cfg: Config, scfg: SessionConfig, scripts: Scripts, ctx: SectionContext): Promise<{ swarm?: TargetRun; floor?: TargetRun }> {
  const targets = (["swarm", "floor"] as const).filter((t) => scripts[t]);
  const open: ServerSession[] = [];
  try {
    for (const t of targets) open.push(await ServerSession.open(t, shape, scfg, scripts, rootOf));
    const R = cfg.repeats;
    const joins = open.map((): JoinRun[] => []), ice = open.map((): RoundsRun[] => []), paced = open.map((): PacedRun[] => []);
    /** Runs `fn` for each session, the first one first on even `rep`, last on odd. */
    const alternate = async (rep: number, fn: (s: ServerSession, i: number) => Promise<void>) => {
      const order = open.map((_, i) => i);
      if (rep % 2 === 1) order.reverse();
      for (const i of order) await fn(open[i]!, i);
    };
    const drainOf = (s: ServerSession) => (s.target === "swarm" ? cfg.flushWaitMs : 0);
    ctx.log(`${shapeName(shape)}: ${targets.join(" / ")} joining in ${R} parts`);
    for (let r = 0; r < R; r++) await alternate(r, async (s, i) => void joins[i]!.push(await s.join({ index: r, of: R }, drainOf(s))));
    const memory = open.map((s, i) => s.memory(joins[i]!.reduce((a, j) => a + j.joined, 0)));
    const ours = open.findIndex((s) => s.target === "swarm");
    const ops = ours >= 0 ? await open[ours]!.rounds(0, cfg.roundMs) : null;
    ctx.log(`${shapeName(shape)}: ICE rounds × ${R}, paced ${cfg.pacedKinds.join(", ")} × ${R}`);
    for (let r = 0; r < R; r++) await alternate(r, async (s, i) => void ice[i]!.push(await s.rounds(ICE, cfg.iceMs)));
    for (const kind of cfg.pacedKinds) {
      // have/stats arm the object's flush alarm (SQLite, ≤ 2 s later): its CPU belongs to them.
      const drain = (s: ServerSession) => (kind === "have" || kind === "stats" ? drainOf(s) : 0);
      const frames = Math.round((cfg.pacedRate * cfg.pacedMs) / 1000);
      for (let r = 0; r < R; r++) await alternate(r, async (s, i) => void paced[i]!.push(await s.paced(kind, cfg.pacedRate, (frames / cfg.pacedRate) * 1000, drain(s))));
    }
    const out: { swarm?: TargetRun; floor?: TargetRun } = {};
    open.forEach((s, i) => {
      const run = { ...targetRun(s, joins[i]!, s.target === "swarm" ? ops : null, ice[i]!, paced[i]!), ...memory[i]! };
      out[s.target as "swarm" | "floor"] = run;
      const per = cfg.pacedKinds.map((k) => `${k} ${fmt(spread(run.paced.filter((p) => p.kind === k).map((p) => p.cpuPerFrame)).med)}`);
      ctx.log(`${s.label}: join ${fmt(run.cpuPerJoin)} µs, ${fmt(run.bytesPerPeer / 1024)} KiB/peer, ICE per link ${fmt(spread(run.ice.map(perLink)).med)} µs; per frame (median) ${per.join(", ")} µs`);
    });
    return out;
  } finally {
    await Promise.all(open.map((s) => s.close()));
  }
}

const ratio = (a: number, b: number) => `${fmt(a / b)}×`;
const shapeName = (s: Shape) => `${s.peers.toLocaleString("en-US")} peers, ${s.swarms === 1 ? "1 swarm" : `${s.swarms} swarms`}`;

/** Ours vs the tracker, op for op, for one shape (ICE: ours' median over the repeats). */
function trackerRows(s: TargetRun, t: TargetRun): Row[] {
  const at = shapeName(s.shape);
  const so = s.ops!, to = t.ops!;
  const sIce = medianRun(s.ice), tIce = t.ice[0]!;
  const errs = (r: TargetRun) => `${r.joinErrors} / ${(r.ops?.errors ?? 0) + r.ice.reduce((a, x) => a + x.errors, 0)}`;
  const allErrs = [s, t].reduce((a, r) => a + r.joinErrors + (r.ops?.errors ?? 0) + r.ice.reduce((b, x) => b + x.errors, 0), 0);
  return [
    { metric: `server CPU per op: ask + ${NUMWANT} offers + ${NUMWANT} answers (µs), ${at}`, value: fmt(so.cpuPerRound), baseline: fmt(to.cpuPerRound), ratio: ratio(so.cpuPerRound, to.cpuPerRound), target: "≤ 1×", status: so.cpuPerRound <= to.cpuPerRound ? "pass" : "fail" },
    { metric: `server CPU per full signalling round (+ ${ICE} ICE candidates each way per link) (µs), ${at}`, value: fmt(sIce.cpuPerRound), baseline: fmt(tIce.cpuPerRound), ratio: ratio(sIce.cpuPerRound, tIce.cpuPerRound), target: "report", status: "info" },
    { metric: `  … per new link (µs), ${at}`, value: fmt(perLink(sIce)), baseline: fmt(perLink(tIce)), ratio: ratio(perLink(sIce), perLink(tIce)), target: "", status: "info" },
    { metric: `ops/s, closed loop (${NUMWANT} links each), latency p50 / p99, ${at}`, value: `${fmt(so.rate)}; ${fmt(so.latency.p50)} / ${fmt(so.latency.p99)} ms`, baseline: `${fmt(to.rate)}; ${fmt(to.latency.p50)} / ${fmt(to.latency.p99)} ms`, ratio: ratio(so.rate, to.rate), target: "", status: "info" },
    { metric: `server CPU per join (µs), ${at}`, value: fmt(s.cpuPerJoin), baseline: fmt(t.cpuPerJoin), ratio: ratio(s.cpuPerJoin, t.cpuPerJoin), target: "≤ 1×", status: s.cpuPerJoin <= t.cpuPerJoin ? "pass" : "fail" },
    { metric: `server memory per connected peer (RSS growth), ${at}`, value: `${fmt(s.bytesPerPeer / 1024)} KiB`, baseline: `${fmt(t.bytesPerPeer / 1024)} KiB`, ratio: ratio(s.bytesPerPeer, t.bytesPerPeer), target: "report", status: "info" },
    { metric: `storage per peer (SQLite + WAL growth), ${at}`, value: `${fmt(s.sqliteBytesPerPeer / 1024)} KiB`, baseline: "0 (keeps no storage)", ratio: "", target: "", status: "info" },
    { metric: `errors (join / rounds), ${at}`, value: errs(s), baseline: errs(t), ratio: "", target: "0", status: allErrs > 0 ? "fail" : "pass" },
  ];
}

/** The run of median CPU per round among `runs`. */
function medianRun(runs: RoundsRun[]): RoundsRun {
  const sorted = [...runs].sort((a, b) => perLink(a) - perLink(b));
  return sorted[(sorted.length - 1) >> 1]!;
}

/** `median (min–max)` of a spread, in µs. */
const spreadText = (x: Spread) => (x.min === x.max ? `${fmt(x.med)} µs` : `${fmt(x.med)} µs (${fmt(x.min)}–${fmt(x.max)})`);

/**
 * Ours vs the floor, per message type, for one shape: medians over the alternating repeats, ranges
 * beside them. Error frames on either side are named in the row, and the floor's fail it: a floor
 * that errs (e.g. answers empty `peers`) did less than the message's job, so the ratio is void.
 */
function floorRows(s: TargetRun, f: TargetRun): Row[] {
  const at = shapeName(s.shape);
  const out: Row[] = [];
  const row = (name: string, a: number[], b: number[], errs: [number, number] = [0, 0]): Row => {
    const x = spread(a), y = spread(b);
    const note = [errs[0] ? `ours: ${errs[0]} errors` : "", errs[1] ? `floor: ${errs[1]} errors` : ""].filter(Boolean).join(", ");
    const ok = x.med <= 2 * y.med && errs[1] === 0;
    return { metric: `CPU per message ÷ floor: ${name}, ${at}${note ? ` (${note})` : ""}`, value: spreadText(x), baseline: spreadText(y), ratio: ratio(x.med, y.med), target: "≤ 2×", status: ok ? "pass" : "fail" };
  };
  out.push(row("join (upgrade + hello)", s.joins.map((j) => j.cpuPerJoin), f.joins.map((j) => j.cpuPerJoin), [s.joinErrors, f.joinErrors]));
  const kinds = [...new Set(s.paced.map((p) => p.kind))];
  for (const kind of kinds) {
    const mine = s.paced.filter((p) => p.kind === kind), theirs = f.paced.filter((p) => p.kind === kind);
    if (theirs.length === 0) continue;
    const name = { "want-chunks": "`want` naming the chunks it misses", "want-any": "`want` without chunks", signal: "`signal`", have: "`have` (one new chunk)", stats: "`stats`" }[kind];
    const errs = (ps: PacedRun[]) => ps.reduce((a, p) => a + p.errors, 0);
    out.push(row(name, mine.map((p) => p.cpuPerFrame), theirs.map((p) => p.cpuPerFrame), [errs(mine), errs(theirs)]));
  }
  const iceErrs = (r: TargetRun) => r.ice.reduce((a, x) => a + x.errors, 0);
  out.push(row(`full round per link (+ ${ICE} ICE each way)`, s.ice.map(perLink), f.ice.map(perLink), [iceErrs(s), iceErrs(f)]));
  return out;
}

/** The note on joins vs the tracker, with this run's figures (floor's join ÷ tracker's, ours ÷ floor's). */
function joinNote(runs: TargetRun[]): string {
  const range = (xs: number[]) => (xs.length === 0 ? "n/a" : `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`);
  const of = (t: Target, sh: Shape) => runs.find((r) => r.target === t && r.shape === sh);
  const floorVsTracker: number[] = [], oursVsFloor: number[] = [];
  for (const sh of new Set(runs.map((r) => r.shape))) {
    const s = of("swarm", sh), f = of("floor", sh), t = of("tracker", sh);
    if (f && t) floorVsTracker.push(f.cpuPerJoin / t.cpuPerJoin);
    if (s && f) oursVsFloor.push(s.cpuPerJoin / f.cpuPerJoin);
  }
  return "Joins vs the tracker (issue 18's \"joins cost ≤ the tracker's\"): bounded by the runtime, not by our code. The floor's own join — a Worker that forwards the upgrade to a Durable Object, `acceptWebSocket` of a hibernatable socket with a one-field attachment, `hello` → `welcome` — " +
    `costs ${range(floorVsTracker)}× a whole tracker join in this run, before any of our work. That is two isolate entries per join (the Worker's fetch and the object's, joined by an internal request) plus workerd's per-socket hibernation bookkeeping, none of which a Node \`ws\` server pays. Ours adds on top (${range(oursVsFloor)}× the floor): the join token's HMAC verify (WebCrypto; the imported key is cached per isolate) and purge check, Hono routing and the connect request's headers, the per-peer-id connect bucket, the member index insert, and the member rows the flush alarm upserts in SQLite (25 per statement). So the reachable target is the floor's, ≤ 2×; ≤ the tracker would need a join that skips the Worker hop or the hibernation API, which the platform does not offer.`;
}

/** The section's configuration: quick or full, narrowed by the diagnostic variables (see the section's docs). */
function configOf(quick: boolean): Config {
  const cfg = { ...(quick ? QUICK : FULL) };
  // Diagnostics only (the published table uses the defaults), for iterating on one case:
  // BENCH_COORDINATOR_PEERS=<K>[,<swarms>] one shape; BENCH_COORDINATOR_KINDS=want-chunks,… only these
  // paced kinds; BENCH_COORDINATOR_REPEATS=<n> repeats (and join parts) per server.
  const [k, sw] = (process.env.BENCH_COORDINATOR_PEERS ?? "").split(",").map(Number);
  if (Number.isSafeInteger(k) && k! > 0) cfg.shapes = [{ peers: k!, swarms: Number.isSafeInteger(sw) && sw! > 0 ? sw! : 1 }];
  const kinds = process.env.BENCH_COORDINATOR_KINDS?.split(",").filter((x) => x !== "");
  if (kinds) cfg.pacedKinds = PACED.filter((x) => kinds.includes(x));
  const reps = Number(process.env.BENCH_COORDINATOR_REPEATS);
  if (Number.isSafeInteger(reps) && reps > 0) cfg.repeats = reps;
  return cfg;
}

export const coordinatorSection: Section = {
  id: "coordinator",
  number: 3,
  title: "Coordinator: Swarm Durable Object (Miniflare) vs bittorrent-tracker WebSocket tracker, op for op",
  budgetS: { quick: 75, full: 780 },
  async run(ctx) {
    const cfg = configOf(ctx.quick);
    const scfg: SessionConfig = { warmPeers: cfg.warmPeers, loadProcs: cfg.loadProcs, concurrencyPerProc: cfg.concurrencyPerProc, idleCapMs: cfg.idleCapMs, chunks: CHUNKS, numwant: NUMWANT, quick: ctx.quick };
    // BENCH_COORDINATOR_TARGETS=swarm,floor (diagnostics): only these servers.
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
    if (!only || only.includes("floor")) {
      scripts.floor = join(ctx.tmp, "floor-worker.mjs");
      writeFileSync(scripts.floor, FLOOR_WORKER_SOURCE);
    }
    const loads: number[] = [loadavg()[0]!];
    const runs: TargetRun[] = [];
    for (const shape of cfg.shapes) {
      if (!only || only.includes("tracker")) runs.push(await runTracker(shape, cfg, scfg, ctx));
      loads.push(loadavg()[0]!);
      const pair = await runPair(shape, cfg, scfg, scripts, ctx);
      for (const r of [pair.swarm, pair.floor]) if (r) runs.push(r);
      loads.push(loadavg()[0]!);
    }
    const rows: Row[] = [];
    for (const shape of cfg.shapes) {
      const of = (t: Target) => runs.find((r) => r.target === t && r.shape === shape);
      const s = of("swarm"), t = of("tracker"), f = of("floor");
      if (s && t) rows.push(...trackerRows(s, t));
      if (s && f) rows.push(...floorRows(s, f));
    }
    const phaseLoads = runs.flatMap((r) => [...r.joins.map((j) => j.load), ...r.paced.map((p) => p.load)]).concat(loads);
    const shapes = cfg.shapes.map(shapeName).join("; ") + (ctx.quick ? " (quick: a smoke test; the flush alarm is not waited for, so join and `have` CPU exclude their SQLite writes; the published figures are the full run's)" : "");
    const notes = [
      `Shapes: ${shapes}. Peers of a shape are spread round-robin over its swarms (one Durable Object per swarm root for ours and the floor, one info_hash per swarm for the tracker). ${cfg.loadProcs} load-generator processes (ws, no compression), ${cfg.concurrencyPerProc} rounds in flight per process (closed loop, one per socket), ${cfg.roundMs / 1000} s per op-rounds phase, ${cfg.iceMs / 1000} s per ICE-rounds phase, paced phases of exactly ${fmt((cfg.pacedRate * cfg.pacedMs) / 1000)} frames at ${cfg.pacedRate} frames/s in all. Each peer holds a random half of ${CHUNKS} chunks. Load average (1 min) during the section: ${fmt(Math.min(...phaseLoads))}–${fmt(Math.max(...phaseLoads))}.`,
      `Ours vs the floor (the ÷ floor rows): both servers are up at once (each its own workerd and load processes; only one works at a time) and their phases alternate — joins in ${cfg.repeats} parts (one peer in ${cfg.repeats} each: both see the same membership sizes), then per repeat one ICE-rounds phase each, then per paced kind ${cfg.repeats} phases each; who goes first alternates per repeat. Load processes of the same seeds get the same command sequence, so both servers are sent the same frames. A row is the median of the ${cfg.repeats} (range in brackets) and its ratio the ratio of medians, so one noisy phase does not decide it. The flush-alarm wait (2.5 s after joins, \`have\` and \`stats\`) is ours only: the floor has no deferred work, and any background CPU in the wait counts against ours. The tracker runs on its own (one join phase, one op and one ICE phase), never beside another server.`,
      `Op (the same work on both sides: one peer finds ${NUMWANT} peers and exchanges an offer and an answer with each). Ours: \`want\` naming the chunks the peer misses (as client/swarm-client.ts sends it, \`max\` ${NUMWANT}) → \`peers\`; then a \`signal\` offer to each → relayed; each peer's \`signal\` answer → relayed back: 1 + 2·${NUMWANT} frames in, 1 + 2·${NUMWANT} out. Tracker: \`announce\` carrying ${NUMWANT} offers → announce reply, the offers forwarded to ${NUMWANT} random peers of the swarm; each peer's \`announce\` with its answer → forwarded to the announcer: 1 + ${NUMWANT} frames in, 1 + 2·${NUMWANT} out. The op ends when the asker holds every answer; server CPU per op = server CPU seconds from the phase's start until the server is idle again ÷ ops.`,
      `Full signalling round: the op plus ICE. Ours trickles ${ICE} candidates each way per link (one \`signal\` each, as client/peer-link.ts sends them): 1 + ${2 + 2 * ICE}·${NUMWANT} frames in. The tracker protocol has no trickle (WebTorrent's clients gather candidates before announcing): its offers and answers carry the ${ICE} candidate lines in the SDP instead, same frame count as the op. Per link = per round ÷ links the round set up.`,
      "Join: ours WebSocket upgrade through the Worker (Hono route, join-token HMAC check, internal request to the object) + `hello` → `welcome`; tracker upgrade + `announce` event=started → reply. CPU per join = server CPU from the first join of a part until the server is idle after the flush alarm the joins armed (ours writes the members' rows then) ÷ joins of the part; ours and the floor: the median over the parts.",
      "Per message type (ours and the floor only, open loop, paced, the same frames to both): `want` naming the chunks the peer misses / `want` without chunks (→ `peers` of 10), `signal` (an ICE candidate to a random member of the same swarm → relayed), `have` of one new chunk (ours may push `peer-have` to recent wanters lacking it and batches the SQLite write to the flush alarm), `stats` (ours batches it). Server CPU from the phase's start until the server is idle again (< 2 ms of CPU per 100 ms; for `have`/`stats` after 2.5 s first, so the flush alarm's SQLite writes count) ÷ frames sent: frames queued on a busy host count for their own phase.",
      "Runtime floor: a Durable Object in the same workerd that does only what each message needs (bench/coordinator/floor-worker.ts): accepts hibernatable sockets; `hello` → remembers the peer (memory + a one-field attachment) → `welcome`; `want` → `peers` of up to `max` random other members, pre-encoded entries of our shape; `signal` → relayed to the target (`peer-gone` error to the sender when it is not a member, as ours); `have` → bits set in memory; after a wake (workerd evicts an object whose sockets were idle ~10 s), the member list rebuilt from the attachments; no ranking, no token check, no rate limits, no storage. The gap between it and ours is our code.",
      "Memory: RSS growth of the server process between the warmed-up idle state and K peers joined (workerd for ours — the Worker and the Durable Objects share it; the tracker's own Node process), divided by K. Includes each server's WebSocket buffers.",
      "Figure to beat, not a same-run row: wt-tracker (the tracker P2P Media Loader recommends; not installable from the registry here), its tracker logic measured on this machine over `ws`, ~28 µs per announce and 7.6 KiB per peer.",
      joinNote(runs),
      "The bench raises MAX_PEERS_PER_SHARD above K for the run and sets MAX_SUBSHARDS to 1 (each swarm one object, as for the floor: no spill-over to sub-shards when an object is over its request budget), and raises the tracker's per-swarm peer LRU (default 1,000) likewise.",
    ];
    // Churn: peer-left frames per leave, broadcast (before) vs told-only (durable/leave-audience.ts).
    // A model over the object's real record class, ~1 s per 1,000 members (bench/coordinator/leave-fanout.ts).
    const churnKs = [...new Set(cfg.shapes.map((s) => s.peers))];
    const churn: (FanoutResult & { members: number })[] = [];
    for (const members of churnKs) {
      ctx.log(`churn model: K = ${members}`);
      churn.push({ members, ...measureLeaveFanout({ members, sessionS: 240, wantEveryS: 20, answer: 8, dials: 2, haveEveryS: 5 }) });
    }
    notes.push("Churn (model, not workerd): sessions exponential, mean 240 s, leavers replaced at once; a `want` on join and every 20 s, answered by 8 uniform members (a one-ASN swarm), 2 of them signalled; a `have` every 5 s tells 8 recent wanters. Before = the old broadcast to every member; after = members whose last 128 tells name the leaver. Frames/s at ~K/240 leaves/s.");
    if (swarmError) notes.push(`Our coordinator was not measured: ${swarmError.slice(0, 300)}`);
    for (const r of runs) if (r.firstError) notes.push(`${r.target} (${shapeName(r.shape)}): first error: ${r.firstError.slice(0, 200)}`);
    return {
      rows: [
        ...rows,
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
