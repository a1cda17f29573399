/**
 * A plain WebRTC peer for the raw data-channel baseline (forked by sections/peer-path.ts): Node's
 * node-datachannel (libdatachannel) behind the standard RTCPeerConnection API, no SDK — no framing
 * beyond 16 KiB messages, no hashing, no scheduling. A seeder answers offers and streams the byte
 * range a downloader asks for; a downloader opens one channel per seeder, asks each for an equal
 * share and times the transfer. Signals travel through the parent over IPC.
 *
 * Backpressure as in the SDK, with its marks: send while `bufferedAmount` is under the high-water
 * mark, resume on `bufferedamountlow` (RTCDataChannel §6.2).
 *
 * After a fetch (fresh connections: setup + transfer), `again` transfers the same bytes over the
 * same channels — links up, what the SDK's "links up" download is compared with (its links have
 * carried a whole item before).
 */
import { readdirSync, readFileSync } from "node:fs";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import { SEND_HIGH_WATER, SEND_LOW_WATER } from "../../client/peer-link";
import type { RawCommand, RawReport, RawSignal } from "./raw-protocol";

/** Message size: the SDK's data-channel frames are ≤ 16 KiB (the interoperable SCTP message size). */
const FRAME = 16 * 1024;
/** The SDK's own backpressure marks, so both sides run the channel alike. */
const HIGH_WATER = SEND_HIGH_WATER;
const LOW_WATER = SEND_LOW_WATER;

const send = (r: RawReport) => process.send!(r);
/** BENCH_PEER_THREADS=1: CPU ms per thread (by name) of each transfer, on stderr (Linux /proc). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const st = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const name = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")")).replace(/\d+$/, "#");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // thread gone
    }
  }
  return out;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let myId = "";
let role: "seeder" | "downloader" = "downloader";
const pcs = new Map<string, { pc: RTCPeerConnection; remoteSet: boolean; pending: RawSignal["candidate"][] }>();
const payload = new Uint8Array(FRAME);
for (let i = 0; i < FRAME; i++) payload[i] = (i * 2654435761) >>> 24;

function newPc(peer: string) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const entry = { pc, remoteSet: false, pending: [] as RawSignal["candidate"][] };
  // Attach synchronously: messages can arrive right after `datachannel` fires.
  if (role === "seeder") pc.ondatachannel = (e) => serveChannel(e.channel);
  pcs.set(peer, entry);
  pc.onicecandidate = (e) => {
    if (e.candidate) send({ type: "signal", from: myId, to: peer, data: { candidate: e.candidate.toJSON() } });
  };
  return entry;
}

async function onSignal(from: string, data: RawSignal) {
  let entry = pcs.get(from);
  if (data.description) {
    if (!entry) entry = newPc(from); // seeder: first offer from this downloader
    const pc = entry.pc;
    await pc.setRemoteDescription(data.description);
    // node-datachannel's remoteDescription is always truthy: keep our own flag (toolchain notes).
    entry.remoteSet = true;
    for (const c of entry.pending.splice(0)) await pc.addIceCandidate(c!);
    if (data.description.type === "offer") {
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: "signal", from: myId, to: from, data: { description: pc.localDescription!.toJSON() } });
    }
  } else if (data.candidate && entry) {
    if (entry.remoteSet) await entry.pc.addIceCandidate(data.candidate);
    else entry.pending.push(data.candidate);
  }
}

/** Seeder side: every channel that opens serves `GET <start> <end>` requests. */
function serveChannel(dc: RTCDataChannel) {
    dc.binaryType = "arraybuffer";
    dc.bufferedAmountLowThreshold = LOW_WATER;
    dc.onmessage = (e) => {
      const m = /^GET (\d+) (\d+)$/.exec(String(e.data));
      if (!m) return;
      let pos = Number(m[1]);
      const end = Number(m[2]);
      const pump = () => {
        while (pos < end && dc.bufferedAmount < HIGH_WATER) {
          const n = Math.min(FRAME, end - pos);
          dc.send(n === FRAME ? payload : payload.subarray(0, n));
          pos += n;
        }
        if (pos < end) dc.onbufferedamountlow = pump;
        else dc.onbufferedamountlow = null;
      };
      pump();
    };
}

async function fetchFrom(seeders: string[], bytes: number) {
  const t0 = performance.now();
  const share = Math.ceil(bytes / seeders.length);
  let received = 0;
  let tOpen = 0;
  let opened = 0;
  let done!: () => void;
  const channels: RTCDataChannel[] = [];
  let allOpen!: () => void;
  const open = new Promise<void>((r) => (allOpen = r));
  for (const s of seeders) {
    const { pc } = newPc(s);
    const dc = pc.createDataChannel("raw", { ordered: true });
    dc.binaryType = "arraybuffer";
    dc.onmessage = (e) => {
      received += (e.data as ArrayBuffer).byteLength;
      if (received >= bytes) done();
    };
    dc.onopen = () => {
      if (++opened === seeders.length) {
        tOpen = performance.now();
        allOpen();
      }
    };
    channels.push(dc);
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: "signal", from: myId, to: s, data: { description: pc.localDescription!.toJSON() } });
  }
  await open;
  /** One transfer of `bytes`, equal shares from every seeder; resolves with its duration and CPU time. */
  again = async () => {
    received = 0;
    const finished = new Promise<void>((r) => (done = r));
    const t = performance.now();
    const cpu0 = cpuMs();
    const th0 = process.env.BENCH_PEER_THREADS ? threadCpu() : null;
    channels.forEach((dc, i) => dc.send(`GET ${i * share} ${Math.min(bytes, (i + 1) * share)}`));
    await finished;
    if (th0) {
      const d = [...threadCpu()].map(([k, v]) => [k, v - (th0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
      process.stderr.write(`threads raw ${process.pid} ${Math.round(performance.now() - t)} ms: ${d.map(([k, v]) => `${k}=${v}`).join(" ")}\n`);
    }
    return { ms: performance.now() - t, cpuMs: cpuMs() - cpu0, bytes: received };
  };
  const cold = await again();
  send({ type: "fetched", setupMs: tOpen - t0, transferMs: cold.ms, bytes: cold.bytes, cpuMs: cold.cpuMs });
}

/** The same transfer again over the channels of the last fetch (links up), once `fetchFrom` is done. */
let again: (() => Promise<{ ms: number; cpuMs: number; bytes: number }>) | undefined;

function reset() {
  again = undefined;
  for (const { pc } of pcs.values()) pc.close();
  pcs.clear();
}

process.on("message", (m: RawCommand) => {
  const run = async () => {
    switch (m.cmd) {
      case "init":
        myId = m.id;
        role = m.role;
        return send({ type: "ready" });
      case "signal":
        return onSignal(m.from, m.data);
      case "fetch":
        return fetchFrom(m.seeders, m.bytes);
      case "again": {
        const r = await again!();
        return send({ type: "fetched", setupMs: 0, transferMs: r.ms, bytes: r.bytes, cpuMs: r.cpuMs });
      }
      case "cpu":
        return send({ type: "cpu", ms: cpuMs() });
      case "reset":
        reset();
        return send({ type: "reset-done" });
    }
  };
  run().catch((e) => send({ type: "fatal", message: e instanceof Error ? e.stack ?? e.message : String(e) }));
});
process.on("disconnect", () => {
  reset();
  process.exit(0);
});
