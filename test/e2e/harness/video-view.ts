/**
 * What a demo video tab (demo/public/video.js, `window.video`) shows the stream scenarios: playback
 * state, the segments it played, and its segment bytes by source from the SDK's own counters — read
 * in the page, so the assertion is on what the page's swarm counted.
 */
import type { Peer } from "./browser";

/** One segment as the page records it (live pages add when it played and where its bytes came from). */
export interface ViewSegment {
  url: string;
  sn: number;
  size: number;
  sha256: string;
  at?: number;
  fromPeers?: number;
  fromEdge?: number;
  edgeWhy?: Record<string, number>;
}

/** `window.video` of one tab, with its segment bytes by source summed over distinct segment URLs. */
export interface VideoView<S extends ViewSegment = ViewSegment> {
  state: string;
  error: string | null;
  fatal: string[];
  currentTime: number;
  segments: S[];
  stalls: { at: number; ms: number }[];
  fromPeers: number;
  fromEdge: number;
  hashFailures: number;
  bannedPeers: string[];
  peerId: string;
  /** Coordinator WebSockets this tab opened, and the most open at once (harness/socket-count.ts). */
  sockets: { opened: number; maxOpen: number };
  /** The page's `performance.timeOrigin` (to put its segment times on the test's clock). */
  timeOrigin: number;
}

/** Reads {@link VideoView} from a demo video tab. */
export function readVideoView<S extends ViewSegment = ViewSegment>(peer: Peer): Promise<VideoView<S>> {
  return peer.page.evaluate((): VideoView<S> => {
    const v = (window as any).video;
    const st = v.swarm?.stats();
    let fromPeers = 0, fromEdge = 0;
    for (const url of new Set<string>(v.segments.map((s: { url: string }) => s.url))) {
      const c = st?.contents[url];
      if (c) { fromPeers += c.fromPeers; fromEdge += c.fromEdge; }
    }
    const sk = (window as any).__sockets;
    return {
      state: v.state, error: v.error, fatal: v.fatal, currentTime: v.currentTime(), segments: v.segments, stalls: v.stalls,
      fromPeers, fromEdge, hashFailures: st?.hashFailures ?? 0, bannedPeers: st?.bannedPeers ?? [], peerId: st?.peerId ?? "",
      sockets: { opened: sk.opened, maxOpen: sk.maxOpen }, timeOrigin: performance.timeOrigin,
    };
  });
}
