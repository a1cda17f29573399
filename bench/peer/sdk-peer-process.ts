/**
 * edgeswarm SDK peers in one Node process (forked by the peer-path and offload sections): the
 * browser SDK's `createSwarm` with Node transports injected — `ws` for the coordinator socket,
 * node-datachannel's RTCPeerConnection for peers — and an in-memory chunk store each. Several
 * peers (slots) can share a process, as independent swarm instances: the offload section runs
 * tens of peers on two cores, and a process per peer would cost more than the peers themselves.
 * A peer fetches on command (timing the whole body) and seeds what it holds until closed. Each
 * `fetched` report also carries the offload section's diagnosis, from the SDK's `progress` events:
 * why the edge served the bytes it served (`edgeWhy`, by `ProgressDetail.why`) and when the first
 * chunk from a peer arrived (`firstPeerMs`, after the fetch call).
 */
import { createHash } from "node:crypto";
import { get } from "node:http";
import { Session } from "node:inspector/promises";
import { constants as perfConstants, PerformanceObserver } from "node:perf_hooks";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import WebSocket from "ws";
import { ChunkStore, MemoryChunkBackend, createSwarm, type ProgressDetail, type Swarm } from "../../client/index";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import type { SdkCommand, SdkReport } from "./sdk-protocol";
import { nodeSha256 } from "../../supernode/node-runtime";
import { sampleLink } from "./link-sampler";

const send = (r: SdkReport) => process.send!(r);

/**
 * Garbage collections so far (the fetch report's `gc`): the downloader's collector is the largest
 * cost of the peer path that the raw baseline does not pay (docs/client-core.md, "Peer path").
 */
const gcSeen = { major: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcSeen.ms += e.duration;
    if (((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gcSeen.major++;
  }
}).observe({ entryTypes: ["gc"] });
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * BENCH_SDK_TUNING='{"maxInFlightPerPeer":8}': download-core knobs (`DEFAULTS`, client/defaults.ts)
 * passed as createSwarm's `scheduler` option — for measuring a default before asking for it, never
 * in the lead's runs.
 */
const tuning = process.env.BENCH_SDK_TUNING ? (JSON.parse(process.env.BENCH_SDK_TUNING) as Record<string, number>) : null;
const swarms = new Map<string, Swarm>();
/** Per slot and content URL: edge bytes by reason, and the first peer chunk's time. */
const diag = new Map<string, { edgeWhy: Record<string, number>; firstPeerAt: number; timeline?: string[] }>();
/** BENCH_TIMELINE=1: each `fetched` report carries a per-chunk timeline (diagnostics, bench §5). */
const timeline = process.env.BENCH_TIMELINE === "1";
/** Peer links that opened (BENCH_TIMELINE), per slot. */
const ups: { peer: string; t: number; id: string }[] = [];

/**
 * BENCH_LINK_DIAG=1 (diagnostics, stderr): the coordinator frames each peer sends and receives
 * (signals left out), and after each fetch's clock stops every link's outcome and setup time
 * (`swarm.diagnose()`) with the edge bytes by reason. It showed §2's cold downloads linking no
 * seeder because the swarm's `peers` answer listed none or one of three (docs/client-core.md).
 */
const linkDiag = !!process.env.BENCH_LINK_DIAG;

// ws emits "error" as an EventEmitter event too; without a listener it would throw (edge gone at
// the end of a run is expected).
class QuietWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    this.on("error", () => {});
    if (linkDiag) {
      const path = new URL(url).pathname;
      this.on("message", (d: Buffer) => {
        const t = d.toString();
        if (t.startsWith("{") && !t.includes('"signal"')) process.stderr.write(`ws ${Math.round(performance.now())} ${path.slice(-14)}: ${t.slice(0, 300)}\n`);
      });
      const send = this.send.bind(this);
      this.send = ((data: string) => {
        if (typeof data === "string" && !data.includes('"signal"') && data !== "ping") process.stderr.write(`ws> ${Math.round(performance.now())} ${path.slice(-14)}: ${data.slice(0, 200)}\n`);
        return send(data);
      }) as typeof this.send;
    }
  }
}

