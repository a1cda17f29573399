/**
 * The video demo page (demo/public/video.html) as viewers see it: real H.264/AAC fMP4 made by
 * ffmpeg (demo/stream-media.mjs) behind the edge in Miniflare, played by hls.js through
 * edgeswarm/hls or by Shaka Player (DASH) through edgeswarm/shaka. The first tab fills from the
 * edge; later ones must get most segment bytes from the tabs before them, every segment
 * byte-identical to the origin's file, playback advancing without a stall longer than 1 s, the
 * origin asked once per file — and a viewer that lies about its bytes is banned without a stall.
 * The edge runs with its default swarm scope per content type: a stream's segments share one
 * collection swarm, so each tab opens one coordinator socket (≤ 2 asserted), and the gallery page
 * one for its whole image set.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { hasFfmpeg, prepareVod, SEGMENT_SECONDS } from "../../demo/stream-media.mjs";
import { COUNT_SOCKETS } from "./harness/socket-count";
import { useDemoStack } from "./harness/demo-stack";
import { liesTold, makeLyingPeer } from "./harness/lying-peer";
import { peerShare, watchVideo, type VideoView, type WatchOptions } from "./harness/video-view";

let vodDir = "";
const demo = useDemoStack({
  name: "video",
  streams: async () => {
    if (!hasFfmpeg()) throw new Error("ffmpeg is not installed (apt-get install ffmpeg): the video scenarios need real media");
    vodDir = (await prepareVod({ seconds: VOD_SECONDS })).dir;
    return { vod: vodDir };
  },
});

/** Closes every viewer so far: the next scenario's swarms start with nobody else in them. */
async function closeViewers(): Promise<void> {
  for (const p of demo().peers) await p.close();
}

/** Opens the video page as a new visitor; resolves once every segment loaded and playback passed `minTime`. */
async function watch(name: string, url: string, segments: number, minTime: number, opts?: WatchOptions): Promise<Awaited<ReturnType<typeof watchVideo>>> {
  const r = await watchVideo(demo().openPeer, name, url, (p) => p.segments >= segments && p.currentTime >= minTime, opts);
  // Segments the edge served (in part): which and why, the evidence when a share comes out low.
  for (const s of r.v.segments) if (s.fromEdge) console.log(`  ${name} ${s.url.split("/").pop()}: peers ${s.fromPeers} / edge ${s.fromEdge} ${JSON.stringify(s.edgeWhy)}`);
  return r;
}

/** Seconds of the test VOD. */
const VOD_SECONDS = 20;

/**
 * Hashes of the media segment files ffmpeg wrote in `sub` (hls/ or dash/) of the VOD folder. The
 * DASH muxer may write one audio segment past the presentation's end, which no player requests:
 * only numbers within VOD_SECONDS count.
 */
function segmentHashes(sub: string): Map<string, string> {
  const inPresentation = (f: string) => Number(/-(\d+)\.m4s$/.exec(f)?.[1] ?? 0) <= VOD_SECONDS / SEGMENT_SECONDS;
  const files = readdirSync(join(vodDir, sub)).filter((f) => f.endsWith(".m4s") && (sub !== "dash" || inPresentation(f))).sort();
  return new Map(files.map((f) => [f, createHash("sha256").update(readFileSync(join(vodDir, sub, f))).digest("hex")]));
}

/** Every segment the player got equals ffmpeg's file, all were played, no fatal error, no stall > 1 s. */
function checkView(v: VideoView, expected: Map<string, string>, count: number): void {
  expect(v.error).toBeNull();
  expect(v.fatal).toEqual([]);
  for (const s of v.segments) expect({ file: s.url.split("/").pop(), sha256: s.sha256 }).toEqual({ file: s.url.split("/").pop(), sha256: expected.get(s.url.split("/").pop()!) });
  expect(new Set(v.segments.map((s) => s.url.split("/").pop())).size).toBe(count);
  // Rebuffering after playback began: none longer than 1 s.
  for (const st of v.stalls) expect(st.ms, `stall at ${st.at} s`).toBeLessThanOrEqual(1000);
  // One collection swarm per stream: the tab's segments share one coordinator socket.
  expect(v.sockets.opened).toBeLessThanOrEqual(2);
}

