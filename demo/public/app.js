// The edgeswarm demo page: loads the image set listed in assets/index.json through the SDK and shows,
// live, where every chunk came from. Plain browser JS, no build step, no external URLs.
//
// Query options (all optional):
//   edge=<origin>    edge to use (default: this page's origin when served under /c/, else :8787 on this host)
//   mode=sw          service-worker mode: page code uses plain fetch(), the SDK's worker routes it
//   deadline=<ms>    per-chunk peer deadline before the edge takes a chunk (SDK default 4000)
//   peerwait=<ms>    how long a download waits for peers to connect (SDK default 1500)
//   up=<bytes/s>     upload cap of this tab (default 0 = unlimited: it is your own machine)
//   parallel=<n>     images fetched at once (default 3)
import { renderStats, peerColor, EDGE_COLOR } from "./panel.js";

const q = new URLSearchParams(location.search);
const underEdge = location.pathname.startsWith("/c/");
const edge = q.get("edge") ?? (underEdge ? location.origin : `${location.protocol}//${location.hostname}:8787`);
// The route prefix this page lives under (/c/demo/ with `npm start`, /c/e2e/ in the e2e test).
const base = underEdge ? location.pathname.replace(/[^/]*$/, "") : "/c/demo/";
const abs = (p) => new URL(base + p, edge).href;
const num = (name, dflt) => (q.has(name) && Number.isFinite(Number(q.get(name))) ? Number(q.get(name)) : dflt);
const swMode = q.get("mode") === "sw";
const $ = (id) => document.getElementById(id);

/** What the e2e test (and a curious console user) reads. */
const demo = (window.demo = { state: "loading", error: null, loadMs: null, items: [], swarm: null, mode: swMode ? "sw" : "sdk" });

function setState(s, err) {
  demo.state = s;
  if (err) demo.error = String((err && err.stack) || err);
  $("state").textContent = err ? `${s}: ${err}` : s;
}

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
// crypto.subtle exists only in secure contexts (https, localhost, 127.0.0.1): elsewhere we say so.
const sha256 = async (buf) => (crypto.subtle ? hex(await crypto.subtle.digest("SHA-256", buf)) : null);

/** One gallery card: picture, chunk strip, caption. */
function card(item, chunks) {
  const fig = document.createElement("figure");
  fig.innerHTML = `<div class="pic">waiting…</div><div class="strip"></div><figcaption><span></span><span class="check"></span></figcaption>`;
  fig.querySelector("figcaption span").textContent = `${item.path.split("/").pop()} · ${(item.size / 2 ** 20).toFixed(1)} MiB`;
  const strip = fig.querySelector(".strip");
  for (let i = 0; i < chunks; i++) strip.append(document.createElement("i"));
  $("gallery").append(fig);
  return {
    cell: (i) => strip.children[i],
    pic: fig.querySelector(".pic"),
    check: fig.querySelector(".check"),
  };
}

/** Lane slack of the demo pages, ms (see createSwarm below). */
const DEMO_LANE_SLACK_MS = 60_000;

