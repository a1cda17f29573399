/**
 * Section 7 — Streams: viewers of a video stream on one collection swarm (issue 14).
 *
 * N Node viewers (the real SDK, node-datachannel links, `ws` sockets) against the real edge (Worker +
 * coordinator DO in Miniflare, the bench origin behind it, the route's swarm scope `stream`: a
 * stream's segments share one swarm) follow a player's schedule: a 2 s segment each, played in
 * order; VOD viewers fetch ahead within a 30 s forward buffer, live viewers fetch each segment when
 * it appears (the live edge, after a playlist refresh of up to 1 s) and play 3 segments behind it,
 * as hls.js does. Each segment's fetch carries the deadline of its play time (the player
 * integration's `deadline`). The same schedule runs edge-only (no WebSocket, no WebRTC) on fresh
 * content beside it.
 *
 * Figures: offload of viewers 2…N against the trace limit (every segment leaves the edge once),
 * stalls (a segment later than its play time; the player then waits) against edge-only, coordinator
 * frames per viewer per segment (sent + received, counted on the viewer's sockets), coordinator
 * sockets per viewer.
 */
import { cpus, loadavg } from "node:os";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import WebSocket from "ws";
import { ChunkStore, MemoryChunkBackend, createSwarm, type Swarm } from "../../client/index";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import { benchBindings, startEdgeProcess } from "../lib/edge-server";
import type { Row } from "../lib/report";
import type { Section, SectionContext } from "../lib/section";
import { fmt } from "../lib/stats";
import { bundleWorker } from "../lib/worker-bundle";
import { startBenchOrigin, type BenchOrigin } from "../peer/bench-origin";
import { cpuSeconds } from "../lib/procs";

const KiB = 1024;
const SEGMENT_S = 2;
const FORWARD_BUFFER_S = 30;
/** hls.js plays a live stream this many segments behind the newest (liveSyncDurationCount). */
const LIVE_SYNC_SEGMENTS = 3;

interface Config { viewers: number; segments: number; segmentBytes: number; staggerS: number }
const QUICK: Config = { viewers: 3, segments: 6, segmentBytes: 384 * KiB, staggerS: 1 };
const FULL: Config = { viewers: 6, segments: 30, segmentBytes: 512 * KiB, staggerS: 2 };

/** Socket and frame counts of one viewer. */
interface Wire { opened: number; sent: number; received: number }

function countingSocket(w: Wire): WebSocketCtor {
  // ws emits "error" as an EventEmitter event too; without a listener it would throw at shutdown.
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      w.opened++;
      this.on("error", () => {});
      this.on("message", (d) => { if (String(d) !== "pong") w.received++; });
    }
    override send(data: unknown): void {
      if (data !== "ping") w.sent++;
      super.send(data as string);
    }
  } as unknown as WebSocketCtor;
}

interface ViewerResult { fromPeers: number; fromEdge: number; stalls: number; stallMs: number; wire: Wire }

/**
 * One viewer's session. `availableAt(k)` (s, on the session clock) is when segment k can be fetched;
 * `playAt(k)` when the player needs it (shifted by earlier stalls).
 */
