/**
 * A load-generator process for the coordinator bench (forked by sections/coordinator.ts). It holds
 * a share of the simulated peers as real WebSocket connections (`ws`, no compression, as browsers
 * would negotiate with either server) and runs phases on command: join, closed-loop signalling
 * rounds, open-loop paced messages of one type, close. Every peer also plays the other side of
 * everyone else's rounds (it answers the offers it is sent). Each phase reports this process's own
 * CPU time so the parent can show the load generator was not the bottleneck.
 *
 * Equivalent work on both sides (docs/bench.md §3 prints the same text from the section's notes):
 * - join:  swarm upgrade (join token) + `hello` → `welcome`  |  tracker upgrade + `announce`
 *          event=started → announce reply.
 * - round: one peer discovers N peers and sets up a link with each.
 *          swarm: `want` naming the chunks the peer misses (as client/swarm-client.ts sends it) →
 *          `peers`; then per peer a `signal` offer → relayed; the peer's `signal` answer → relayed;
 *          plus `ice` trickled candidates each way (one `signal` each, as client/peer-link.ts sends
 *          them).
 *          tracker: `announce` carrying N offers → announce reply + the offers forwarded to N peers;
 *          each peer's `announce` with its answer → forwarded to the announcer. The tracker has no
 *          trickle (WebTorrent's clients gather candidates first): its SDPs carry them instead.
 *   A round ends when the asker has every answer (and every candidate) it was due.
 */
import WebSocket from "ws";
import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { signJoinToken } from "../../functions/join-token";
import { encodeBitfield } from "../../protocol/swarm-protocol";
import { Rng } from "../../sim/prng";
import type { Group, LoadCommand, LoadReport, PacedKind, PeerSpec } from "./load-protocol";

type Init = Extract<LoadCommand, { cmd: "init" }>;

/** A Chrome data-channel offer/answer without candidates is ~550 bytes; each candidate line ~130. */
const CANDIDATE = "candidate:842163049 1 udp 1677729535 203.0.113.7 50341 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Xy3k network-cost 999";
const sdp = (kind: string, candidates: number) =>
  `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n` +
  `m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Xy3k\r\na=ice-pwd:3kd9Fj2lQp0s8dKfj3nd8sK2\r\n` +
  `a=ice-options:trickle\r\na=fingerprint:sha-256 4F:9A:1C:7E:2B:88:0D:51:6A:C3:9F:12:E4:70:BB:3D:5C:61:A8:F0:27:94:DE:0B:13:46:7C:AA:52:E9:38:C1\r\n` +
  `a=setup:${kind === "offer" ? "actpass" : "active"}\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n` +
  Array.from({ length: candidates }, () => `a=${CANDIDATE}\r\n`).join("");

interface Round {
  t0: number;
  /** Frames still due to the asker (answers, and the answerers' candidates). */
  due: number;
  links: number;
  done: (err?: Error) => void;
}

interface Peer extends PeerSpec {
  url: string;
  have: string;
  /** Chunks this peer does not hold (its `want` names them; `have` announces them one by one). */
  missing: number[];
  ws: WebSocket | null;
  /** The join in flight. */
  joining: ((err?: Error) => void) | null;
  round: Round | null;
  unsolicited: number;
  stats: number;
}

let init: Init | null = null;
const groups: Record<Group, Peer[]> = { warm: [], main: [] };
/** Main-group peer ids per swarm (all processes): signal targets and swarm sizes. */
let members: string[][] = [];
let ice = 0;
let rnd: () => number = Math.random;
/** Paced-phase counters (frames received; error frames). */
let received = 0;
let pacedErrors = 0;
let pacedFirstError: string | undefined;
let sent = 0;

const send = (r: LoadReport) => process.send!(r);
const tracker = () => init!.target === "tracker";
const out = (p: Peer, frame: string) => {
  sent++;
  p.ws!.send(frame);
};