async function main() {
  let sdk;
  try {
    sdk = await import(`${edge}/sdk/edgeswarm.js`);
  } catch (e) {
    throw new Error(`could not load the SDK from ${edge}/sdk/edgeswarm.js (is the edge running?): ${e}`);
  }
  // A per-tab memory store: two tabs of one browser share IndexedDB, and with the SDK's default
  // (persistent) store the second tab would read the first one's chunks from disk instead of
  // fetching them from it — fast, but it would demonstrate nothing. Reloading = a new visitor.
  const store = await sdk.ChunkStore.open(new sdk.MemoryChunkBackend(), { quotaBytes: 512 * 2 ** 20 });
  const swarm = sdk.createSwarm({
    edge,
    store,
    maxUploadBytesPerSec: num("up", 0),
    ...(q.has("deadline") ? { chunkDeadlineMs: num("deadline", 4000) } : {}),
    ...(q.has("peerwait") ? { peerWaitMs: num("peerwait", 1500) } : {}),
    // The demo's edge runs on this machine (loopback): held to the edge alone's schedule with no
    // slack (the SDK's default), the lane would rightly take every chunk from it and show nothing
    // of the swarm. Peers may take up to this much longer here; `?slack=0` shows the default.
    scheduler: { laneSlackMs: num("slack", DEMO_LANE_SLACK_MS) },
  });
  demo.swarm = swarm;
  // The peer id is derived from this tab's secret key (WebCrypto, async): known once `ready`.
  const me = await swarm.ready;
  $("me").textContent = me;
  $("me").style.color = peerColor(me);

  const index = await (await fetch(abs("assets/index.json"))).json();
  const total = index.items.reduce((s, it) => s + it.size, 0);
  $("total-size").textContent = `${(total / 1e6).toFixed(0)} MB`;
  const urls = new Set(index.items.map((it) => abs(it.path)));
  const chunkSize = 256 * 1024; // display only; the manifest's chunk size (CHUNK_SIZE) is the same by default
  const cards = new Map(index.items.map((it) => [abs(it.path), card(it, Math.ceil(it.size / chunkSize))]));
  demo.items = index.items.map((it) => ({ path: it.path, size: it.size, expected: it.sha256, sha256: null, ok: null }));

  swarm.addEventListener("progress", (e) => {
    const d = e.detail;
    const c = cards.get(d.url);
    const cell = c?.cell(d.index);
    if (cell) {
      cell.style.background = d.source === "peer" ? peerColor(d.peerId) : d.source === "edge" ? EDGE_COLOR : "#8b98a5";
      cell.title = d.source === "peer" ? `chunk ${d.index} from peer ${d.peerId}` : `chunk ${d.index} from ${d.source}`;
    }
    if (c) c.pic.textContent = `${Math.round((100 * d.received) / d.size)} %`;
  });

  if (swMode) {
    if (!underEdge) throw new Error("service-worker mode needs the page served by the edge (…/c/demo/index.html)");
    await sdk.registerServiceWorker({ swarm, patterns: [base + "assets/"] });
  }

  const t0 = performance.now();
  const done = { n: 0 };
  const tick = () => renderStats({ swarm, urls, total, done, t0, loadMs: demo.loadMs, verified: demo.items.filter((i) => i.ok).length });
  const timer = setInterval(tick, 250);
  tick();

  // Page code in sdk mode calls swarm.fetch; in sw mode it calls plain fetch() and the SDK's service
  // worker hands the request to this window's swarm — same bytes, no SDK call here.
  const get = (url) => (swMode ? fetch(url) : swarm.fetch(url));
  let next = 0;
  const worker = async () => {
    while (next < index.items.length) {
      const k = next++;
      const it = index.items[k];
      const url = abs(it.path);
      const res = await get(url);
      if (!res.ok) throw new Error(`${it.path}: HTTP ${res.status}`);
      const buf = await res.arrayBuffer();
      const got = await sha256(buf);
      Object.assign(demo.items[k], { sha256: got, ok: got === null ? null : got === it.sha256 && buf.byteLength === it.size });
      const c = cards.get(url);
      c.check.textContent = got === null ? "not verified (insecure context)" : demo.items[k].ok ? "✓ SHA-256 verified" : "✗ hash mismatch";
      c.check.className = `check ${demo.items[k].ok === false ? "bad" : "ok"}`;
      const img = new Image();
      img.alt = it.path;
      img.src = URL.createObjectURL(new Blob([buf], { type: "image/bmp" }));
      await img.decode().catch(() => undefined);
      c.pic.replaceChildren(img);
      done.n++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, num("parallel", 3)) }, worker));
  demo.loadMs = Math.round(performance.now() - t0);
  tick();
  setState(demo.items.every((i) => i.ok !== false) ? "done" : "hash-mismatch");
  // Keep refreshing: this tab now seeds, and its "uploaded" and peer counts keep moving.
  clearInterval(timer);
  setInterval(tick, 1000);
}

$("mode").textContent = swMode ? "service worker" : "sdk (swarm.fetch)";
const other = new URL(location.href);
if (swMode) other.searchParams.delete("mode");
else other.searchParams.set("mode", "sw");
$("other-mode").href = other.href;
$("other-mode").textContent = swMode ? "switch to swarm.fetch()" : "switch to service-worker mode";
$("again").addEventListener("click", () => location.reload());

main().catch((e) => {
  console.error("demo:", e);
  $("explain").textContent = `Something went wrong: ${e.message ?? e}`;
  setState("error", e);
});