async function viewer(o: { edge: string; urls: string[]; p2p: boolean; startS: number; live: boolean; t0: number; jitter: number }): Promise<ViewerResult> {
  const wire: Wire = { opened: 0, sent: 0, received: 0 };
  const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 256 * 1024 * KiB });
  const swarm: Swarm = createSwarm({
    edge: o.edge, store,
    ...(o.p2p ? { WebSocket: countingSocket(wire), RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor } : {}),
    // Segments are fetched ahead of playback: waiting for a holder costs nothing (docs/streams.md),
    // and each fetch's deadline brings the edge in before a stall. The edge lane held to the
    // edge-alone schedule would take every segment from a loopback edge: the same slack as the demo
    // video page (demo/public/video.js).
    scheduler: { startGraceMs: 1500, laneSlackMs: 60_000 },
  });
  const now = () => (performance.now() - o.t0) / 1000;
  const sleepUntil = async (s: number) => { const d = s - now(); if (d > 0) await new Promise((r) => setTimeout(r, d * 1000)); };
  const n = o.urls.length;
  const availableAt = (k: number) => (o.live ? k * SEGMENT_S + o.jitter : 0);
  // Live: join at the live edge, 3 segments behind; VOD: from the start.
  await sleepUntil(o.startS);
  const first = o.live ? Math.max(0, Math.floor(o.startS / SEGMENT_S) - LIVE_SYNC_SEGMENTS + 1) : 0;
  let stallS = 0;
  let stalls = 0;
  const playStart = o.live ? availableAt(first) + LIVE_SYNC_SEGMENTS * SEGMENT_S : o.startS + 1;
  const playAt = (k: number) => playStart + (k - first) * SEGMENT_S + stallS;
  let fromPeers = 0;
  let fromEdge = 0;
  for (let k = first; k < n; k++) {
    await sleepUntil(Math.max(availableAt(k), playAt(k) - FORWARD_BUFFER_S));
    const deadline = Math.max(500, (playAt(k) - now()) * 1000 - 1500);
    const res = await swarm.fetch(o.urls[k]!, { deadline });
    await res.arrayBuffer();
    const late = now() - playAt(k);
    if (late > 0) {
      stalls++;
      stallS += late;
    }
    const c = swarm.stats().contents[new URL(o.urls[k]!, o.edge).href];
    fromPeers += c?.fromPeers ?? 0;
    fromEdge += c?.fromEdge ?? 0;
  }
  // Stay (and seed) until the last viewer is done: the caller closes.
  return { fromPeers, fromEdge, stalls, stallMs: stallS * 1000, wire, close: () => swarm.close() } as ViewerResult & { close(): void };
}

async function scenario(edge: string, origin: BenchOrigin, c: Config, live: boolean, p2p: boolean, seedBase: number): Promise<ViewerResult[]> {
  // One directory per stream (`/item/<bytes>/…`): the edge's `stream` scope makes it one swarm.
  const bytes = c.segmentBytes + seedBase; // a distinct size = a distinct directory = a distinct stream
  const urls = Array.from({ length: c.segments }, (_, k) => `${edge}/c/bench${origin.path(bytes, seedBase + k)}`);
  const t0 = performance.now();
  const runs = Array.from({ length: c.viewers }, (_, v) => viewer({
    edge, urls, p2p, live, t0, startS: live ? LIVE_SYNC_SEGMENTS * SEGMENT_S + v * c.staggerS : v * c.staggerS,
    jitter: (v * 0.37) % 1, // each viewer's playlist refresh phase
  }));
  const out = (await Promise.all(runs)) as (ViewerResult & { close(): void })[];
  for (const r of out) r.close();
  return out;
}

function summary(rs: ViewerResult[], segments: number) {
  const later = rs.slice(1);
  const peers = later.reduce((s, r) => s + r.fromPeers, 0);
  const edge = later.reduce((s, r) => s + r.fromEdge, 0);
  const all = rs.reduce((s, r) => s + r.fromPeers + r.fromEdge, 0);
  const allPeers = rs.reduce((s, r) => s + r.fromPeers, 0);
  return {
    offloadLater: peers / Math.max(1, peers + edge),
    offloadAll: allPeers / Math.max(1, all),
    // Every segment leaves the edge once: the rest could come from peers.
    limitAll: 1 - 1 / rs.length,
    stalls: rs.reduce((s, r) => s + r.stalls, 0),
    stallMs: rs.reduce((s, r) => s + r.stallMs, 0),
    framesPerSegment: rs.map((r) => (r.wire.sent + r.wire.received) / segments),
    sockets: rs.map((r) => r.wire.opened),
  };
}

