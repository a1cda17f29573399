#!/usr/bin/env node
/**
 * `npm start`: the demo origin (demo/origin.mjs) plus the edge Worker and swarm Durable Object under
 * `wrangler dev`, offline. Writes `.dev.vars` with a random development TOKEN_SECRET on first run.
 * Ctrl-C stops both.
 *
 *   EDGE_PORT (8787), ORIGIN_PORT (8788), HOST (127.0.0.1; 0.0.0.0 to reach it from the LAN),
 *   ICE_SERVERS (JSON array of RTCIceServer handed to peers, e.g. '[{"urls":"stun:stun.example.org"}]'),
 *   VERBOSE=1 (wrangler's log)
 *
 * The demo page lives in demo/public/ (the origin serves it at `/`); it is opened through the edge,
 * `<edge>/c/demo/index.html`, so it is same-origin with the SDK and its service worker.
 * docs/demo.md walks through it.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { startOrigin } from "../demo/origin.mjs";

const host = process.env.HOST ?? "127.0.0.1";
const edgePort = Number(process.env.EDGE_PORT ?? 8787);
const originPort = Number(process.env.ORIGIN_PORT ?? 8788);
const edge = `http://${host}:${edgePort}`;
const startedAt = Date.now();

if (!existsSync(".dev.vars")) {
  // Development only: production uses `wrangler secret put TOKEN_SECRET`.
  writeFileSync(".dev.vars", `TOKEN_SECRET=dev-${randomBytes(24).toString("hex")}\n`);
  console.log("wrote .dev.vars (development TOKEN_SECRET)");
}

// The operator dashboard's token (docs/dashboard.md): a development value, added once, kept across runs.
let dashboardToken = /^DASHBOARD_TOKEN=(.+)$/m.exec(readFileSync(".dev.vars", "utf8"))?.[1];
if (!dashboardToken) {
  dashboardToken = `dev-${randomBytes(18).toString("hex")}`;
  appendFileSync(".dev.vars", `DASHBOARD_TOKEN=${dashboardToken}\n`);
}

const origin = await startOrigin({ port: originPort, host });
// The Worker reaches the origin over loopback even when HOST exposes both to the LAN (0.0.0.0).
const wildcard = host === "0.0.0.0";
const routes = JSON.stringify({ "/demo/": wildcard ? `http://127.0.0.1:${origin.port}/` : origin.url });
// ICE_SERVERS (JSON array of RTCIceServer, e.g. a STUN server) overrides wrangler.toml's empty list.
const vars = ["--var", `ROUTES:${routes}`, ...(process.env.ICE_SERVERS ? ["--var", `ICE_SERVERS:${process.env.ICE_SERVERS}`] : [])];
const wrangler = spawn(
  "npx",
  ["wrangler", "dev", "--port", String(edgePort), "--ip", host, ...vars, "--show-interactive-dev-session=false"],
  { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
);
wrangler.stdout.on("data", (d) => process.env.VERBOSE && process.stdout.write(d));
let stderr = "";
wrangler.stderr.on("data", (d) => { stderr = (stderr + d).slice(-4000); if (process.env.VERBOSE) process.stderr.write(d); });

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  try { process.kill(-wrangler.pid, "SIGTERM"); } catch { /* already gone */ }
  await origin.close();
  process.exit(code);
}
process.on("SIGINT", () => stop(0)).on("SIGTERM", () => stop(0));
wrangler.on("exit", (code) => {
  if (stopping) return;
  console.error(`wrangler dev exited (${code})\n${stderr}`);
  stop(1);
});

// Ready when /health answers (bounded: 90 s).
const deadline = Date.now() + 90_000;
for (;;) {
  try {
    if ((await fetch(`${edge}/health`)).ok) break;
  } catch { /* not yet */ }
  if (Date.now() > deadline) {
    console.error(`wrangler dev did not become ready in 90 s\n${stderr}`);
    await stop(1);
  }
  await new Promise((r) => setTimeout(r, 250));
}

const demoUrl = `${wildcard ? `http://127.0.0.1:${edgePort}` : edge}/c/demo/index.html`;
const secs = ((Date.now() - startedAt) / 1000).toFixed(1);
const steps = [
  ``,
  `edgeswarm demo is up (${secs} s)`,
  ``,
  `  1. Open  ${demoUrl}`,
  `     The first tab loads 12 images (33 MB) from the edge.`,
  `  2. Open the same URL in a second tab (or another browser on this machine).`,
  `     It loads them from the first tab over WebRTC: watch "from peers" and the offload %.`,
  `     Service-worker mode: ${demoUrl}?mode=sw   (more in docs/demo.md)`,
  ...(wildcard ? [`     Other machines: http://<this machine's LAN address>:${edgePort}/c/demo/index.html (docs/demo.md: secure context)`] : []),
  ``,
  `  edge Worker   ${edge}   (wrangler dev + Swarm Durable Object; VERBOSE=1 shows its log)`,
  `  dashboard     ${wildcard ? `http://127.0.0.1:${edgePort}` : edge}/dashboard?token=${dashboardToken}   (site numbers, live)`,
  `  demo origin   ${origin.url}   (origin hits: ${origin.url}__hits — each image is fetched once)`,
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
