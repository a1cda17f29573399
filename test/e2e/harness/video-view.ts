/**
 * What a demo video tab (demo/public/video.js, `window.video`) shows the stream scenarios: playback
 * state, the segments it played, and its segment bytes by source from the SDK's own counters — read
 * in the page, so the assertion is on what the page's swarm counted.
 */
import type { Peer } from "./browser";
import { COUNT_SOCKETS } from "./socket-count";

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

/** What {@link watchVideo} polls from a video tab: its state, distinct segments loaded, playback position. */
export interface VideoProgress {
  state: string;
  /** Distinct media segments (by sequence number or file) the player loaded so far. */
  segments: number;
  currentTime: number;
}

/** Options of {@link watchVideo}. */
export interface WatchOptions {
  /** Runs after the page started loading, before polling (e.g. make it a lying peer). */
  afterGoto?: (peer: Peer) => Promise<void>;
  /** Gives up (throws with the page's state) after this long, ms (default 120 s). */
  timeoutMs?: number;
}

/**
 * Opens `url` (a demo video page) in a new visitor's page that counts its coordinator sockets, and
 * polls it until `done` holds or the page's state is "error"; then reads and prints its
 * {@link VideoView}. Polled from Node every 250 ms: Shaka's polyfills leave `page.waitForFunction`'s
 * in-page polling waiting forever.
 *
 * @example
 * const { v } = await watchVideo(demo().openPeer, "B", url, (p) => p.segments >= 10 && p.currentTime >= 6);
 */
export async function watchVideo<S extends ViewSegment = ViewSegment>(
  open: (name: string) => Promise<Peer>, name: string, url: string, done: (p: VideoProgress) => boolean, opts: WatchOptions = {},
): Promise<{ peer: Peer; v: VideoView<S> }> {
  const peer = await open(name);
  await peer.context.addInitScript(COUNT_SOCKETS);
  await peer.page.goto(url);
  await opts.afterGoto?.(peer);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await peer.page.evaluate((): VideoProgress | null => {
      const v = (window as any).video;
      return v ? { state: v.state, segments: new Set(v.segments.map((s: { sn: unknown }) => s.sn)).size, currentTime: v.currentTime() } : null;
    });
    if (p && (p.state === "error" || done(p))) break;
    if (Date.now() > deadline) {
      const v = await readVideoView(peer).catch(() => null);
      throw new Error(`${name}: playback did not get there in ${timeoutMs / 1000} s; page state: ${JSON.stringify(v && { ...v, segments: v.segments.map((x) => x.url.split("/").pop()) })}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const v = await readVideoView<S>(peer);
  console.log(`video ${name}: ${v.state}, t=${v.currentTime.toFixed(1)} s, ${v.segments.length} segments, peers ${v.fromPeers} / edge ${v.fromEdge}, stalls ${JSON.stringify(v.stalls)}, coordinator sockets opened ${v.sockets.opened} (max open ${v.sockets.maxOpen})`);
  return { peer, v };
}

/** Share of a tab's segment bytes that came from peers (0 when it has none). */
export const peerShare = (v: VideoView): number => v.fromPeers / Math.max(1, v.fromPeers + v.fromEdge);
