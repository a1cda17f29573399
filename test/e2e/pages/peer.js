// Test helpers of peer.html. Plain browser JS (served as is by the harness' page worker).
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (buf) => hex(await crypto.subtle.digest("SHA-256", buf));

/** Reads a Response fully; returns what the test asserts on (never the bytes themselves). */
async function describe(res) {
  const buf = await res.arrayBuffer();
  const headers = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers, size: buf.byteLength, sha256: await sha256(buf) };
}

const e2e = {
  /**
   * Errors the page saw, for engines whose driver has no console events (WebKit over classic
   * WebDriver): uncaught exceptions, unhandled rejections and console.error calls.
   */
  pageErrors: [],
  sdk: null,
  sdkError: null,
  swarm: null,
  /** createSwarm with the page's origin as edge; options pass through. */
  async createSwarm(opts = {}) {
    if (!e2e.sdk) throw new Error(`SDK not loaded: ${e2e.sdkError}`);
    e2e.swarm = await e2e.sdk.createSwarm({ edge: location.origin, ...opts });
    window.swarm = e2e.swarm;
    // Where each chunk came from and why (edge chunks carry `why`): failure reports print it.
    e2e.sources = {};
    e2e.swarm.addEventListener("progress", (ev) => {
      const k = ev.detail.source + (ev.detail.why ? `:${ev.detail.why}` : "");
      e2e.sources[k] = (e2e.sources[k] ?? 0) + 1;
    });
    // A key-derived peer id is computed asynchronously (WebCrypto); stats carry it from here on.
    await e2e.swarm.ready;
    return true;
  },
  /** swarm.fetch + read + hash. */
  async swarmFetch(url, init) {
    const t0 = performance.now();
    const res = await e2e.swarm.fetch(url, init);
    const d = await describe(res);
    return { ...d, ms: Math.round(performance.now() - t0) };
  },
  /** Plain page fetch (goes through the service worker if one controls the page). */
  async plainFetch(url, init) {
    return describe(await fetch(url, init));
  },
  /** Starts a swarm.fetch without waiting; its result lands in e2e.pending[key]. */
  startSwarmFetch(key, url, init) {
    e2e.pending[key] = e2e.swarmFetch(url, init).then(
      (r) => ({ ok: true, value: r }),
      (e) => ({ ok: false, error: String(e && e.stack || e) }),
    );
    return true;
  },
  async awaitFetch(key) {
    return e2e.pending[key];
  },
  pending: {},
  /** The SDK's registerServiceWorker for this page's swarm; resolves once the SW is active. */
  async registerSW(patterns) {
    await e2e.sdk.registerServiceWorker({ swarm: e2e.swarm, patterns });
    await navigator.serviceWorker.ready;
    return true;
  },
  /** Whether a service worker controls this page (only then does it see the page's fetches). */
  async controlled(waitMs = 3000) {
    if (navigator.serviceWorker.controller) return true;
    await new Promise((r) => {
      navigator.serviceWorker.addEventListener("controllerchange", r, { once: true });
      setTimeout(r, waitMs);
    });
    return !!navigator.serviceWorker.controller;
  },
  /** Loads an <img> the way page markup would, and reports its decoded size. */
  async loadImage(url) {
    const img = document.createElement("img");
    img.src = url;
    document.body.append(img);
    await img.decode();
    return { width: img.naturalWidth, height: img.naturalHeight };
  },
  /** What this engine offers the SDK (a Safari-engine visitor without WebRTC has no RTCPeerConnection). */
  env() {
    return {
      rtc: typeof RTCPeerConnection,
      secure: window.isSecureContext,
      subtle: !!(crypto && crypto.subtle),
      serviceWorker: "serviceWorker" in navigator,
      userAgent: navigator.userAgent,
    };
  },
  /** swarm.fetch an image, show it from a blob: URL like a gallery would; hash and decoded size. */
  async showImage(url) {
    const res = await e2e.swarm.fetch(url);
    const buf = await res.arrayBuffer();
    const img = document.createElement("img");
    img.src = URL.createObjectURL(new Blob([buf], { type: res.headers.get("content-type") || "" }));
    document.body.append(img);
    await img.decode();
    return { status: res.status, size: buf.byteLength, sha256: await sha256(buf), width: img.naturalWidth, height: img.naturalHeight };
  },
  /**
   * swarm.fetch a video, play it (muted) in a <video> from a blob: URL until its clock moves; the
   * decoder, not just the fetch, has to accept the bytes.
   */
  async playVideo(url) {
    const res = await e2e.swarm.fetch(url);
    const buf = await res.arrayBuffer();
    const v = document.createElement("video");
    v.muted = true;
    v.playsInline = true;
    document.body.append(v);
    const failed = new Promise((_, reject) => v.addEventListener("error", () => reject(new Error(`video error ${v.error && v.error.code}: ${v.error && v.error.message}`)), { once: true }));
    const loaded = new Promise((r) => v.addEventListener("loadeddata", r, { once: true }));
    v.src = URL.createObjectURL(new Blob([buf], { type: res.headers.get("content-type") || "video/mp4" }));
    await Promise.race([loaded, failed]);
    await Promise.race([v.play(), failed]);
    await Promise.race([new Promise((r) => {
      const tick = () => (v.currentTime > 0.2 ? r() : setTimeout(tick, 50));
      tick();
    }), failed]);
    v.pause();
    return {
      status: res.status, size: buf.byteLength, sha256: await sha256(buf),
      videoWidth: v.videoWidth, videoHeight: v.videoHeight, duration: Math.round(v.duration), played: v.currentTime > 0.2,
    };
  },
  /** The visitor's seeding switch (`swarm.seeding = on`) and what the SDK persisted for it. */
  setSeeding(on) {
    e2e.swarm.seeding = on;
    return e2e.seedingState();
  },
  seedingState() {
    const stored = {};
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k.startsWith("edgeswarm:seeding:")) stored[k] = localStorage.getItem(k);
    }
    return { seeding: e2e.swarm ? e2e.swarm.seeding : null, blockers: e2e.swarm ? e2e.swarm.seedingBlockers() : null, stored };
  },
  /** Chunk counts by source (`peer`, `edge:<why>`, `store`) since createSwarm. */
  chunkSources() {
    return { ...e2e.sources };
  },
  /** `swarm.diagnose()`, through JSON as a page would log or send it. */
  async diagnose() {
    return JSON.parse(JSON.stringify(await e2e.swarm.diagnose()));
  },
  // stats() is synchronous in the contract; awaiting also tolerates a Promise.
  async stats() {
    return JSON.parse(JSON.stringify(await e2e.swarm.stats()));
  },
};
window.e2e = e2e;
window.addEventListener("error", (ev) => e2e.pageErrors.push({ type: "pageerror", text: String(ev.error && ev.error.stack || ev.message) }));
window.addEventListener("unhandledrejection", (ev) => e2e.pageErrors.push({ type: "pageerror", text: `unhandled rejection: ${ev.reason && ev.reason.stack || ev.reason}` }));
const consoleError = console.error.bind(console);
console.error = (...args) => {
  e2e.pageErrors.push({ type: "error", text: args.map(String).join(" ") });
  consoleError(...args);
};

try {
  e2e.sdk = await import("/sdk/edgeswarm.js");
  document.getElementById("state").textContent = "ready";
} catch (err) {
  e2e.sdkError = String(err && err.stack || err);
  document.getElementById("state").textContent = "sdk-error";
  console.error("e2e: SDK failed to load:", e2e.sdkError);
}
window.dispatchEvent(new Event("e2e-ready"));
e2e.ready = true;
