/**
 * The offload section's Node SDK peers: bench/peer/sdk-peer-process.ts's protocol (several
 * `createSwarm` slots per process, Node transports injected, in-memory stores), plus the per-fetch
 * diagnosis this section reports, from the SDK's `progress` events — why the edge served the bytes
 * it served (`edgeWhy`, by `ProgressDetail.why`) and when the first chunk from a peer arrived
 * (`firstPeerMs`, after the fetch call). Kept apart from the shared
 * peer process so the peer-path section's process stays as it is.
 */
import { createHash } from "node:crypto";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import WebSocket from "ws";
import { ChunkStore, MemoryChunkBackend, createSwarm, type ProgressDetail, type Swarm } from "../../client/index";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import type { SdkCommand, SdkReport } from "../peer/sdk-protocol";

const send = (r: SdkReport) => process.send!(r);
const swarms = new Map<string, Swarm>();
/** Per slot and content URL: edge bytes by reason, and the first peer chunk's time. */
const diag = new Map<string, { edgeWhy: Record<string, number>; firstPeerAt: number }>();

// ws emits "error" as an EventEmitter event too; without a listener it would throw (edge gone at
// the end of a run is expected).
class QuietWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    this.on("error", () => {});
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
    ...m.options,
  });
  s.addEventListener("progress", (e) => {
    const d = (e as CustomEvent<ProgressDetail>).detail;
    const k = `${peer} ${d.url}`;
    const r = diag.get(k) ?? { edgeWhy: {}, firstPeerAt: -1 };
    diag.set(k, r);
    if (d.source === "edge") r.edgeWhy[d.why ?? "?"] = (r.edgeWhy[d.why ?? "?"] ?? 0) + d.bytes;
    if (d.source === "peer" && r.firstPeerAt < 0) r.firstPeerAt = performance.now();
  });
  swarms.set(peer, s);
  send({ type: "opened", peer });
}

async function fetchOne(peer: string, url: string, expectSha256?: string) {
  const s = swarms.get(peer)!;
  const t0 = performance.now();
  let ttfb = 0;
  let bytes = 0;
  const h = createHash("sha256");
  try {
    const res = await s.fetch(url);
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!ttfb) ttfb = performance.now() - t0;
      bytes += value.byteLength;
      h.update(value);
    }
    const totalMs = performance.now() - t0;
    const st = s.stats();
    const c = st.contents[new URL(url).href];
    send({
      type: "fetched", peer, ok: res.ok, status: res.status, bytes, ttfbMs: ttfb, totalMs,
      fromPeers: c?.fromPeers ?? 0, fromEdge: c?.fromEdge ?? 0, peersConnected: st.peersConnected, hashFailures: st.hashFailures,
      ...(expectSha256 ? { intact: h.digest("hex") === expectSha256 } : {}),
      ...diagOf(peer, url, t0),
    });
  } catch (e) {
    send({
      type: "fetched", peer, ok: false, status: 0, bytes, ttfbMs: ttfb, totalMs: performance.now() - t0, fromPeers: 0, fromEdge: 0,
      peersConnected: 0, hashFailures: 0, error: e instanceof Error ? e.message : String(e),
    });
  }
}

/** The fetch's diagnosis (extra fields of the `fetched` report, read by bench/sections/offload.ts). */
function diagOf(peer: string, url: string, t0: number): { edgeWhy: Record<string, number>; firstPeerMs: number } {
  const r = diag.get(`${peer} ${new URL(url).href}`);
  return { edgeWhy: r?.edgeWhy ?? {}, firstPeerMs: r && r.firstPeerAt >= 0 ? r.firstPeerAt - t0 : -1 };
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
  };
  run().catch((e) => send({ type: "fatal", peer, message: e instanceof Error ? e.stack ?? e.message : String(e) }));
});
process.on("disconnect", () => {
  for (const s of swarms.values()) s.close();
  process.exit(0);
});
