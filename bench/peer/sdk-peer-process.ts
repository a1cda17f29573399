/**
 * One edgeswarm SDK peer in its own Node process (forked by the peer-path and offload sections):
 * the browser SDK's `createSwarm` with Node transports injected — `ws` for the coordinator socket,
 * node-datachannel's RTCPeerConnection for peers — and an in-memory chunk store. It fetches on
 * command (timing the whole body) and seeds what it holds until closed.
 */
import { createHash } from "node:crypto";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import WebSocket from "ws";
import { ChunkStore, MemoryChunkBackend, createSwarm, type Swarm } from "../../client/index";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import type { SdkCommand, SdkReport } from "./sdk-protocol";

const send = (r: SdkReport) => process.send!(r);
let swarm: Swarm | null = null;

async function open(m: Extract<SdkCommand, { cmd: "open" }>) {
  const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 1024 ** 3 });
  swarm = createSwarm({
    edge: m.edge,
    peerId: m.peerId,
    store,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
    ...m.options,
  });
  send({ type: "opened" });
}

async function fetchOne(url: string, expectSha256?: string) {
  const s = swarm!;
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
    const c = st.contents[new URL(url).href] ?? Object.values(st.contents).at(-1);
    send({
      type: "fetched", ok: res.ok, status: res.status, bytes, ttfbMs: ttfb, totalMs,
      fromPeers: c?.fromPeers ?? 0, fromEdge: c?.fromEdge ?? 0, peersConnected: st.peersConnected, hashFailures: st.hashFailures,
      ...(expectSha256 ? { intact: h.digest("hex") === expectSha256 } : {}),
    });
  } catch (e) {
    send({
      type: "fetched", ok: false, status: 0, bytes, ttfbMs: ttfb, totalMs: performance.now() - t0, fromPeers: 0, fromEdge: 0,
      peersConnected: 0, hashFailures: 0, error: e instanceof Error ? e.message : String(e),
    });
  }
}

process.on("message", (m: SdkCommand) => {
  const run = async () => {
    if (m.cmd === "open") return open(m);
    if (m.cmd === "fetch") return fetchOne(m.url, m.expectSha256);
    if (m.cmd === "close") {
      swarm?.close();
      swarm = null;
      send({ type: "closed" });
    }
  };
  run().catch((e) => send({ type: "fatal", message: e instanceof Error ? e.stack ?? e.message : String(e) }));
});
process.on("disconnect", () => {
  swarm?.close();
  process.exit(0);
});