async function open(peer: string, m: Extract<SdkCommand, { cmd: "open" }>) {
  const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 1024 ** 3 });
  const s = createSwarm({
    edge: m.edge,
    peerId: m.peerId,
    store,
    WebSocket: QuietWebSocket as unknown as WebSocketCtor,
    RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
    // Node's transports as the supernode injects them (supernode/node-runtime.ts), the hash included;
    // BENCH_WEBCRYPTO_HASH=1 measures WebCrypto's digest instead (synchronous on Node's main thread).
    ...(process.env.BENCH_WEBCRYPTO_HASH ? {} : { sha256: nodeSha256 }),
    ...m.options,
    ...(tuning ? { scheduler: { ...(m.options as { scheduler?: object } | undefined)?.scheduler, ...tuning } } : {}),
  });
  s.addEventListener("progress", (e) => {
    const d: ProgressDetail = e.detail;
    const k = `${peer} ${d.url}`;
    const r = diag.get(k) ?? { edgeWhy: {}, firstPeerAt: -1 };
    diag.set(k, r);
    if (d.source === "edge") r.edgeWhy[d.why ?? "?"] = (r.edgeWhy[d.why ?? "?"] ?? 0) + d.bytes;
    if (d.source === "peer" && r.firstPeerAt < 0) r.firstPeerAt = performance.now();
    if (timeline) (r.timeline ??= []).push(`${Math.round(performance.now())} ${d.index}${d.source === "edge" ? `e:${d.why}` : d.source === "peer" ? `p:${d.peerId?.slice(-4)}` : "s"}`);
  });
  if (timeline) s.addEventListener("peer-up", (e) => ups.push({ peer, t: performance.now(), id: e.detail.peerId }));
  if (timeline) s.addEventListener("deadline-miss", (e) => {
    const k = `${peer} ${e.detail.url}`;
    const r = diag.get(k) ?? { edgeWhy: {}, firstPeerAt: -1 };
    diag.set(k, r);
    (r.timeline ??= []).push(`${Math.round(performance.now())} miss ${e.detail.index}:${e.detail.peerId.slice(-4)}`);
  });
  if (timeline) s.addEventListener("lane-open", (e) => {
    const k = `${peer} ${e.detail.url}`;
    const r = diag.get(k) ?? { edgeWhy: {}, firstPeerAt: -1 };
    diag.set(k, r);
    (r.timeline ??= []).push(`${Math.round(performance.now())} lane ${e.detail.from}-${e.detail.to}`);
  });
  if (process.env.BENCH_PEER_DEBUG) {
    for (const t of ["peer-up", "peer-down", "lane-open", "deadline-miss", "hash-failure"] as const) {
      s.addEventListener(t, (e) => process.stderr.write(`${(performance.timeOrigin + performance.now()).toFixed(0)} [${m.peerId}] ${t} ${JSON.stringify((e as CustomEvent).detail)}\n`));
    }
  }
  swarms.set(peer, s);
  send({ type: "opened", peer });
}

/**
 * BENCH_PEER_FETCH_PROF=<dir>: a V8 CPU profile of each fetch alone (<dir>/<peer>-<n>.cpuprofile),
 * from the fetch call to its last body byte — the links-up download without process start-up or
 * the cold one around it.
 */