it("three viewers of an hls.js VOD stream: viewers 2–3 get ≥ 60 % of segment bytes from peers, bytes equal the origin's, no stall over 1 s", async () => {
  // The expected bytes are the files ffmpeg wrote, hashed here, not what the page or origin report.
  const expected = segmentHashes("hls");
  const files = [...expected.keys()];
  const url = `${demo().edge.url}/c/e2e/video.html?stream=vod`;
  const check = (v: VideoView) => checkView(v, expected, files.length);

  const a = await watch("A", url, files.length, 2);
  check(a.v);
  expect(a.v.hashFailures).toBe(0);
  const hits = demo().origin.hits();
  for (const f of files) expect(hits[`/stream/vod/hls/${f}`], f).toBe(1);

  const [b, c] = await Promise.all([watch("B", url, files.length, 6), watch("C", url, files.length, 6)]);
  console.log(`hls.js VOD shares from peers: B ${(peerShare(b.v) * 100).toFixed(1)} %, C ${(peerShare(c.v) * 100).toFixed(1)} %`);
  for (const x of [b, c]) {
    check(x.v);
    expect(x.v.hashFailures).toBe(0);
    expect(peerShare(x.v)).toBeGreaterThanOrEqual(0.6);
  }
  // The origin was not asked again: B's and C's bytes came from A, each other and the edge's cache.
  const after = demo().origin.hits();
  for (const f of files) expect(after[`/stream/vod/hls/${f}`], f).toBe(1);
}, 300_000);

it("a viewer that lies about its segment bytes is banned; the next viewer's playback does not stall and its bytes are the origin's", async () => {
  await closeViewers();
  const expected = segmentHashes("hls");
  const url = `${demo().edge.url}/c/e2e/video.html?stream=vod`;
  const liar = await watch("L", url, expected.size, 2, { afterGoto: (p) => makeLyingPeer(p) });
  expect(liar.v.error).toBeNull();
  const honest = await watch("H", url, expected.size, 6);
  checkView(honest.v, expected, expected.size);
  // The liar really sent wrong bytes, the honest viewer caught them and banned it.
  expect(await liesTold(liar.peer)).toBeGreaterThan(0);
  expect(honest.v.hashFailures).toBeGreaterThan(0);
  expect(honest.v.bannedPeers).toContain(liar.v.peerId);
}, 300_000);

it("three viewers of a Shaka Player DASH stream: viewers 2–3 get ≥ 60 % of segment bytes from peers, bytes equal the origin's, no stall over 1 s", async () => {
  await closeViewers();
  const expected = segmentHashes("dash");
  const url = `${demo().edge.url}/c/e2e/video.html?stream=vod&player=shaka`;
  const a = await watch("SA", url, expected.size, 2);
  checkView(a.v, expected, expected.size);
  expect(a.v.hashFailures).toBe(0);
  const [b, c] = await Promise.all([watch("SB", url, expected.size, 6), watch("SC", url, expected.size, 6)]);
  console.log(`shaka shares from peers: SB ${(peerShare(b.v) * 100).toFixed(1)} %, SC ${(peerShare(c.v) * 100).toFixed(1)} %`);
  for (const x of [b, c]) {
    checkView(x.v, expected, expected.size);
    expect(x.v.hashFailures).toBe(0);
    expect(peerShare(x.v)).toBeGreaterThanOrEqual(0.6);
  }
  // The origin was asked once per file: B's and C's bytes came from A, each other and the edge's cache.
  const hits = demo().origin.hits();
  for (const f of expected.keys()) expect(hits[`/stream/vod/dash/${f}`], f).toBe(1);
}, 300_000);

it("the demo gallery page opens one coordinator socket for its whole image set (the route's collection swarm)", async () => {
  await closeViewers();
  const peer = await demo().openPeer("G");
  await peer.context.addInitScript(COUNT_SOCKETS);
  await peer.page.goto(`${demo().edge.url}/c/e2e/index.html`);
  await peer.page.waitForFunction(() => (window as any).demo && (window as any).demo.state !== "loading", undefined, { timeout: 150_000 });
  const r = await peer.page.evaluate(() => ({ state: (window as any).demo.state, items: (window as any).demo.items.length, ok: (window as any).demo.items.filter((i: { ok: boolean }) => i.ok).length, sockets: (window as any).__sockets }));
  expect(r.state).not.toBe("error");
  expect(r.ok).toBe(r.items);
  expect(r.items).toBeGreaterThan(1);
  expect(r.sockets.opened).toBe(1);
}, 300_000);