function offerFrames(p: Peer, to: string): void {
  out(p, JSON.stringify({ type: "signal", to, data: { description: { type: "offer", sdp: sdp("offer", 0) } } }));
  for (let i = 0; i < ice; i++) out(p, JSON.stringify({ type: "signal", to, data: { candidate: { candidate: CANDIDATE, sdpMid: "0", sdpMLineIndex: 0 } } }));
}

function answerFrames(p: Peer, to: string): void {
  out(p, JSON.stringify({ type: "signal", to, data: { description: { type: "answer", sdp: sdp("answer", 0) } } }));
  // sdpMid "1": the asker's due frames (its own candidates to the answerer carry "0").
  for (let i = 0; i < ice; i++) out(p, JSON.stringify({ type: "signal", to, data: { candidate: { candidate: CANDIDATE, sdpMid: "1", sdpMLineIndex: 0 } } }));
}

function onSwarmFrame(p: Peer, f: string): void {
  received++;
  if (f.startsWith('{"type":"welcome"')) return void (p.joining?.(), (p.joining = null));
  if (f.startsWith('{"type":"peers"')) {
    const r = p.round;
    if (!r) return;
    const peers = (JSON.parse(f) as { peers: { peerId: string }[] }).peers;
    if (peers.length === 0) return r.done(new Error("peers: empty answer"));
    r.links = peers.length;
    r.due = peers.length * (1 + ice);
    for (const q of peers) offerFrames(p, q.peerId);
    return;
  }
  if (f.startsWith('{"type":"signal"')) {
    const m = JSON.parse(f) as { from: string; data: { description?: { type: string }; candidate?: { sdpMid?: string } } };
    if (m.data.description?.type === "offer") return answerFrames(p, m.from);
    if (m.data.description?.type === "answer" || m.data.candidate?.sdpMid === "1") {
      const r = p.round;
      if (r && --r.due === 0) r.done();
    }
    return; // sdpMid "0" / "2": candidates for this peer as answerer or paced signals: nothing to do
  }
  if (f.startsWith('{"type":"error"')) {
    if (p.joining) return void (p.joining(new Error(f.slice(0, 200))), (p.joining = null));
    if (p.round) return p.round.done(new Error(f.slice(0, 200)));
    pacedErrors++;
    pacedFirstError ??= f.slice(0, 200);
    return;
  }
  p.unsolicited++;
}

function onTrackerFrame(p: Peer, f: string): void {
  received++;
  if (f.includes('"failure reason"')) {
    if (p.joining) return void (p.joining(new Error(f.slice(0, 200))), (p.joining = null));
    if (p.round) return p.round.done(new Error(f.slice(0, 200)));
    return;
  }
  if (f.includes('"offer"')) {
    const m = JSON.parse(f) as { offer_id: string; peer_id: string; info_hash: string };
    out(p, JSON.stringify({ action: "announce", info_hash: m.info_hash, peer_id: p.id, to_peer_id: m.peer_id, offer_id: m.offer_id, answer: { type: "answer", sdp: sdp("answer", ice) } }));
    return;
  }
  if (f.includes('"answer"')) {
    const r = p.round;
    if (r && --r.due === 0) r.done();
    return;
  }
  if (f.includes('"action":"announce"')) {
    if (p.joining) return void (p.joining(), (p.joining = null));
    return; // the announce reply of a round (the answers are what it waits for)
  }
  p.unsolicited++;
}