export const streamsSection: Section = {
  id: "streams",
  number: 7,
  title: "Streams: viewers of a VOD and a live stream on one collection swarm",
  budgetS: { quick: 30, full: 240 },
  async run(ctx: SectionContext) {
    const c = ctx.quick ? QUICK : FULL;
    const origin = await startBenchOrigin();
    const bindings = { ...benchBindings({}), ROUTES: JSON.stringify({ "/bench/": { origin: origin.url, scope: "stream" } }) };
    const edgeProc = await startEdgeProcess(bundleWorker(ctx.root), bindings);
    const edge = `http://127.0.0.1:${edgeProc.port}`;
    const rows: Row[] = [];
    const data: Record<string, unknown> = { config: c, load: loadavg()[0] ?? 0, cpus: cpus().length };
    try {
      ctx.log(`streams: ${c.viewers} viewers × ${c.segments} segments of ${c.segmentBytes / KiB} KiB, VOD and live, swarm and edge-only`);
      // Host CPU of the run: the viewers (this process: SDK, node-datachannel) and the edge (workerd).
      const cpu0 = process.cpuUsage(), edgeCpu0 = cpuSeconds(edgeProc.pid), wall0 = performance.now(), load0 = loadavg()[0] ?? 0;
      const [vod, live, vodEdge, liveEdge] = await Promise.all([
        scenario(edge, origin, c, false, true, 1000), scenario(edge, origin, c, true, true, 2000),
        scenario(edge, origin, c, false, false, 3000), scenario(edge, origin, c, true, false, 4000),
      ]);
      const cpu = process.cpuUsage(cpu0), wallS = (performance.now() - wall0) / 1000;
      const viewersCpuS = (cpu.user + cpu.system) / 1e6, edgeCpuS = cpuSeconds(edgeProc.pid) - edgeCpu0;
      const load1 = loadavg()[0] ?? 0;
      data.host = { wallS, viewersCpuS, edgeCpuS, loadStart: load0, loadEnd: load1 };
      rows.push({
        metric: "host CPU over the run (all 4 scenarios at once)", value: `${fmt(viewersCpuS + edgeCpuS)} s of ${fmt(wallS)} s wall`,
        baseline: `viewers ${fmt(viewersCpuS)} s, edge (workerd) ${fmt(edgeCpuS)} s`, ratio: `${fmt(((viewersCpuS + edgeCpuS) / wallS / cpus().length) * 100)} % of ${cpus().length} CPUs`,
        target: `load ${fmt(load0)} → ${fmt(load1)}`, status: "info",
      });
      for (const [name, rs, base] of [["VOD", vod, vodEdge], ["live", live, liveEdge]] as const) {
        const s = summary(rs, c.segments);
        const b = summary(base, c.segments);
        data[name] = { swarm: s, edgeOnly: b };
        rows.push(
          { metric: `${name}: offload of viewers 2–${c.viewers}`, value: `${fmt(s.offloadLater * 100)} %`, baseline: "edge-only 0 %", ratio: `all viewers ${fmt(s.offloadAll * 100)} % of limit ${fmt(s.limitAll * 100)} %`, target: "≥ 60 %", status: s.offloadLater >= 0.6 ? "pass" : "fail" },
          { metric: `${name}: stalls (count, total ms)`, value: `${s.stalls}, ${Math.round(s.stallMs)} ms`, baseline: `${b.stalls}, ${Math.round(b.stallMs)} ms`, ratio: "", target: "no more than edge-only", status: s.stalls <= b.stalls ? "pass" : "fail" },
          { metric: `${name}: coordinator frames per viewer per segment`, value: `${fmt(Math.max(...s.framesPerSegment))} max (${s.framesPerSegment.map((x) => fmt(x)).join(" / ")})`, baseline: "item swarms: ~51 (sim, issue 14)", ratio: "", target: "≤ 10", status: Math.max(...s.framesPerSegment) <= 10 ? "pass" : "fail" },
          { metric: `${name}: coordinator sockets per viewer`, value: `${Math.max(...s.sockets)} max`, baseline: `item swarms: ${c.segments} (one per segment)`, ratio: "", target: "≤ 2", status: Math.max(...s.sockets) <= 2 ? "pass" : "fail" },
        );
      }
    } finally {
      await edgeProc.stop();
      await origin.close();
    }
    return {
      rows,
      notes: [
        `Load average ${fmt(loadavg()[0] ?? 0)} on ${cpus().length} CPUs at the end of the run (shared host: stalls are sensitive to it; the edge-only run shares the same host at the same time).`,
        "Frames are counted on each viewer's coordinator sockets, both directions, keep-alive ping/pong excluded; the first viewer's include the stream's signalling to the later ones.",
      ],
      data,
    };
  },
};
