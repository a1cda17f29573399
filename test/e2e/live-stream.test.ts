/**
 * Three hls.js tabs on the demo's LIVE stream (demo/stream-media.mjs: ffmpeg encodes in real time
 * into a 6-segment sliding window): playback advances with no stall over 1 s, tabs 2–3 get ≥ 60 % of
 * their segment bytes from peers, every segment equals ffmpeg's file, ≤ 2 coordinator
 * sockets per tab, each segment fetched from the origin once at most.
 * Each segment's source and load time are printed (the evidence of how the live edge is shared).
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOrigin, type DemoOrigin } from "../../demo/origin.mjs";
import { hasFfmpeg, SEGMENT_SECONDS, startLive } from "../../demo/stream-media.mjs";
import { formatLogs, launchChromium, openPeer, type Peer } from "./harness/browser";
import { COUNT_SOCKETS } from "./harness/socket-count";
import { startTestEdge, type TestEdge } from "./harness/edge";
import { assertPreconditions } from "./harness/preflight";
import { readVideoView, type VideoView } from "./harness/video-view";

interface Segment { url: string; sn: number; size: number; sha256: string; at: number; fromPeers: number; fromEdge: number; edgeWhy: Record<string, number> }
type LiveView = VideoView<Segment>;

let origin: DemoOrigin | undefined;
let edge: TestEdge | undefined;
let browser: Browser | undefined;
let live: { dir: string; stop(): Promise<void> } | undefined;
/** SHA-256 of every live segment ffmpeg finished, and when it appeared (polled: the window deletes old files). */
const liveHashes = new Map<string, { sha256: string; seenAt: number }>();
let livePoll: ReturnType<typeof setInterval> | undefined;
let startError: unknown;
const peers: Peer[] = [];

beforeAll(async () => {
  try {
    assertPreconditions();
    if (!hasFfmpeg()) throw new Error("ffmpeg is not installed (apt-get install ffmpeg): the live scenario needs real media");
    live = startLive();
    // temp_file: a segment appears under its name only once complete, so hashing it then is exact.
    livePoll = setInterval(() => {
      for (const f of readdirSync(live!.dir).filter((x) => /^seg-\d+\.m4s$/.test(x) && !liveHashes.has(x))) {
        try {
          liveHashes.set(f, { sha256: createHash("sha256").update(readFileSync(join(live!.dir, f))).digest("hex"), seenAt: Date.now() });
        } catch {
          // deleted between listing and reading: it left the window before anyone could load it
        }
      }
    }, 100);
    origin = await startOrigin({ port: 0, streams: { live: live.dir } });
    [edge, browser] = await Promise.all([startTestEdge({ originUrl: origin.url, scope: "by-type" }), launchChromium()]);
  } catch (e) {
    startError = e; // rethrown by the test: a start failure fails, it is never a skip
  }
}, 180_000);

afterAll(async () => {
  for (const p of peers) await p.close();
  await browser?.close().catch(() => undefined);
  await edge?.close().catch(() => undefined);
  await origin?.close();
  clearInterval(livePoll);
  await live?.stop();
});


const view = (peer: Peer): Promise<LiveView> => readVideoView<Segment>(peer);

