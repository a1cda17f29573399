/**
 * A load-generator process for the coordinator bench (forked by sections/coordinator.ts). It holds
 * a share of the simulated peers as real WebSocket connections (`ws`, no compression, as browsers
 * would negotiate with either server) and runs phases on command: join, closed-loop operations,
 * close. Every operation is timed here, from just before `send` to the reply's arrival, with the
 * same code path for both servers, and each phase reports this process's own CPU time so the
 * parent can show the load generator was not the bottleneck.
 *
 * Equivalent operations:
 * - join:      swarm `hello` → `welcome`   |  tracker `announce` event=started → announce reply
 * - operation: swarm `want` (max N) → `peers` (N ranked peers with bitfields)
 *              |  tracker `announce` (periodic update, no offers) → announce reply (counts only).
 *   The WebSocket tracker hands out peers only by forwarding WebRTC offers the announcer includes
 *   (numwant = offers.length); announcing without offers is its cheapest request, which favours
 *   the baseline.
 */
import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import WebSocket from "ws";
import { signJoinToken } from "../../functions/join-token";
import { encodeBitfield } from "../../protocol/swarm-protocol";
import { Rng } from "../../sim/prng";
import type { Group, LoadCommand, LoadReport } from "./load-protocol";

type Init = Extract<LoadCommand, { cmd: "init" }>;

interface Peer {
  id: string;
  url: string;
  have: string;
  ws: WebSocket | null;
  /** Called with the reply frame (or an error) of the one request in flight on this socket. */
  waiting: ((frame: string | Error) => void) | null;
  unsolicited: number;
}

/** What differs between the two servers. */
interface Dialect {
  join(p: Peer): string;
  op(p: Peer): string;
  /** "reply" = answer to the request in flight; "error" = error frame; "push" = anything else. */
  classify(frame: string): "reply" | "error" | "push";
}

function swarmDialect(init: Init): Dialect {
  return {
    join: (p) => JSON.stringify({ type: "hello", version: PROTOCOL_VERSION, peerId: p.id, kind: "browser", have: p.have, uploadSlots: 4 }),
    op: () => JSON.stringify({ type: "want", max: init.numwant }),
    classify(f) {
      // encodeMessage serialises `type` first: a prefix test avoids parsing every frame.
      if (f.startsWith('{"type":"peers"') || f.startsWith('{"type":"welcome"')) return "reply";
      if (f.startsWith('{"type":"error"')) return "error";
      return "push";
    },
  };
}

function trackerDialect(init: Init): Dialect {
  const size = init.chunks * 262_144;
  return {
    join: (p) => JSON.stringify({ action: "announce", event: "started", info_hash: init.swarmKey, peer_id: p.id, numwant: init.numwant, uploaded: 0, downloaded: 0, left: size }),
    op: (p) => JSON.stringify({ action: "announce", info_hash: init.swarmKey, peer_id: p.id, numwant: init.numwant, uploaded: 0, downloaded: 0, left: size / 2 }),
    classify(f) {
      if (f.includes('"failure reason"')) return "error";
      // Forwarded offers/answers carry `offer`/`answer`; the announce reply carries neither.
      if (f.includes('"offer"') || f.includes('"answer"')) return "push";
      return f.includes('"action":"announce"') ? "reply" : "push";
    },
  };
}

let init: Init | null = null;
let dialect: Dialect;
const groups: Record<Group, Peer[]> = { warm: [], main: [] };

const send = (r: LoadReport) => process.send!(r);

function onFrame(p: Peer, data: WebSocket.RawData) {
  const frame = data.toString();
  const kind = dialect.classify(frame);
  if (kind === "push") {
    p.unsolicited++;
    return;
  }
  const w = p.waiting;
  if (!w) {
    p.unsolicited++;
    return;
  }
  p.waiting = null;
  w(kind === "reply" ? frame : new Error(frame.slice(0, 200)));
}

