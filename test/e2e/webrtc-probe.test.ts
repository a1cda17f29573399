/**
 * Probe: proves the harness before any SDK code is involved — inside the private namespace, two
 * Chromium contexts on a page served by the edge in Miniflare open a raw RTCPeerConnection data
 * channel (signalling relayed by the test) and move 1 MiB intact; the page reaches the Worker.
 */
import { describe, expect, it } from "vitest";
import { useStack } from "./harness/stack";

const stack = useStack();

/** Page side of the probe, passed to page.evaluate (runs in Chromium, not in Node). */
type ProbeWindow = Window & { pc?: RTCPeerConnection; dc?: RTCDataChannel; got?: Promise<{ size: number; sha256: string }> };

describe("WebRTC probe (harness self-test)", () => {
  it("two Chromium contexts connect over a data channel on 10.99.0.1 and transfer 1 MiB intact", async () => {
    const s = stack();
    const a = await s.openPeer("A", "blank.html");
    const b = await s.openPeer("B", "blank.html");
    expect(await a.page.evaluate(() => window.isSecureContext)).toBe(true);

    // Non-trickle ICE: each side waits for gathering to complete, so one offer/answer each way.
    const offer = await a.page.evaluate(async () => {
      const w = window as ProbeWindow;
      const pc = new RTCPeerConnection({ iceServers: [] });
      w.pc = pc;
      w.dc = pc.createDataChannel("probe", { ordered: true });
      w.dc.binaryType = "arraybuffer";
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((r) => {
        if (pc.iceGatheringState === "complete") return r();
        pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r());
        setTimeout(r, 5000);
      });
      return pc.localDescription!.sdp;
    });
    const hostCandidates = offer.split("\r\n").filter((l) => l.startsWith("a=candidate") && l.includes(" typ host"));
    // The host candidate must be the namespace's real address, not an mDNS name or loopback.
    expect(hostCandidates.some((l) => l.includes(" 10.99.0.1 ")), offer).toBe(true);
    expect(hostCandidates.some((l) => l.includes(".local ")), offer).toBe(false);

    const answer = await b.page.evaluate(async (sdp) => {
      const w = window as ProbeWindow;
      const pc = new RTCPeerConnection({ iceServers: [] });
      w.pc = pc;
      w.got = new Promise((resolve) => {
        pc.ondatachannel = (ev) => {
          const ch = ev.channel;
          ch.binaryType = "arraybuffer";
          const parts: ArrayBuffer[] = [];
          let size = 0;
          // Handler attached synchronously inside ondatachannel: no message can be missed.
          ch.onmessage = async (m) => {
            if (typeof m.data === "string") {
              const all = new Uint8Array(size);
              let o = 0;
              for (const p of parts) {
                all.set(new Uint8Array(p), o);
                o += p.byteLength;
              }
              const d = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
              resolve({ size, sha256: [...d].map((x) => x.toString(16).padStart(2, "0")).join("") });
              return;
            }
            parts.push(m.data as ArrayBuffer);
            size += (m.data as ArrayBuffer).byteLength;
          };
        };
      });
      await pc.setRemoteDescription({ type: "offer", sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise<void>((r) => {
        if (pc.iceGatheringState === "complete") return r();
        pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && r());
        setTimeout(r, 5000);
      });
      return pc.localDescription!.sdp;
    }, offer);

    const sent = await a.page.evaluate(async (sdp) => {
      const w = window as ProbeWindow;
      const dc = w.dc!;
      await w.pc!.setRemoteDescription({ type: "answer", sdp });
      await new Promise<void>((resolve, reject) => {
        if (dc.readyState === "open") return resolve();
        dc.onopen = () => resolve();
        setTimeout(() => reject(new Error(`data channel not open after 15 s (ice ${w.pc!.iceConnectionState})`)), 15_000);
      });
      const data = new Uint8Array(1024 * 1024);
      for (let o = 0; o < data.length; o += 65536) crypto.getRandomValues(data.subarray(o, o + 65536));
      // 16 KiB messages (the portable SCTP message size) with bufferedAmount backpressure.
      dc.bufferedAmountLowThreshold = 256 * 1024;
      for (let o = 0; o < data.length; o += 16384) {
        if (dc.bufferedAmount > 1024 * 1024) await new Promise((r) => (dc.onbufferedamountlow = r));
        dc.send(data.subarray(o, o + 16384));
      }
      dc.send("end");
      const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
      return { size: data.length, sha256: [...d].map((x) => x.toString(16).padStart(2, "0")).join("") };
    }, answer);

    const got = await b.page.evaluate(() => (window as ProbeWindow).got!);
    expect(got).toEqual(sent);
    expect(got.size).toBe(1024 * 1024);

    // Which candidate pair carried it: both ends on the namespace's veth address.
    const pair = await a.page.evaluate(async () => {
      const stats = await (window as ProbeWindow).pc!.getStats();
      let local = "", remote = "";
      stats.forEach((r) => {
        if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") {
          local = stats.get(r.localCandidateId)?.address ?? "";
          remote = stats.get(r.remoteCandidateId)?.address ?? "";
        }
      });
      return { local, remote };
    });
    expect(pair).toEqual({ local: "10.99.0.1", remote: "10.99.0.1" });
  });

  it("the page reaches the Worker in Miniflare: /health answers", async () => {
    const s = stack();
    const a = await s.openPeer("A", "blank.html");
    const health = await a.page.evaluate(async () => {
      const r = await fetch("/health");
      return { status: r.status, body: await r.json() };
    });
    expect(health).toEqual({ status: 200, body: { ok: true } });
  });

  it("the page gets origin content through the edge (/c/) with the origin's bytes; the origin sends the body once", async () => {
    const s = stack();
    const path = "/gen/probe/300000.bin";
    const a = await s.openPeer("A", "blank.html");
    const fetchTwice = await a.page.evaluate(async (url) => {
      const out: { status: number; size: number; sha256: string; cache: string | null }[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await fetch(url, { cache: "no-store" });
        const buf = await r.arrayBuffer();
        const d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
        out.push({
          status: r.status,
          size: buf.byteLength,
          sha256: [...d].map((x) => x.toString(16).padStart(2, "0")).join(""),
          cache: r.headers.get("x-edgeswarm-cache"),
        });
      }
      return out;
    }, s.edge.contentUrl(path));
    for (const r of fetchTwice) expect(r).toMatchObject({ status: 200, size: 300000, sha256: s.origin.sha256(path) });
    expect(fetchTwice[1]!.cache).toBe("HIT");
    // `cache: "no-store"` makes the browser send `Cache-Control: no-cache` (Fetch §4.6, HTTP-network-
    // or-cache fetch), which the edge honours (RFC 9111 §5.2.1.4) by revalidating a stored copy — or,
    // when the first fill has not been committed yet, by joining it. Either way the origin sends the
    // body exactly once; a second request, if any, is a conditional answered 304 without a body.
    const seen = s.origin.log().filter((r) => r.path === path).map((r) => r.status);
    expect(seen[0]).toBe(200);
    expect(seen.slice(1).every((st) => st === 304)).toBe(true);
    expect(seen.length).toBeLessThanOrEqual(2);
  });
});
