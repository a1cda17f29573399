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
import { afterAll, expect, it } from "vitest";
import { hasFfmpeg, SEGMENT_SECONDS, startLive } from "../../demo/stream-media.mjs";
import { useDemoStack } from "./harness/demo-stack";
import { peerShare, watchVideo, type VideoView, type ViewSegment } from "./harness/video-view";

type LiveView = VideoView<Required<ViewSegment>>;

let live: { dir: string; stop(): Promise<void> } | undefined;
/** SHA-256 of every live segment ffmpeg finished, and when it appeared (polled: the window deletes old files). */
const liveHashes = new Map<string, { sha256: string; seenAt: number }>();
let livePoll: ReturnType<typeof setInterval> | undefined;

const demo = useDemoStack({
  name: "live",
  streams: async () => {
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
    return { live: live.dir };
  },
});

afterAll(async () => {
  clearInterval(livePoll);
  await live?.stop();
});

/** Opens the live page; resolves once the tab loaded `segments` media segments and played on by (segments − 2) segment durations. */
async function watchLive(name: string, segments: number): Promise<{ v: LiveView }> {
  let startedAt: number | null = null;
  const { v } = await watchVideo<Required<ViewSegment>>(demo().openPeer, name, `${demo().edge.url}/c/e2e/video.html?stream=live`, (p) => {
    if (p.currentTime > 0 && startedAt === null) startedAt = p.currentTime;
    return startedAt !== null && p.segments >= segments && p.currentTime - startedAt >= (segments - 2) * SEGMENT_SECONDS;
  }, { timeoutMs: 150_000 });
  for (const s of v.segments) {
    const file = s.url.split("/").pop()!;
    const seen = liveHashes.get(file)?.seenAt;
    const at = v.timeOrigin + s.at;
    console.log(`  ${name} ${file}: +${seen ? ((at - seen) / 1000).toFixed(2) : "?"} s after ffmpeg wrote it, peers ${s.fromPeers} / edge ${s.fromEdge} ${JSON.stringify(s.edgeWhy)}`);
  }
  return { v };
}

it("three viewers of a live hls.js stream (sliding window): playback advances, viewers 2–3 get ≥ 60 % of segment bytes from peers, bytes equal ffmpeg's, ≤ 2 sockets per tab", async () => {
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
  console.log(`live shares from peers: A ${(peerShare(va.v) * 100).toFixed(0)} %, B ${(peerShare(vb.v) * 100).toFixed(0)} %, C ${(peerShare(vc.v) * 100).toFixed(0)} %`);
  expect(peerShare(vb.v)).toBeGreaterThanOrEqual(0.6);
  expect(peerShare(vc.v)).toBeGreaterThanOrEqual(0.6);
  // Each live segment the viewers loaded was fetched from the origin once at most.
  const hits = demo().origin.hits();
  for (const seg of new Set([...va.v.segments, ...vb.v.segments, ...vc.v.segments].map((s) => s.url.split("/").pop()!)))
    expect(hits[`/stream/live/${seg}`] ?? 0, seg).toBeLessThanOrEqual(1);
}, 300_000);