/** Opens the live page; resolves once the tab loaded `segments` media segments and played on by (segments − 2) segment durations. */
async function watchLive(name: string, segments: number): Promise<{ peer: Peer; v: LiveView }> {
  const peer = await openPeer(browser!, name);
  peers.push(peer);
  await peer.context.addInitScript(COUNT_SOCKETS);
  await peer.page.goto(`${edge!.url}/c/e2e/video.html?stream=live`);
  const deadline = Date.now() + 150_000;
  let startedAt: number | null = null;
  for (;;) {
    const st = await peer.page.evaluate(() => {
      const v = (window as any).video;
      return v ? { state: v.state as string, n: new Set(v.segments.map((s: { sn: unknown }) => s.sn)).size, t: v.currentTime() as number } : null;
    });
    if (st && st.t > 0 && startedAt === null) startedAt = st.t;
    if (st && (st.state === "error" || (startedAt !== null && st.n >= segments && st.t - startedAt >= (segments - 2) * SEGMENT_SECONDS))) break;
    if (Date.now() > deadline) throw new Error(`${name}: live playback did not advance over ${segments} segments in 150 s: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const v = await view(peer);
  console.log(`live ${name}: ${v.state}, t=${v.currentTime.toFixed(1)} s, ${v.segments.length} segments, peers ${v.fromPeers} / edge ${v.fromEdge}, stalls ${JSON.stringify(v.stalls)}, sockets opened ${v.sockets.opened} (max open ${v.sockets.maxOpen})`);
  for (const s of v.segments) {
    const file = s.url.split("/").pop()!;
    const seen = liveHashes.get(file)?.seenAt;
    const at = v.timeOrigin + s.at;
    console.log(`  ${name} ${file}: +${seen ? ((at - seen) / 1000).toFixed(2) : "?"} s after ffmpeg wrote it, peers ${s.fromPeers} / edge ${s.fromEdge} ${JSON.stringify(s.edgeWhy)}`);
  }
  return { peer, v };
}

it("three viewers of a live hls.js stream (sliding window): playback advances, viewers 2–3 get ≥ 60 % of segment bytes from peers, bytes equal ffmpeg's, ≤ 2 sockets per tab", async (ctx) => {
  if (startError) throw startError;
  ctx.onTestFailed(() => console.log(`\n===== live failure context =====\norigin hits: ${JSON.stringify(origin!.hits())}\n${formatLogs(peers)}`));
  const checkLive = (v: LiveView) => {
    expect(v.error).toBeNull();
    expect(v.fatal).toEqual([]);
    for (const seg of v.segments) {
      const file = seg.url.split("/").pop()!;
      expect({ file, sha256: seg.sha256 }).toEqual({ file, sha256: liveHashes.get(file)?.sha256 });
    }
    for (const st of v.stalls) expect(st.ms, `stall at ${st.at} s`).toBeLessThanOrEqual(1000);
    expect(v.sockets.opened).toBeLessThanOrEqual(2);
  };
  // A stream already running, as viewers find one: its window holds a few segments before A arrives.
  while (liveHashes.size < 3) await new Promise((r) => setTimeout(r, 200));
  const a = watchLive("LA", 10);
  // B and C join while A plays: all three follow the same live edge from then on.
  await new Promise((r) => setTimeout(r, 3000));
  const [va, vb, vc] = await Promise.all([a, watchLive("LB", 8), watchLive("LC", 8)]);
  checkLive(va.v);
  for (const x of [vb, vc]) {
    checkLive(x.v);
    expect(x.v.hashFailures).toBe(0);
  }
  // The live edge is shared: the first viewer leads (fetches each new segment first, from the edge)
  // and viewers 2–3 get ≥ 60 % of their segment bytes from peers (client/players/segment-loader.ts:
  // sticky leader, followers wait out the edge's fill time).
  const share = (v: LiveView) => v.fromPeers / Math.max(1, v.fromPeers + v.fromEdge);
  console.log(`live shares from peers: A ${(share(va.v) * 100).toFixed(0)} %, B ${(share(vb.v) * 100).toFixed(0)} %, C ${(share(vc.v) * 100).toFixed(0)} %`);
  expect(share(vb.v)).toBeGreaterThanOrEqual(0.6);
  expect(share(vc.v)).toBeGreaterThanOrEqual(0.6);
  // Each live segment the viewers loaded was fetched from the origin once at most.
  const hits = origin!.hits();
  for (const seg of new Set([...va.v.segments, ...vb.v.segments, ...vc.v.segments].map((s) => s.url.split("/").pop()!)))
    expect(hits[`/stream/live/${seg}`] ?? 0, seg).toBeLessThanOrEqual(1);
}, 300_000);
