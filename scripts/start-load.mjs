#!/usr/bin/env node
/**
 * Load check of `npm start` (issue 11): starts it on free ports, fires N concurrent cache misses of
 * distinct SIZE-byte objects (default 50 × 8 MiB) through the edge, and reports — before, at the
 * peak, and after — whether /health answers, how many sockets the whole process tree holds (from
 * /proc/<pid>/fd, plus CLOSE-WAIT ones from /proc/net/tcp*) and its RSS; /health is also asked once a
 * second while the misses run.
 *
 *   node scripts/start-load.mjs [--rounds 2] [--n 50] [--size 8388608] [-- <start command…>]
 *
 * The default start command is `node scripts/start.mjs`; pass another one after `--` to compare
 * (e.g. the previous `wrangler dev` launcher). Linux only (reads /proc). Exit 1 if /health fails.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createServer } from "node:net";

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
const opts = sep >= 0 ? argv.slice(0, sep) : argv;
const command = sep >= 0 ? argv.slice(sep + 1) : [process.execPath, "scripts/start.mjs"];
const opt = (name, def) => {
  const i = opts.indexOf(`--${name}`);
  return i >= 0 ? Number(opts[i + 1]) : def;
};
const N = opt("n", 50), SIZE = opt("size", 8 * 1024 * 1024), ROUNDS = opt("rounds", 2);

const freePort = () =>
  new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/** pid and all its descendants. */
function tree(pid) {
  const children = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch { /* exited */ }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** Sockets (fds), CLOSE-WAIT sockets, and RSS of a process tree. */
function measure(pid) {
  const inodes = new Set();
  let rss = 0;
  for (const p of tree(pid)) {
    try {
      for (const fd of readdirSync(`/proc/${p}/fd`)) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`));
          if (m) inodes.add(m[1]);
        } catch { /* closed meanwhile */ }
      }
      rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0) * 1024;
    } catch { /* exited */ }
  }
  let closeWait = 0;
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of readFileSync(f, "utf8").split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[3] === "08" && inodes.has(cols[9])) closeWait++;
      }
    } catch { /* no IPv6 */ }
  }
  return { sockets: inodes.size, closeWait, rssMiB: +(rss / 2 ** 20).toFixed(1) };
}

/**
 * GET /health on a connection of its own (no keep-alive pool: a pooled socket the server has just
 * closed fails with UND_ERR_SOCKET, a client artefact, not the edge's answer); 5 s at most.
 */
function health(base) {
  return new Promise((resolve) => {
    const req = httpGet(`${base}/health`, { agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve(`error: ${e.code ?? e.message}`));
  });
}

/**
 * /health asked once a second while the misses run (each answer within 5 s): the edge must stay
 * responsive during the load, not only recover after it. Returns a stop function giving the count
 * of probes, the failed ones and the slowest answer.
 */
function probeHealth(base) {
  const probes = [];
  const timer = setInterval(() => {
    const t0 = performance.now();
    probes.push(health(base).then((status) => ({ status, ms: performance.now() - t0 })));
  }, 1000);
  return async () => {
    clearInterval(timer);
    const done = await Promise.all(probes);
    const failed = done.filter((p) => p.status !== 200);
    return { probes: done.length, failed: failed.length, slowestMs: Math.round(Math.max(0, ...done.map((p) => p.ms))), firstFailure: failed[0]?.status };
  };
}

const edgePort = await freePort(), originPort = await freePort();
const base = `http://127.0.0.1:${edgePort}`;
const child = spawn(command[0], command.slice(1), {
  stdio: ["ignore", "pipe", "pipe"],
  detached: true,
  env: { ...process.env, EDGE_PORT: String(edgePort), ORIGIN_PORT: String(originPort) },
});
let log = "";
child.stdout.on("data", (d) => (log += d));
child.stderr.on("data", (d) => (log += d));
const stop = () => {
  try { process.kill(-child.pid, "SIGTERM"); } catch { /* gone */ }
};
process.on("exit", stop);

const ready = Date.now() + 120_000;
while (!log.includes("demo is up")) {
  if (Date.now() > ready || child.exitCode !== null) {
    console.error(`start command did not come up:\n${log}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
await new Promise((r) => setTimeout(r, 1000));
const report = [{ at: "idle", health: await health(base), ...measure(child.pid) }];
let ok = report[0].health === 200;
let seed = 1000 + Math.floor(Math.random() * 1e6);
const failures = [];
for (let round = 1; round <= ROUNDS; round++) {
  let peak = { sockets: 0, closeWait: 0, rssMiB: 0 };
  const sampler = setInterval(() => {
    const m = measure(child.pid);
    peak = { sockets: Math.max(peak.sockets, m.sockets), closeWait: Math.max(peak.closeWait, m.closeWait), rssMiB: Math.max(peak.rssMiB, m.rssMiB) };
  }, 250);
  const stopProbe = probeHealth(base);
  const results = await Promise.all(
    Array.from({ length: N }, async () => {
      const url = `${base}/c/demo/gen/${seed++}/${SIZE}.bin`;
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(300_000) });
        let bytes = 0;
        try {
          for await (const c of r.body) bytes += c.byteLength;
        } catch (e) {
          failures.push(`${r.status} after ${bytes} B: ${e.cause?.code ?? e.message}`);
          return false;
        }
        if (r.status !== 200 || bytes !== SIZE) failures.push(`${r.status}, ${bytes} B`);
        return r.status === 200 && bytes === SIZE;
      } catch (e) {
        failures.push(`no response: ${e.cause?.code ?? e.message}`);
        return false;
      }
    }),
  );
  clearInterval(sampler);
  const probed = await stopProbe();
  const complete = results.filter(Boolean).length;
  const during = await health(base);
  await new Promise((r) => setTimeout(r, 5000));
  const after = { health: await health(base), ...measure(child.pid) };
  report.push({ at: `round ${round}: ${complete}/${N} complete`, health: during, healthDuring: `${probed.probes - probed.failed}/${probed.probes} ok, slowest ${probed.slowestMs} ms`, peakSockets: peak.sockets, peakCloseWait: peak.closeWait, peakRssMiB: peak.rssMiB });
  if (probed.failed) failures.push(`/health during the load: ${probed.failed} of ${probed.probes} probes failed (first: ${probed.firstFailure})`);
  report.push({ at: `round ${round} +5 s`, ...after });
  ok &&= during === 200 && after.health === 200 && complete === N && probed.failed === 0;
}
console.log(`${command.join(" ")}: ${N} concurrent misses × ${SIZE} B, ${ROUNDS} rounds`);
console.table(report);
if (failures.length) console.log(`failed requests (${failures.length}):\n  ${[...new Set(failures)].slice(0, 10).join("\n  ")}`);
stop();
process.exit(ok ? 0 : 1);
