/**
 * Issue 17: a Safari-engine visitor without WebRTC. Debian's WebKitGTK (MiniBrowser under
 * WebKitWebDriver on a private Xvfb display) has no `RTCPeerConnection`, so the SDK must degrade to
 * plain edge delivery: the demo gallery and a video page load with the origin's bytes and no page
 * error, and the visitor never joins a swarm — the coordinators of everything it loaded report no
 * peer, no chunk copy and no byte, and the SDK's own counters say every byte came from the edge.
 * (Origin hit counts are not asserted here: under heavy load the harness edge's 5 s origin timeout
 * can make it fetch an item twice, which says nothing about the WebKit visitor.)
 * One WebKitWebDriver + Xvfb serves the file; no Chromium is launched.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GALLERY, galleryImage, galleryPath } from "../../demo/gallery.mjs";
import { startOrigin, type DemoOrigin } from "../../demo/origin.mjs";
import { evaluateIn, waitInPage } from "./harness/browser";
import { useStack } from "./harness/stack";
import { contentRoot, createSwarm, diagnose, pageEnv, pageErrors, playVideo, sdkStats, showImage, type SwarmShardStats } from "./harness/swarm-page";

// The demo origin must be up before the stack's edge starts: its ROUTES are read then.
const routes: Record<string, string> = {};
let demoOrigin: DemoOrigin | undefined;
beforeAll(async () => {
  demoOrigin = await startOrigin({ port: 0 });
  routes["/demo/"] = demoOrigin.url;
});
afterAll(async () => {
  await demoOrigin?.close();
});
const stack = useStack({ chromium: false, extraRoutes: routes });

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The coordinator of `root` has never had a member: no peer, no chunk copy, no byte reported. */
async function expectSwarmUntouched(root: string): Promise<void> {
  const st = (await stack().edge.swarmStats(root)) as SwarmShardStats;
  expect(st.peersOnline).toBe(0);
  expect(st.chunkCopies).toBe(0);
  expect(st.bytes).toEqual({ fromPeers: 0, fromEdge: 0, uploaded: 0 });
}

it("the demo gallery in WebKit without WebRTC: 12 images byte-identical from the edge, no error, no swarm joined", async () => {
  const s = stack();
  const w = await s.openWebKitPeer("W-gallery", "/c/demo/index.html");
  await waitInPage(w, () => (window as any).demo && (window as any).demo.state !== "loading", 150_000);
  const view = await evaluateIn(w, () => {
    const d = (window as any).demo;
    const st = d.swarm.stats();
    return { state: d.state as string, error: d.error as string | null, rtc: typeof RTCPeerConnection, items: d.items as { path: string; size: number; sha256: string; ok: boolean }[], stats: st };
  }, undefined);
  console.log(`webkit gallery: ${view.state}, ${view.items.length} items, fromEdge ${view.stats.fromEdge}, fromPeers ${view.stats.fromPeers}`);
  // Why it degrades: the engine has no WebRTC at all.
  expect(view.rtc).toBe("undefined");
  expect(view.error).toBeNull();
  expect(view.state).toBe("done");

  const expected = new Map<string, { size: number; sha256: string }>();
  for (let n = 0; n < GALLERY.count; n++) {
    const b = galleryImage(n);
    expected.set(galleryPath(n).slice(1), { size: b.length, sha256: sha(b) });
  }
  const total = [...expected.values()].reduce((a, e) => a + e.size, 0);
  expect(view.items.map((i) => i.path).sort()).toEqual([...expected.keys()].sort());
  for (const it of view.items) expect({ path: it.path, size: it.size, sha256: it.sha256, ok: it.ok }).toEqual({ path: it.path, ...expected.get(it.path), ok: true });
  // Every byte from the edge, none from or to a peer, no peer connection.
  expect(view.stats).toMatchObject({ fromPeers: 0, fromEdge: total, uploaded: 0, peersConnected: 0, hashFailures: 0 });

  for (const path of expected.keys()) {
    const m = await fetch(`${s.edge.url}/m/demo/${path}`);
    expect(m.status).toBe(200);
    await expectSwarmUntouched(((await m.json()) as { manifest: { root: string } }).manifest.root);
  }
});

it("a video page in WebKit without WebRTC: the MP4 plays from edge bytes, images too; no error, no swarm joined", async () => {
  const s = stack();
  const video = "/video/6s.mp4";
  const images = [0, 1, 2].map((n) => `/img/wk-${n}/320x240.bmp`);
  const w = await s.openWebKitPeer("W-video");
  const env = await pageEnv(w);
  expect(env).toMatchObject({ rtc: "undefined", secure: true, subtle: true });
  await createSwarm(w);

  const v = await playVideo(w, s.edge.contentUrl(video));
  console.log(`webkit video: ${v.size} B, ${v.videoWidth}x${v.videoHeight}, ${v.duration} s, played ${v.played}`);
  expect(v).toMatchObject({ status: 200, size: s.origin.bytes(video).length, sha256: s.origin.sha256(video), videoWidth: 640, videoHeight: 360, played: true });
  for (const p of images) {
    expect(await showImage(w, s.edge.contentUrl(p))).toMatchObject({ status: 200, sha256: s.origin.sha256(p), width: 320, height: 240 });
  }

  const st = await sdkStats(w);
  const all = [video, ...images];
  const total = all.reduce((a, p) => a + s.origin.bytes(p).length, 0);
  expect(st).toMatchObject({ fromPeers: 0, fromEdge: total, uploaded: 0, peersConnected: 0, hashFailures: 0 });
  // diagnose() says why no peer was ever tried: the engine has no WebRTC.
  expect(await diagnose(w)).toEqual({ peerId: st.peerId, p2p: "unsupported", iceTransportPolicy: "all", iceServers: [], peers: [] });
  for (const p of all) {
    await expectSwarmUntouched((await contentRoot(s.edge, p)).root);
  }
  expect(await pageErrors(w)).toEqual([]);
});
