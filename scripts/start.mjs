#!/usr/bin/env node
/**
 * `npm start`: the demo origin (demo/origin.mjs) plus the edge Worker and its Durable Objects in
 * Miniflare, started from this process, offline. Writes `.dev.vars` with a random development
 * TOKEN_SECRET on first run. Ctrl-C stops both.
 *
 *   EDGE_PORT (8787), ORIGIN_PORT (8788), HOST (127.0.0.1; 0.0.0.0 to reach it from the LAN),
 *   ROUTES (JSON object, path prefix → origin base URL or the edge's per-route object, merged over the
 *           demo's `/demo/` route, e.g. '{"/media/": "http://127.0.0.1:9000/"}' or
 *           '{"/media/": {"origin": "http://127.0.0.1:9000/", "query": "ignore"}}' puts your own origin
 *           behind the local edge),
 *   ICE_SERVERS (JSON array of RTCIceServer handed to peers, e.g. '[{"urls":"stun:stun.example.org"}]'),
 *   VERBOSE=1 (workerd's log)
 *
 * Why not `wrangler dev`: its dev proxy (wrangler 4.86) opens a socket per proxied chunk and leaks
 * them in CLOSE-WAIT — 50 concurrent 8 MiB misses exhausted the descriptor limit and the edge stopped
 * answering, /health included (issue 11, docs/demo.md). Miniflare started directly, as the bench and
 * the e2e harness run it, serves the same bundle without that proxy. The bundle is what
 * `wrangler deploy` uploads (`--dry-run --outdir`), and the vars and Durable Object bindings come from
 * wrangler.toml through wrangler's own reader, so a class or binding added there needs no change here.
 *
 * The demo page lives in demo/public/ (the origin serves it at `/`); it is opened through the edge,
 * `<edge>/c/demo/index.html`, so it is same-origin with the SDK and its service worker.
 * docs/demo.md walks through it.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { startOrigin } from "../demo/origin.mjs";
import { hasFfmpeg, prepareVod, startLive } from "../demo/stream-media.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const host = process.env.HOST ?? "127.0.0.1";
const edgePort = Number(process.env.EDGE_PORT ?? 8787);
const originPort = Number(process.env.ORIGIN_PORT ?? 8788);
const edge = `http://${host}:${edgePort}`;
const startedAt = Date.now();
const fail = (msg) => {
  console.error(`npm start: ${msg}`);
  process.exit(1);
};

/** ROUTES from the environment: a JSON object of path prefix → http(s) origin base URL. */
function envRoutes() {
  const raw = process.env.ROUTES;
  if (!raw) return {};
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    fail(`ROUTES is not JSON (${e.message}); expected e.g. '{"/media/": "http://127.0.0.1:9000/"}'`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) fail("ROUTES must be a JSON object: path prefix → origin URL");
  for (const [prefix, route] of Object.entries(parsed)) {
    if (!/^\/.*\/$/.test(prefix)) fail(`ROUTES prefix ${JSON.stringify(prefix)} must start and end with "/"`);
    // A URL, or the edge's per-route object ({origin, query, unsafeMethods, scope}: docs/edge.md),
    // whose other fields the edge's own config parse checks at its first request.
    const url = route !== null && typeof route === "object" && !Array.isArray(route) ? route.origin : route;
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) fail(`ROUTES[${JSON.stringify(prefix)}] must be an http(s) URL or {"origin": "<http(s) URL>", …}`);
  }
  return parsed;
}

/** KEY=value lines of .dev.vars (wrangler's dotenv subset: no export, optional quotes). */
function devVars(file) {
  const out = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}

const extraRoutes = envRoutes();
const devVarsFile = join(ROOT, ".dev.vars");
if (!existsSync(devVarsFile)) {
  // Development only: production uses `wrangler secret put TOKEN_SECRET`.
  writeFileSync(devVarsFile, `TOKEN_SECRET=dev-${randomBytes(24).toString("hex")}\n`);
  console.log("wrote .dev.vars (development TOKEN_SECRET)");
}

// The operator dashboard's token (docs/dashboard.md): a development value, added once, kept across runs.
let dashboardToken = devVars(devVarsFile).DASHBOARD_TOKEN;
if (!dashboardToken) {
  dashboardToken = `dev-${randomBytes(18).toString("hex")}`;
  appendFileSync(devVarsFile, `DASHBOARD_TOKEN=${dashboardToken}\n`);
}

// The Worker bundle exactly as `wrangler deploy` would upload it.
const bundleDir = join(ROOT, ".wrangler", "start-bundle");
mkdirSync(bundleDir, { recursive: true });
const bundled = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", bundleDir], {
  cwd: ROOT,
  encoding: "utf8",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
if (bundled.status !== 0) fail(`wrangler deploy --dry-run failed (exit ${bundled.status})\n${bundled.stdout}\n${bundled.stderr}`);
const scriptPath = join(bundleDir, "index.js");

// Vars, compatibility settings and Durable Object bindings (SQLite or not, per the migrations) as
// wrangler.toml declares them.
const { workerOptions: fromToml } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));