/** Opens a socket and performs the join exchange; resolves with the latency (ms). */
function joinOne(p: Peer, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const ws = new WebSocket(p.url, { perMessageDeflate: false });
    p.ws = ws;
    const timer = setTimeout(() => finish(new Error(`join timed out after ${timeoutMs} ms`)), timeoutMs);
    const finish = (e?: Error) => {
      clearTimeout(timer);
      p.joining = null;
      if (e) reject(e);
      else resolve(performance.now() - t0);
    };
    ws.on("message", (d) => (tracker() ? onTrackerFrame : onSwarmFrame)(p, d.toString()));
    ws.on("error", (e) => (p.joining ? p.joining(e) : p.round?.done(e)));
    ws.on("close", () => (p.joining ? p.joining(new Error("socket closed")) : p.round?.done(new Error("socket closed"))));
    ws.on("open", () => {
      p.joining = finish;
      const i = init!;
      ws.send(tracker()
        ? JSON.stringify({ action: "announce", event: "started", info_hash: i.swarmKeys[p.swarm], peer_id: p.id, numwant: 0, uploaded: 0, downloaded: 0, left: i.chunks * 262_144 })
        : JSON.stringify({ type: "hello", version: PROTOCOL_VERSION, peerId: p.id, kind: "browser", have: p.have, uploadSlots: 4 }));
    });
  });
}