const fetchProfDir = process.env.BENCH_PEER_FETCH_PROF;
let fetchProfN = 0;
async function profiled<T>(peer: string, run: () => Promise<T>): Promise<T> {
  if (process.env.BENCH_PEER_FETCH_HEAP) return heapProfiled(peer, run);
  if (!fetchProfDir) return run();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await run();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(`${fetchProfDir}/${peer.replace(/\W/g, "_") || "p"}-${process.pid}-${fetchProfN++}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

/**
 * BENCH_PEER_FETCH_HEAP=<dir>: a V8 sampling heap profile of each fetch's JS allocations
 * (<dir>/<peer>-<n>.heapprofile, every 8 KiB allocated; objects collected during the fetch kept):
 * what feeds the downloader's collector.
 */
async function heapProfiled<T>(peer: string, run: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  try {
    return await run();
  } finally {
    const { profile } = await session.post("HeapProfiler.stopSampling");
    writeFileSync(`${process.env.BENCH_PEER_FETCH_HEAP}/${peer.replace(/\W/g, "_") || "p"}-${process.pid}-${fetchProfN++}.heapprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

/** BENCH_PEER_THREADS=1: CPU ms per thread (by name) of each fetch, on stderr (Linux /proc). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const st = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const name = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      const key = `${name.replace(/\d+$/, "#")}`;
      out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // thread gone
    }
  }
  return out;
}

async function fetchOne(peer: string, url: string, expectSha256?: string) {
  const s = swarms.get(peer)!;
  const th0 = process.env.BENCH_PEER_THREADS ? threadCpu() : null;
  const link = timeline ? sampleLink() : null;
  const t0 = performance.now();
  const cpu0 = cpuMs();
  const gc0 = { ...gcSeen };
  let ttfb = 0;
  let bytes = 0;
  // The body is checked after the clock stops: hashing it as it streams would charge the SDK for
  // the bench's own integrity check (the raw baseline checks nothing).
  const parts: Uint8Array[] = [];
  try {
    const res = await s.fetch(url);
    if (timeline) {
      const k = `${peer} ${new URL(url).href}`;
      const r = diag.get(k) ?? { edgeWhy: {}, firstPeerAt: -1 };
      diag.set(k, r);
      (r.timeline ??= []).push(`${Math.round(performance.now())} head`);
    }
    const reader = res.body!.getReader();
    await profiled(peer, async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!ttfb) ttfb = performance.now() - t0;
        bytes += value.byteLength;
        if (expectSha256) parts.push(value);
      }
    });
    const totalMs = performance.now() - t0;
    const rx = link?.stop();
    const cpu = cpuMs() - cpu0;
    const gc = { major: gcSeen.major - gc0.major, ms: gcSeen.ms - gc0.ms };
    if (th0) {
      const d = [...threadCpu()].map(([k, v]) => [k, v - (th0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
      process.stderr.write(`threads ${process.pid} ${url.slice(-12)} ${Math.round(totalMs)} ms: ${d.map(([k, v]) => `${k}=${v}`).join(" ")}\n`);
    }
    if (linkDiag) {
      // After the clock stops: each link's outcome and setup time (offer to channel open).
      const d = await s.diagnose();
      const line = d.peers.map((p) => `${p.peerId.slice(-6)}:${p.state}${p.openedAt ? `@${p.openedAt - p.startedAt}ms` : ""}${p.reason ? `(${p.reason}${p.detail ? ` ${p.detail}` : ""})` : ""} by ${p.offeredBy} ice=${p.iceConnectionState}`);
      process.stderr.write(`links ${peer} ${url.slice(-10)} ${Math.round(totalMs)} ms, edge ${JSON.stringify(diag.get(`${peer} ${new URL(url).href}`)?.edgeWhy ?? {})}: ${line.join(", ")}\n`);
    }
    const h = createHash("sha256");
    for (const p of parts.splice(0)) h.update(p);
    const st = s.stats();
    const c = st.contents[new URL(url).href] ?? Object.values(st.contents).at(-1);
    send({
      type: "fetched", peer, ok: res.ok, status: res.status, bytes, ttfbMs: ttfb, totalMs,
      fromPeers: c?.fromPeers ?? 0, fromEdge: c?.fromEdge ?? 0, peersConnected: st.peersConnected, hashFailures: st.hashFailures, cpuMs: cpu, gc,
      ...(expectSha256 ? { intact: h.digest("hex") === expectSha256 } : {}),
      ...diagOf(peer, url, t0),
      ...(rx ? { link: rx } : {}),
    });
  } catch (e) {
    send({
      type: "fetched", peer, ok: false, status: 0, bytes, ttfbMs: ttfb, totalMs: performance.now() - t0, fromPeers: 0, fromEdge: 0,
      peersConnected: 0, hashFailures: 0, error: e instanceof Error ? e.message : String(e),
    });
  }
}

/** The fetch's diagnosis (extra fields of the `fetched` report, read by bench/sections/offload.ts). */
function diagOf(peer: string, url: string, t0: number): { edgeWhy: Record<string, number>; firstPeerMs: number; timeline?: string[] } {
  const k = `${peer} ${new URL(url).href}`;
  const r = diag.get(k);
  diag.delete(k);
  const linked = ups.filter((u) => u.peer === peer && u.t >= t0).map((u) => `${Math.round(u.t)} up:${u.id.slice(-4)}`);
  if (r && linked.length) r.timeline = [...linked, ...(r.timeline ?? [])].sort((a, b) => parseFloat(a) - parseFloat(b));
  const rel = r?.timeline?.map((l) => `${Math.round(Number(l.split(" ", 1)[0]) - t0)}${l.slice(l.indexOf(" "))}`);
  return { edgeWhy: r?.edgeWhy ?? {}, firstPeerMs: r && r.firstPeerAt >= 0 ? r.firstPeerAt - t0 : -1, ...(rel ? { timeline: rel } : {}) };
}

/** A plain GET, no SDK: the edge-only yardstick, on the same link as this process's SDK peers. */
function plainGet(peer: string, url: string, expectSha256?: string) {
  const link = timeline ? sampleLink() : null;
  const t0 = performance.now();
  let ttfb = 0;
  let bytes = 0;
  const h = createHash("sha256");
  let answered = false;
  const done = (r: { status: number; cache?: string; error?: string }) => {
    if (answered) return;
    answered = true;
    const totalMs = performance.now() - t0;
    const rx = link?.stop();
    send({ type: "plained", peer, ...r, bytes, ttfbMs: ttfb, totalMs, ...(rx ? { link: rx } : {}), ...(expectSha256 && !r.error ? { intact: h.digest("hex") === expectSha256 } : {}) });
  };
  const req = get(url, { agent: false }, (res) => {
    const cache = [res.headers["x-edgeswarm-cache"], res.headers["cf-cache-status"]].find((v) => typeof v === "string") as string | undefined;
    res.on("data", (d: Buffer) => {
      if (!ttfb) ttfb = performance.now() - t0;
      bytes += d.length;
      // Hashing as it streams costs the plain side CPU the SDK side does not pay: the bench's own
      // check, so it can only make the baseline slower, never the SDK look better.
      if (expectSha256) h.update(d);
    });
    res.on("end", () => done({ status: res.statusCode ?? 0, ...(cache ? { cache } : {}) }));
    res.on("error", (e) => done({ status: res.statusCode ?? 0, error: e.message }));
    // A body cut short (the connection closed before Content-Length) is a failed run, not a hang.
    res.on("close", () => !res.complete && done({ status: res.statusCode ?? 0, error: "truncated body" }));
  });
  req.on("error", (e) => done({ status: 0, error: e.message }));
  req.setTimeout(180_000, () => req.destroy(new Error("timeout")));
}

function close(peer: string) {
  const s = swarms.get(peer);
  swarms.delete(peer);
  const st = s?.stats();
  s?.close();
  send({ type: "closed", peer, totals: st ? { fromPeers: st.fromPeers, fromEdge: st.fromEdge, uploaded: st.uploaded, hashFailures: st.hashFailures } : null });
}

process.on("message", (m: SdkCommand) => {
  const peer = m.peer ?? "";
  const run = async () => {
    if (m.cmd === "open") return open(peer, m);
    if (m.cmd === "fetch") return fetchOne(peer, m.url, m.expectSha256);
    if (m.cmd === "close") return close(peer);
    if (m.cmd === "cpu") return send({ type: "cpu", peer, ms: cpuMs() });
    if (m.cmd === "plain") return plainGet(peer, m.url, m.expectSha256);
  };
  run().catch((e) => send({ type: "fatal", peer, message: e instanceof Error ? e.stack ?? e.message : String(e) }));
});
const exit = () => {
  for (const s of swarms.values()) s.close();
  process.exit(0);
};
process.on("disconnect", exit);
// A clean exit on the parent's SIGTERM, so `--cpu-prof` (BENCH_PEER_PROF) gets to write its profile.
process.on("SIGTERM", exit);