/** Opens a socket and performs the join exchange; resolves with the latency (ms). */
function joinOne(p: Peer, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const ws = new WebSocket(p.url, { perMessageDeflate: false });
    p.ws = ws;
    const timer = setTimeout(() => {
      p.waiting = null;
      reject(new Error(`join timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("message", (d) => onFrame(p, d));
    ws.on("error", (e) => {
      clearTimeout(timer);
      const w = p.waiting;
      p.waiting = null;
      if (w) w(e);
      else reject(e);
    });
    ws.on("close", () => {
      const w = p.waiting;
      p.waiting = null;
      if (w) w(new Error("socket closed"));
    });
    ws.on("open", () => {
      p.waiting = (f) => {
        clearTimeout(timer);
        if (f instanceof Error) reject(f);
        else resolve(performance.now() - t0);
      };
      ws.send(dialect.join(p));
    });
  });
}

async function join(group: Group, concurrency: number, timeoutMs: number) {
  const peers = groups[group];
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < peers.length) {
      const p = peers[next++]!;
      try {
        lat.push(await joinOne(p, timeoutMs));
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, peers.length) }, worker));
  const c = process.cpuUsage(c0);
  send({ type: "joined", group, latenciesMs: lat, errors, ...(firstError ? { firstError } : {}), cpuS: (c.user + c.system) / 1e6, wallS: (performance.now() - t0) / 1000 });
}

async function ops(group: Group, concurrency: number, durationMs: number) {
  const peers = groups[group].filter((p) => p.ws?.readyState === WebSocket.OPEN);
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  for (const p of peers) p.unsolicited = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + durationMs;
  let next = 0;
  const one = (p: Peer) =>
    new Promise<void>((resolve) => {
      const s = performance.now();
      const timer = setTimeout(() => {
        if (p.waiting) p.waiting(new Error("operation timed out after 10 s"));
      }, 10_000);
      p.waiting = (f) => {
        clearTimeout(timer);
        p.waiting = null;
        if (f instanceof Error) {
          errors++;
          firstError ??= f.message;
        } else lat.push(performance.now() - s);
        resolve();
      };
      p.ws!.send(dialect.op(p));
    });
  const worker = async () => {
    // Round robin over this process's peers: one request in flight per socket (a socket still
    // busy when its turn comes again is skipped), so per-socket rate limits are never the limit.
    for (let spins = 0; performance.now() < end && peers.length > 0; ) {
      const p = peers[next++ % peers.length]!;
      if (p.waiting || p.ws?.readyState !== WebSocket.OPEN) {
        if (++spins > peers.length) await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      spins = 0;
      await one(p);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, peers.length) }, worker));
  const c = process.cpuUsage(c0);
  const unsolicited = peers.reduce((a, p) => a + p.unsolicited, 0);
  send({ type: "ops-done", group, latenciesMs: lat, errors, unsolicited, ...(firstError ? { firstError } : {}), cpuS: (c.user + c.system) / 1e6, wallS: (performance.now() - t0) / 1000 });
}

async function close(group: Group, timeoutMs: number) {
  const open = groups[group].filter((p) => p.ws && p.ws.readyState !== WebSocket.CLOSED);
  await Promise.race([
    Promise.all(open.map((p) => new Promise<void>((r) => {
      p.ws!.once("close", () => r());
      p.ws!.close(1000);
    }))),
    new Promise((r) => setTimeout(r, timeoutMs)),
  ]);
  for (const p of open) p.ws?.terminate();
  send({ type: "closed", group });
}

async function setup(cmd: Init) {
  init = cmd;
  dialect = cmd.target === "tracker" ? trackerDialect(cmd) : swarmDialect(cmd);
  const rnd = new Rng(cmd.seed).random;
  for (const g of ["warm", "main"] as const) {
    for (const id of cmd.peers[g]) {
      const held: number[] = [];
      for (let i = 0; i < cmd.chunks; i++) if (rnd() < 0.5) held.push(i);
      let url = cmd.url;
      if (cmd.target !== "tracker") {
        // Tokens are minted before any phase starts, so HMAC work never counts as load-generator time.
        const token = await signJoinToken(cmd.secret, { root: cmd.swarmKey, peerId: id, expires: Date.now() + 3_600_000, chunks: cmd.chunks, size: cmd.chunks * 262_144 });
        url = `${cmd.url}/swarm/${cmd.swarmKey}?token=${encodeURIComponent(token)}`;
      }
      groups[g].push({ id, url, have: encodeBitfield(held, cmd.chunks), ws: null, waiting: null, unsolicited: 0 });
    }
  }
  send({ type: "ready" });
}

process.on("message", (m: LoadCommand) => {
  const run = async () => {
    if (m.cmd === "init") return setup(m);
    if (!init) throw new Error("load process: init first");
    if (m.cmd === "join") return join(m.group, m.concurrency, m.timeoutMs);
    if (m.cmd === "ops") return ops(m.group, m.concurrency, m.durationMs);
    if (m.cmd === "close") return close(m.group, m.timeoutMs);
  };
  run().catch((e) => send({ type: "fatal", message: e instanceof Error ? e.stack ?? e.message : String(e) }));
});
process.on("disconnect", () => process.exit(0));
