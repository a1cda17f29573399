/**
 * Glare with real node-datachannel (libdatachannel) peers: two SDK peer meshes, each with its own
 * signal batcher, dial each other at the same instant through an in-process relay (the
 * coordinator's part). The polite peer (larger id) yields (client/peer-link.ts); its discarded
 * offer must not undo the connection it answered with, whatever order the relay delivers it in.
 * Setup times are printed, not asserted (timings belong to the bench).
 */
import { describe, expect, it } from "vitest";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import { PeerMesh } from "../../client/peer-mesh";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import { SignalBatcher, unpackSignal } from "../../client/signal-batch";
import type { SignalData } from "../../protocol/swarm-protocol";
import type { Frame } from "../../protocol/peer-frames";

const ROOT = "ab".repeat(32);

/** Decides when a relayed frame `data` from `from` is handed to its target: now, or later via `release`. */
type Relay = (from: string, data: SignalData, deliver: () => void) => void;

interface Peer { id: string; mesh: PeerMesh; requests: Frame[]; closes: string[]; openedMs?: number }

function meshPair(n: number, relay: Relay): { a: Peer; b: Peer } {
  const t0 = performance.now();
  const peers = new Map<string, Peer>();
  const make = (id: string): Peer => {
    const peer: Peer = { id, mesh: undefined as unknown as PeerMesh, requests: [], closes: [] };
    const batcher = new SignalBatcher((to, data) => {
      relay(id, data, () => setTimeout(() => { for (const d of unpackSignal(data)) peers.get(to)?.mesh.handleSignal(ROOT, id, d); }, 2));
      return true;
    });
    peer.mesh = new PeerMesh({
      localId: id, RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor, maxPeers: 8,
      signal: (_root, to, data) => batcher.signal(to, data, true),
      onRequest: (_p, frame) => void peer.requests.push(frame), onCancel: () => {}, localHave: () => undefined, onChange: () => {},
      onLinkOpen: () => { peer.openedMs ??= performance.now() - t0; },
      onLinkClosed: (_p, reason) => void peer.closes.push(reason),
      connectTimeoutMs: 8_000,
    });
    peers.set(id, peer);
    return peer;
  };
  // The larger id is the polite peer.
  return { a: make(`peer-a-${n}`), b: make(`peer-b-${n}`) };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`not reached: ${what}`);
}

/** Both dial at once; the link opens on both sides, and a frame goes each way on it. */
async function glare(n: number, relay: Relay, afterOpen?: () => Promise<void>): Promise<{ a: Peer; b: Peer; setupMs: number }> {
  const { a, b } = meshPair(n, relay);
  try {
    a.mesh.connect(b.id, ROOT);
    b.mesh.connect(a.id, ROOT);
    await until(() => a.mesh.openPeers().length === 1 && b.mesh.openPeers().length === 1, `pair ${n} open (closes: ${a.closes} / ${b.closes})`);
    await afterOpen?.();
    // A REQUEST each way reaches the other side's seeder (left unanswered: the meshes close next).
    for (const [from, to, index] of [[a, b, 3], [b, a, 5]] as const) {
      from.mesh.request(to.id, ROOT, [{ index, length: 1024 }], () => {}).done.catch(() => {});
      await until(() => to.requests.some((f) => f.type === "request" && f.root === ROOT && f.indices[0] === index), `pair ${n}: request ${index} arrives`);
    }
    expect([a.closes, b.closes]).toEqual([[], []]);
    return { a, b, setupMs: Math.max(a.openedMs!, b.openedMs!) };
  } finally {
    a.mesh.close();
    b.mesh.close();
  }
}

describe("glare over node-datachannel", () => {
  it("both peers dial at once through an ordered relay: every pair links, a frame flows each way", async () => {
    const setups: number[] = [];
    for (let n = 0; n < 8; n++) setups.push((await glare(n, (_from, _d, deliver) => deliver())).setupMs);
    console.log(`glare, ordered relay: setup ms ${setups.map(Math.round).join(" ")}`);
  });

  it("the polite peer's discarded offer, relayed behind its answer, does not undo the link", async () => {
    const setups: number[] = [];
    for (let n = 0; n < 4; n++) {
      let heldOffer: (() => void) | undefined;
      let staleDelivered = false;
      const relay: Relay = (from, data, deliver) => {
        // The polite peer's offer waits until its answer has been delivered, then follows it: as when
        // the two frames take different sockets (the sender's first swarm socket went down).
        if (from.startsWith("peer-b") && data.description?.type === "offer") return void (heldOffer = deliver);
        deliver();
        if (from.startsWith("peer-b") && data.description?.type === "answer") {
          setTimeout(() => { heldOffer?.(); staleDelivered = true; }, 1);
        }
      };
      const r = await glare(n, relay, () => until(() => staleDelivered, "stale offer delivered"));
      expect(staleDelivered).toBe(true);
      setups.push(r.setupMs);
    }
    console.log(`glare, polite offer relayed late: setup ms ${setups.map(Math.round).join(" ")}`);
  });
});
