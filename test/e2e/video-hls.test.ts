/**
 * The video demo page (demo/public/video.html) as three viewers see it: hls.js plays the demo
 * origin's VOD stream (real H.264/AAC fMP4 made by ffmpeg, demo/stream-media.mjs) behind the edge in
 * Miniflare, media segments through edgeswarm/hls. The first tab fills from the edge; the next two
 * must get most segment bytes from the tabs before them, every segment byte-identical to the
 * origin's file, playback advancing without a stall longer than 1 s, the origin asked once per file.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOrigin, type DemoOrigin } from "../../demo/origin.mjs";
import { hasFfmpeg, prepareVod } from "../../demo/stream-media.mjs";
import { formatLogs, launchChromium, openPeer, type Peer } from "./harness/browser";
import { startTestEdge, type TestEdge } from "./harness/edge";
import { assertPreconditions } from "./harness/preflight";

/** What the page exposes as `window.video` (demo/public/video.js), minus the live swarm. */
interface VideoView {
  state: string;
  error: string | null;
  fatal: string[];
  currentTime: number;
  segments: { url: string; sn: number; size: number; sha256: string }[];
  stalls: { at: number; ms: number }[];
  fromPeers: number;
  fromEdge: number;
  hashFailures: number;
  /** Coordinator WebSockets this tab opened, and the most open at once. */
  sockets: { opened: number; maxOpen: number };
}

let origin: DemoOrigin | undefined;
let edge: TestEdge | undefined;
let browser: Browser | undefined;
let vodDir = "";
let startError: unknown;
const peers: Peer[] = [];

beforeAll(async () => {
  try {
    assertPreconditions();
    if (!hasFfmpeg()) throw new Error("ffmpeg is not installed (apt-get install ffmpeg): the video scenarios need real media");
    vodDir = (await prepareVod({ seconds: 20 })).dir;
    origin = await startOrigin({ port: 0, streams: { vod: vodDir } });
    [edge, browser] = await Promise.all([startTestEdge({ originUrl: origin.url }), launchChromium()]);
  } catch (e) {
    startError = e; // rethrown by the test: a start failure fails, it is never a skip
  }
}, 180_000);

afterAll(async () => {
  for (const p of peers) await p.close();
  await browser?.close().catch(() => undefined);
  await edge?.close().catch(() => undefined);
  await origin?.close();
});

/** Counts the page's WebSockets to the swarm endpoint (installed before any page script runs). */
const COUNT_SOCKETS = `(() => {
  const Native = window.WebSocket;
  const s = (window.__sockets = { opened: 0, open: 0, maxOpen: 0 });
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes("/swarm/")) return;
      s.opened++; s.open++; s.maxOpen = Math.max(s.maxOpen, s.open);
      this.addEventListener("close", () => { s.open--; });
    }
  };
})();`;

async function view(peer: Peer): Promise<VideoView> {
  return peer.page.evaluate((): VideoView => {
    const v = (window as any).video;
    const st = v.swarm?.stats();
    let fromPeers = 0, fromEdge = 0;
    for (const url of new Set<string>(v.segments.map((s: { url: string }) => s.url))) {
      const c = st?.contents[url];
      if (c) { fromPeers += c.fromPeers; fromEdge += c.fromEdge; }
    }
    const sk = (window as any).__sockets;
    return {
      state: v.state, error: v.error, fatal: v.fatal, currentTime: v.currentTime(), segments: v.segments, stalls: v.stalls,
      fromPeers, fromEdge, hashFailures: st?.hashFailures ?? 0, sockets: { opened: sk.opened, maxOpen: sk.maxOpen },
    };
  });
}

/** Opens the video page in a new context; resolves once every segment loaded and playback passed `minTime`. */
async function watch(name: string, url: string, segments: number, minTime: number): Promise<{ peer: Peer; v: VideoView }> {
  const peer = await openPeer(browser!, name);
  peers.push(peer);
  await peer.context.addInitScript(COUNT_SOCKETS);
  await peer.page.goto(url);
  await peer.page.waitForFunction(
    ([n, t]) => {
      const v = (window as any).video;
      return v && (v.state === "error" || (new Set(v.segments.map((s: { sn: number }) => s.sn)).size >= n && v.currentTime() >= t));
    },
    [segments, minTime] as const,
    { timeout: 120_000, polling: 250 },
  );
  const v = await view(peer);
  console.log(`video ${name}: ${v.state}, t=${v.currentTime.toFixed(1)} s, ${v.segments.length} segments, peers ${v.fromPeers} / edge ${v.fromEdge}, stalls ${JSON.stringify(v.stalls)}, coordinator sockets opened ${v.sockets.opened} (max open ${v.sockets.maxOpen})`);
  return { peer, v };
}

it("three viewers of an hls.js VOD stream: viewers 2–3 get ≥ 60 % of segment bytes from peers, bytes equal the origin's, no stall over 1 s", async (ctx) => {
  if (startError) throw startError;
  ctx.onTestFailed(() => console.log(`\n===== video failure context =====\norigin hits: ${JSON.stringify(origin!.hits())}\n${formatLogs(peers)}`));
  // The expected bytes are the files ffmpeg wrote, hashed here, not what the page or origin report.
  const files = readdirSync(join(vodDir, "hls")).filter((f) => f.endsWith(".m4s")).sort();
  const expected = new Map(files.map((f) => [f, createHash("sha256").update(readFileSync(join(vodDir, "hls", f))).digest("hex")]));
  const url = `${edge!.url}/c/e2e/video.html?stream=vod`;
  const check = (v: VideoView) => {
    expect(v.error).toBeNull();
    expect(v.fatal).toEqual([]);
    expect(v.hashFailures).toBe(0);
    for (const s of v.segments) expect({ file: s.url.split("/").pop(), sha256: s.sha256 }).toEqual({ file: s.url.split("/").pop(), sha256: expected.get(s.url.split("/").pop()!) });
    expect(new Set(v.segments.map((s) => s.url.split("/").pop())).size).toBe(files.length);
    // Rebuffering after playback began: none longer than 1 s.
    for (const st of v.stalls) expect(st.ms, `stall at ${st.at} s`).toBeLessThanOrEqual(1000);
  };

  const a = await watch("A", url, files.length, 2);
  check(a.v);
  const hits = origin!.hits();
  for (const f of files) expect(hits[`/stream/vod/hls/${f}`], f).toBe(1);

  const [b, c] = await Promise.all([watch("B", url, files.length, 6), watch("C", url, files.length, 6)]);
  for (const x of [b, c]) {
    check(x.v);
    expect(x.v.fromPeers / (x.v.fromPeers + x.v.fromEdge)).toBeGreaterThanOrEqual(0.6);
  }
  // The origin was not asked again: B's and C's bytes came from A, each other and the edge's cache.
  const after = origin!.hits();
  for (const f of files) expect(after[`/stream/vod/hls/${f}`], f).toBe(1);
}, 300_000);