async function join(group: Group, concurrency: number, timeoutMs: number, part?: { index: number; of: number }) {
  const peers = part ? groups[group].filter((_, k) => k % part.of === part.index) : groups[group];
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

/** Starts one round for `p`: the ask (and, for the tracker, the offers in it). */
function startRound(p: Peer, r: Round): void {
  const i = init!;
  if (!tracker()) return out(p, JSON.stringify({ type: "want", chunks: p.missing, max: i.numwant }));
  const key = i.swarmKeys[p.swarm]!;
  const others = members[p.swarm]!.length - 1;
  r.links = Math.min(i.numwant, others);
  r.due = r.links;
  const offers = Array.from({ length: i.numwant }, (_, k) => ({ offer_id: `${p.id.slice(-12)}${String(k).padStart(8, "0")}`, offer: { type: "offer", sdp: sdp("offer", ice) } }));
  out(p, JSON.stringify({ action: "announce", info_hash: key, peer_id: p.id, numwant: i.numwant, uploaded: 0, downloaded: 0, left: i.chunks * 131_072, offers }));
  if (r.due === 0) r.done(new Error("tracker: no other peer in the swarm"));
}

async function rounds(group: Group, concurrency: number, durationMs: number, iceCount: number) {
  ice = iceCount;
  const peers = groups[group].filter((p) => p.ws?.readyState === WebSocket.OPEN);
  const lat: number[] = [];
  let errors = 0, links = 0;
  let firstError: string | undefined;
  for (const p of peers) p.unsolicited = 0;
  sent = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + durationMs;
  let next = 0;
  const one = (p: Peer) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => r.done(new Error("round timed out after 10 s")), 10_000);
      const r: Round = {
        t0: performance.now(), due: Infinity, links: 0,
        done: (e) => {
          if (p.round !== r) return;
          clearTimeout(timer);
          p.round = null;
          if (e) {
            errors++;
            firstError ??= e.message;
          } else {
            lat.push(performance.now() - r.t0);
            links += r.links;
          }
          resolve();
        },
      };
      p.round = r;
      startRound(p, r);
    });
  const worker = async () => {
    // Round robin over this process's peers, one round in flight per socket (a socket still busy
    // when its turn comes again is skipped), so per-socket rate limits are never the limit.
    for (let spins = 0; performance.now() < end && peers.length > 0; ) {
      const p = peers[next++ % peers.length]!;
      if (p.round || p.ws?.readyState !== WebSocket.OPEN) {
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
  send({ type: "rounds-done", group, latenciesMs: lat, errors, links, sent, unsolicited, ...(firstError ? { firstError } : {}), cpuS: (c.user + c.system) / 1e6, wallS: (performance.now() - t0) / 1000 });
}

/** One frame of `kind` from `p` (swarm dialect: the floor speaks it too). */
function pacedFrame(p: Peer, kind: PacedKind): string {
  const i = init!;
  switch (kind) {
    case "want-chunks": return JSON.stringify({ type: "want", chunks: p.missing, max: i.numwant });
    case "want-any": return JSON.stringify({ type: "want", max: i.numwant });
    case "have": {
      // A new chunk each time while the peer misses any (the realistic case: it just verified one).
      const c = p.missing.length > 0 ? p.missing.splice(Math.floor(rnd() * p.missing.length), 1)[0]! : 0;
      return JSON.stringify({ type: "have", chunks: [c] });
    }
    case "signal": {
      const m = members[p.swarm]!;
      let to = m[Math.floor(rnd() * m.length)]!;
      if (to === p.id) to = m[(m.indexOf(to) + 1) % m.length]!;
      return JSON.stringify({ type: "signal", to, data: { candidate: { candidate: CANDIDATE, sdpMid: "2", sdpMLineIndex: 0 } } });
    }
    case "stats": {
      p.stats += 65_536;
      return JSON.stringify({ type: "stats", fromPeers: p.stats, fromEdge: p.stats, uploaded: p.stats });
    }
  }
}

async function paced(group: Group, kind: PacedKind, rate: number, durationMs: number, frames: number) {
  const peers = groups[group].filter((p) => p.ws?.readyState === WebSocket.OPEN);
  received = 0;
  pacedErrors = 0;
  pacedFirstError = undefined;
  sent = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  // Ticks of 10 ms; each sends what the elapsed time allows (so a late tick catches up), until
  // exactly `frames` are sent (a late host stretches the phase rather than cutting it short).
  while (sent < frames && peers.length > 0 && performance.now() - t0 < durationMs + 20_000) {
    const due = Math.min(frames, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (sent < due) {
      const p = peers[next++ % peers.length]!;
      out(p, pacedFrame(p, kind));
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const c = process.cpuUsage(c0);
  send({ type: "paced-done", group, sent, received, errors: pacedErrors, ...(pacedFirstError ? { firstError: pacedFirstError } : {}), cpuS: (c.user + c.system) / 1e6, wallS: (performance.now() - t0) / 1000 });
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
  rnd = new Rng(cmd.seed).random;
  members = cmd.swarmKeys.map(() => []);
  for (const p of cmd.everyone) members[p.swarm]!.push(p.id);
  for (const g of ["warm", "main"] as const) {
    for (const spec of cmd.peers[g]) {
      const held: number[] = [], missing: number[] = [];
      for (let i = 0; i < cmd.chunks; i++) (rnd() < 0.5 ? held : missing).push(i);
      const key = cmd.swarmKeys[spec.swarm]!;
      let url = cmd.url;
      if (cmd.target !== "tracker") {
        // Tokens are minted before any phase starts, so HMAC work never counts as load-generator time.
        const token = await signJoinToken(cmd.secret, { root: key, peerId: spec.id, expires: Date.now() + 3_600_000, chunks: cmd.chunks, size: cmd.chunks * 262_144 });
        url = `${cmd.url}/swarm/${key}?token=${encodeURIComponent(token)}`;
      }
      groups[g].push({ ...spec, url, have: encodeBitfield(held, cmd.chunks), missing, ws: null, joining: null, round: null, unsolicited: 0, stats: 0 });
    }
  }
  send({ type: "ready" });
}

process.on("message", (m: LoadCommand) => {
  const run = async () => {
    if (m.cmd === "init") return setup(m);
    if (!init) throw new Error("load process: init first");
    if (m.cmd === "join") return join(m.group, m.concurrency, m.timeoutMs, m.part);
    if (m.cmd === "rounds") return rounds(m.group, m.concurrency, m.durationMs, m.ice);
    if (m.cmd === "paced") return paced(m.group, m.kind, m.rate, m.durationMs, m.frames);
    if (m.cmd === "close") return close(m.group, m.timeoutMs);
  };
  run().catch((e) => send({ type: "fatal", message: e instanceof Error ? e.stack ?? e.message : String(e) }));
});
process.on("disconnect", () => process.exit(0));
