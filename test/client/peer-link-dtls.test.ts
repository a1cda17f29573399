/**
 * Real node-datachannel (libdatachannel) peers over loopback, with signals relayed after a delay as
 * the coordinator relays them: the link opens and a chunk's worth of data frames flows both ways,
 * and the offerer's ICE candidates leave only after it applied the answer (peer-link.ts `held`).
 * Setup times (offer to channel open) are printed, not asserted: timings belong to the bench.
 */
import { describe, expect, it } from "vitest";
import { RTCPeerConnection } from "node-datachannel/polyfill";
import { PeerLink, type RTCPeerConnectionCtor } from "../../client/peer-link";
import { encodeFrame, MAX_DATA_PAYLOAD, type Frame } from "../../protocol/peer-frames";
import type { SignalData } from "../../protocol/swarm-protocol";

interface Side { link: PeerLink; frames: Frame[]; sdp: string[]; log: string[]; closed?: string; openedMs?: number }

/** Two links whose signals reach each other `delayMs` later (in order, as over one socket). */
function pair(delayMs: number, n: number): { a: Side; b: Side } {
  const t0 = performance.now();
  const sides = new Map<string, Side>();
  const make = (me: string, other: string): Side => {
    const side: Side = { link: undefined as unknown as PeerLink, frames: [], sdp: [], log: [] };
    side.link = new PeerLink({
      localId: me, remoteId: other, RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
      signal: (d: SignalData) => {
        if (d.description) side.sdp.push(d.description.sdp ?? "");
        side.log.push(d.description ? `sent ${d.description.type}` : d.candidate ? "sent candidate" : "sent end");
        setTimeout(() => {
          const to = sides.get(other)!;
          if (d.description) to.log.push(`got ${d.description.type}`);
          to.link.handleSignal(d);
        }, delayMs);
      },
      onOpen: () => { side.openedMs ??= performance.now() - t0; },
      onFrame: (f) => void side.frames.push(f),
      onClose: (r) => { side.closed = r; },
      connectTimeoutMs: 10_000,
    });
    sides.set(me, side);
    return side;
  };
  return { a: make(`a-${n}`, `b-${n}`), b: make(`b-${n}`, `a-${n}`) };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

const CHUNK = 256 * 1024;
const PIECE = 8 * 1024; // divides the chunk; ≤ MAX_DATA_PAYLOAD (asserted below)

describe("peer link over node-datachannel", () => {
  for (const delayMs of [0, 10, 40]) {
    it(`connects and delivers a chunk both ways, signals relayed after ${delayMs} ms`, async () => {
      const setups: string[] = [];
      for (let n = 0; n < 8; n++) {
        const { a, b } = pair(delayMs, n);
        a.link.connect();
        await until(() => (a.link.state === "open" && b.link.state === "open") || !!a.closed || !!b.closed, 10_000);
        expect([a.closed, b.closed]).toEqual([undefined, undefined]);
        expect([a.link.state, b.link.state]).toEqual(["open", "open"]);
        // JSEP's roles (RFC 8829 §5.2.1, RFC 5763 §5): the answerer is the DTLS client.
        expect(a.sdp[0]).toMatch(/^a=setup:actpass\r?$/m);
        expect(b.sdp[0]).toMatch(/^a=setup:active\r?$/m);
        // The offerer's candidates went out only after the answer came (and some did).
        const firstCandidate = a.log.indexOf("sent candidate");
        expect(firstCandidate).toBeGreaterThan(a.log.indexOf("got answer"));
        expect(a.log.indexOf("got answer")).toBeGreaterThan(0);
        setups.push(`${Math.round(Math.max(a.openedMs!, b.openedMs!))}`);
        // A chunk in data frames each way, bytes intact and in order.
        expect(PIECE).toBeLessThanOrEqual(MAX_DATA_PAYLOAD);
        const bytes = new Uint8Array(CHUNK).map((_, i) => (i * 7 + n) & 0xff);
        for (const [from, to] of [[a, b], [b, a]] as const) {
          for (let off = 0; off < CHUNK; off += PIECE) {
            await from.link.send(encodeFrame({ type: "data", reqId: n, index: 3, offset: off, bytes: bytes.subarray(off, off + PIECE) }));
          }
          await until(() => to.frames.length === CHUNK / PIECE, 10_000);
          const got = new Uint8Array(CHUNK);
          for (const f of to.frames) if (f.type === "data") got.set(f.bytes, f.offset);
          expect(to.frames.every((f) => f.type === "data" && f.reqId === n)).toBe(true);
          expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
        }
        a.link.close();
        b.link.close();
      }
      console.log(`signals relayed after ${delayMs} ms: link setup (offer to both channels open) ${setups.join(", ")} ms`);
    }, 60_000);
  }
});
