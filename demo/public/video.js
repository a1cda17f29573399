// The edgeswarm video demo: hls.js plays the demo origin's stream; edgeswarm/hls routes its media
// segments through the SDK. Plain browser JS, no build step: hls.js comes from the demo origin
// (vendor/hls.mjs), the SDK and the integration from the edge (/sdk/).
//
// Query options (all optional):
//   stream=vod|live   which demo stream (default vod)
//   player=hls|shaka  hls.js with edgeswarm/hls (default), or Shaka Player with edgeswarm/shaka
//                     playing the same encode as DASH (VOD only)
//   edge=<origin>     edge to use (default: this page's origin when served under /c/, else :8787)
//   grace=<ms>        how long a segment's first chunk waits for a linked peer that holds it before
//                     the edge takes it (default 1500: segments are prefetched ahead of playback)
import { EDGE_COLOR, peerColor } from "./panel.js";

const q = new URLSearchParams(location.search);
const underEdge = location.pathname.startsWith("/c/");
const edge = q.get("edge") ?? (underEdge ? location.origin : `${location.protocol}//${location.hostname}:8787`);
const base = underEdge ? location.pathname.replace(/[^/]*$/, "") : "/c/demo/";
const streamName = q.get("stream") === "live" ? "live" : "vod";
const playerName = q.get("player") === "shaka" && streamName === "vod" ? "shaka" : "hls";
const src = new URL(playerName === "shaka" ? `${base}stream/vod/dash/manifest.mpd` : `${base}stream/${streamName}/${streamName === "vod" ? "hls/" : ""}index.m3u8`, edge).href;
const $ = (id) => document.getElementById(id);
const num = (name, dflt) => (q.has(name) && Number.isFinite(Number(q.get(name))) ? Number(q.get(name)) : dflt);
const fmt = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(0)} kB` : `${n} B`);
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** What the e2e test (and a curious console user) reads. */
const video = (window.video = {
  state: "loading", error: null, src, stream: streamName, player: playerName,
  /** Every media segment hls.js loaded: URL, size, SHA-256 of the bytes it got. */
  segments: [],
  /** Rebuffering after playback started: { at (media time), ms }. */
  stalls: [],
  fatal: [],
  swarm: null,
  currentTime: () => $("video").currentTime,
});

function setState(s, err) {
  video.state = s;
  if (err) video.error = String((err && err.stack) || err);
  $("state").textContent = err ? `${s}: ${err}` : s;
}

/** Shaka's compiled build is a classic script that defines `window.shaka`. */
function loadShaka() {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = "vendor/shaka-player.js";
    s.onload = () => resolve(window.shaka);
    s.onerror = () => reject(new Error("could not load vendor/shaka-player.js"));
    document.head.append(s);
  });
}

/** Records one media segment the player got: its URL, size and SHA-256, and colours its square. */
async function recordSegment(swarm, squares, key, url, payload) {
  // digest() copies the bytes at the call, before the player hands the buffer on.
  const digest = crypto.subtle.digest("SHA-256", payload);
  const loadedAt = Math.round(performance.now());
  const hash = hex(await digest);
  const c = swarm.stats().contents[url];
  // Per segment: when the player got it and where its bytes came from (the e2e prints these).
  video.segments.push({ url, sn: key, size: payload.byteLength, sha256: hash, at: loadedAt, fromPeers: c?.fromPeers ?? 0, fromEdge: c?.fromEdge ?? 0, edgeWhy: c?.edgeWhy ?? {} });
  let sq = squares.get(key);
  if (!sq) {
    sq = document.createElement("i");
    squares.set(key, sq);
    $("segments").append(sq);
  }
  sq.style.background = c && c.fromPeers > c.fromEdge ? "#3fb950" : EDGE_COLOR;
  sq.title = `${url.split("/").pop()}: ${c ? `${fmt(c.fromPeers)} from peers, ${fmt(c.fromEdge)} from the edge` : "from the store"}`;
}

/** Shaka Player + edgeswarm/shaka on the DASH encode of the VOD. */
async function playShaka(sdk, swarm, el, squares) {
  const [shaka, { edgeswarmShaka }] = await Promise.all([loadShaka(), import(`${edge}/sdk/edgeswarm-shaka.js`)]);
  shaka.polyfill.installAll();
  const player = new shaka.Player();
  await player.attach(el);
  edgeswarmShaka(shaka, player, swarm, { media: el });
  player.getNetworkingEngine().registerResponseFilter((type, response) => {
    if (type === shaka.net.NetworkingEngine.RequestType.SEGMENT && /seg-[^/]*\.m4s$/.test(response.uri))
      void recordSegment(swarm, squares, response.uri.split("/").pop(), response.uri, response.data);
  });
  player.addEventListener("error", (e) => {
    video.fatal.push(`shaka ${e.detail?.code}`);
    setState("error", `shaka error ${e.detail?.code}`);
  });
  await player.load(src);
}

async function main() {
  const sdk = await import(`${edge}/sdk/edgeswarm.js`);
  // A per-tab memory store (as on the gallery page): a second tab must get segments from the first
  // over WebRTC, not read them from a shared IndexedDB.
  const store = await sdk.ChunkStore.open(new sdk.MemoryChunkBackend(), { quotaBytes: 256 * 2 ** 20 });
  // Lane slack: the demo edge is loopback (see app.js); each segment's deadline still brings the edge in before a stall.
  const swarm = (video.swarm = sdk.createSwarm({ edge, store, maxUploadBytesPerSec: 0, scheduler: { startGraceMs: num("grace", 1500), laneSlackMs: num("slack", 60_000) } }));
  const me = await swarm.ready;
  $("me").textContent = me;
  $("me").style.color = peerColor(me);
  $("stream-name").textContent = streamName === "live" ? "a live HLS stream (sliding window)" : "an HLS video on demand";
  const other = new URL(location.href);
  other.searchParams.set("stream", streamName === "live" ? "vod" : "live");
  $("other").href = other.href;
  $("other").textContent = streamName === "live" ? "video on demand" : "live stream";

  const el = $("video");
  const squares = new Map();
  attachPlaybackEvents(el);
  if (playerName === "shaka") {
    $("stream-name").textContent = "a DASH video on demand (Shaka Player)";
    el.muted = true;
    await playShaka(sdk, swarm, el, squares);
    await el.play().catch(() => undefined);
  } else {
    await playHls(swarm, el, squares);
  }
  setInterval(() => renderPanel(swarm, el), 500);
}

/** Playback state the test reads: started, stalls (rebuffering after start), ended. */
function attachPlaybackEvents(el) {
  let waitingSince = null;
  let started = false;
  el.addEventListener("playing", () => {
    if (!started) setState("playing");
    started = true;
    if (waitingSince !== null) video.stalls.push({ at: el.currentTime, ms: Math.round(performance.now() - waitingSince) });
    waitingSince = null;
  });
  el.addEventListener("waiting", () => { if (started && waitingSince === null) waitingSince = performance.now(); });
  el.addEventListener("ended", () => setState("ended"));
}

/** hls.js + edgeswarm/hls. */
async function playHls(swarm, el, squares) {
  const [{ default: Hls }, { edgeswarmHls }] = await Promise.all([import("./vendor/hls.mjs"), import(`${edge}/sdk/edgeswarm-hls.js`)]);
  const p2p = edgeswarmHls(swarm);
  const hls = new Hls({ ...p2p.config, maxBufferLength: 30 });
  p2p.attach(hls);
  hls.on(Hls.Events.FRAG_LOADED, (_e, data) => {
    if (data.frag.sn !== "initSegment") void recordSegment(swarm, squares, data.frag.sn, data.frag.url, data.payload);
  });
  let manifestRetries = 0;
  hls.on(Hls.Events.ERROR, (_e, data) => {
    // Right after `npm start` the VOD may still be encoding (404): retry for a while.
    if (data.fatal && data.details === "manifestLoadError" && manifestRetries++ < 30) {
      $("explain").textContent = "The demo stream is still being prepared by ffmpeg… retrying.";
      setTimeout(() => hls.loadSource(src), 2000);
      return;
    }
    if (data.fatal) {
      video.fatal.push(`${data.type}: ${data.details}`);
      setState("error", `${data.type}: ${data.details}`);
    }
  });
  hls.loadSource(src);
  hls.attachMedia(el);
  el.muted = true;
  await el.play().catch(() => undefined);
}

/** The numbers panel: this tab's segment bytes by source. */
function renderPanel(swarm, el) {
  {
    const s = swarm.stats();
    let peers = 0, edgeBytes = 0;
    for (const seg of new Set(video.segments.map((x) => x.url))) {
      const c = s.contents[seg];
      if (c) { peers += c.fromPeers; edgeBytes += c.fromEdge; }
    }
    const total = peers + edgeBytes;
    $("offload").textContent = total ? `${Math.round((100 * peers) / total)} %` : "–";
    $("from-peers").textContent = fmt(peers);
    $("from-edge").textContent = fmt(edgeBytes);
    $("uploaded").textContent = fmt(s.uploaded);
    $("peers").textContent = String(s.peersConnected);
    $("segment-count").textContent = String(video.segments.length);
    $("stalls").textContent = String(video.stalls.length);
    $("bar").innerHTML = total ? `<div style="width:${(100 * peers) / total}%;background:#3fb950"></div><div style="width:${(100 * edgeBytes) / total}%;background:${EDGE_COLOR}"></div>` : "";
    $("explain").textContent = total
      ? `${Math.round((100 * peers) / total)} % of this tab's video bytes came from other tabs; playback position ${el.currentTime.toFixed(1)} s.`
      : "Loading the first segments from the edge…";
  }
}

main().catch((e) => {
  console.error("video demo:", e);
  $("explain").textContent = `Something went wrong: ${e.message ?? e}`;
  setState("error", e);
});