// The video page's streams (demo/stream-media.mjs): a live encode running while the demo runs, and
// a VOD made once and cached — in the background, so the edge is up at once; the origin serves a
// stream as soon as its folder is in `streams`. Without ffmpeg the gallery still works.
const ffmpeg = hasFfmpeg();
const live = ffmpeg ? startLive() : null;
const streams = live ? { live: live.dir } : {};
if (ffmpeg) prepareVod().then((vod) => { streams.vod = vod.dir; }, (e) => console.error(`npm start: the demo VOD could not be made: ${e.message}`));
const origin = await startOrigin({ port: originPort, host, streams });
// The Worker reaches the origin over loopback even when HOST exposes both to the LAN (0.0.0.0).
const wildcard = host === "0.0.0.0";
const routes = { "/demo/": wildcard ? `http://127.0.0.1:${origin.port}/` : origin.url, ...extraRoutes };

const mf = new Miniflare({
  host,
  port: edgePort,
  // A fixed request.cf: Miniflare would otherwise download one from Cloudflare (we stay offline).
  cf: { colo: "DEV", country: "XX", continent: "EU", asn: 64512, asOrganization: "edgeswarm dev", latitude: "0", longitude: "0" },
  // Cache and Durable Object state survive restarts, where `wrangler dev` kept them.
  defaultPersistRoot: join(ROOT, ".wrangler", "state", "v3"),
  cachePersist: true,
  durableObjectsPersist: true,
  log: process.env.VERBOSE ? new Log(LogLevel.INFO) : new Log(LogLevel.WARN),
  workers: [
    {
      name: "edgeswarm",
      modules: true,
      scriptPath,
      modulesRoot: bundleDir,
      compatibilityDate: fromToml.compatibilityDate,
      compatibilityFlags: fromToml.compatibilityFlags,
      durableObjects: fromToml.durableObjects,
      bindings: {
        ...fromToml.bindings,
        ...devVars(devVarsFile),
        ROUTES: JSON.stringify(routes),
        ...(process.env.ICE_SERVERS ? { ICE_SERVERS: process.env.ICE_SERVERS } : {}),
      },
    },
  ],
});

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => {});
  await live?.stop().catch(() => {});
  await origin.close();
  process.exit(code);
}
process.on("SIGINT", () => stop(0)).on("SIGTERM", () => stop(0));

try {
  await mf.ready;
} catch (e) {
  console.error(`the edge did not start: ${e?.message ?? e}`);
  await stop(1);
}
// Ready when /health answers through the real socket (bounded: 30 s).
const deadline = Date.now() + 30_000;
for (;;) {
  try {
    if ((await fetch(`${wildcard ? `http://127.0.0.1:${edgePort}` : edge}/health`)).ok) break;
  } catch { /* not yet */ }
  if (Date.now() > deadline) {
    console.error("the edge did not answer /health in 30 s");
    await stop(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}

const demoUrl = `${wildcard ? `http://127.0.0.1:${edgePort}` : edge}/c/demo/index.html`;
const secs = ((Date.now() - startedAt) / 1000).toFixed(1);
const classes = Object.values(fromToml.durableObjects ?? {}).map((d) => (typeof d === "string" ? d : d.className)).join(", ");
const steps = [
  ``,
  `edgeswarm demo is up (${secs} s)`,
  ``,
  `  1. Open  ${demoUrl}`,
  `     The first tab loads 12 images (33 MB) from the edge.`,
  `  2. Open the same URL in a second tab (or another browser on this machine).`,
  `     It loads them from the first tab over WebRTC: watch "from peers" and the offload %.`,
  `     Service-worker mode: ${demoUrl}?mode=sw   (more in docs/demo.md)`,
  `  3. Video: ${demoUrl.replace(/index\.html$/, "video.html")}   (hls.js; ?stream=live for the live stream)`,
  ...(ffmpeg ? [] : [`     (no ffmpeg on this machine: the video page has no stream — apt-get install ffmpeg)`]),
  ...(wildcard ? [`     Other machines: http://<this machine's LAN address>:${edgePort}/c/demo/index.html (docs/demo.md: secure context)`] : []),
  ``,
  `  edge Worker   ${edge}   (Miniflare + ${classes}; VERBOSE=1 shows its log)`,
  `  dashboard     ${wildcard ? `http://127.0.0.1:${edgePort}` : edge}/dashboard?token=${dashboardToken}   (site numbers, live)`,
  `  demo origin   ${origin.url}   (origin hits: ${origin.url}__hits — each image is fetched once)`,
  ...Object.entries(extraRoutes).map(([p, r]) => `  route         ${edge}/c${p}…  →  ${typeof r === "string" ? r : r.origin}   (from ROUTES)`),
  ``,
  `  try:`,
  `    curl -sI ${edge}/c/demo/assets/medium.bin            # MISS, then HIT`,
  `    curl -s  ${edge}/m/demo/assets/large.bin | head -c 400  # manifest + join token`,
  `    curl -sI -H 'Range: bytes=0-99' ${edge}/c/demo/assets/huge.bin`,
  `    curl -sI ${edge}/c/demo/private/secret.bin           # BYPASS (Cache-Control: private)`,
  `    SDK: ${edge}/sdk/edgeswarm.js   service worker: ${edge}/edgeswarm-sw.js`,
  ``,
  `Ctrl-C stops both.`,
];
console.log(steps.join("\n"));
