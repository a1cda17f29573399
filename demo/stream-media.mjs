/**
 * Demo video for the stream pages and the stream tests: real, decodable H.264/AAC media made by
 * Debian's `ffmpeg` from its test-pattern sources (nothing is committed but this recipe).
 *
 * - VOD: an HLS media playlist of fMP4 segments and, from the same encode settings, a DASH
 *   representation. Made once per recipe into a cache folder (`$EDGESWARM_MEDIA_DIR`, else the OS
 *   temp dir) and reused: ~3–4 s for 60 s of 640×360 on a 2-core machine.
 * - Live: ffmpeg in real time (`-re`) writing a sliding window (6 segments) with `temp_file`, so a
 *   half-written segment is never listed, and `delete_segments`, so the window really slides.
 *
 * Segments are immutable (a new encode gets new folder names), playlists of a live stream change
 * every segment: the caching headers served by demo/origin.mjs say so.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Segment duration of every demo stream, seconds. */
export const SEGMENT_SECONDS = 2;
/** Segments listed by the live playlist (its sliding window). */
export const LIVE_WINDOW = 6;

/** True when `ffmpeg` can be run (the stream demo and stream tests need it). */
export function hasFfmpeg() {
  return spawnSync("ffmpeg", ["-version"], { stdio: "ignore" }).status === 0;
}

/** Input and encode arguments shared by every recipe: a 640×360 test pattern plus a sine tone. */
function encodeArgs({ realtime }) {
  const re = realtime ? ["-re"] : [];
  return [
    ...re, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
    ...re, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-b:v", "900k", "-maxrate", "900k", "-bufsize", "1800k",
    // A keyframe exactly every segment so every segment starts independently decodable.
    "-g", String(30 * SEGMENT_SECONDS), "-keyint_min", String(30 * SEGMENT_SECONDS), "-sc_threshold", "0",
    "-c:a", "aac", "-b:a", "96k", "-ac", "2",
  ];
}

function runFfmpeg(args, cwd) {
  return new Promise((resolve, reject) => {
    const p = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => { err = (err + d).slice(-2000); });
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${err}`))));
  });
}

function mediaRoot(dir) {
  const root = dir ?? process.env.EDGESWARM_MEDIA_DIR ?? join(tmpdir(), "edgeswarm-media");
  mkdirSync(root, { recursive: true });
  return root;
}

/**
 * Makes (or reuses) the VOD stream: `<dir>/hls/index.m3u8` + fMP4 segments and
 * `<dir>/dash/manifest.mpd` + segments.
 * @param {{ seconds?: number, dir?: string }} [opts]
 * @returns {Promise<{ dir: string, hls: string, dash: string, segments: number }>}
 * @example
 * const vod = await prepareVod({ seconds: 20 });
 * // serve vod.dir under /stream/vod/: /stream/vod/hls/index.m3u8, /stream/vod/dash/manifest.mpd
 */
export async function prepareVod({ seconds = 60, dir } = {}) {
  const recipe = JSON.stringify({ v: 1, seconds, args: encodeArgs({ realtime: false }) });
  const key = createHash("sha256").update(recipe).digest("hex").slice(0, 12);
  const out = join(mediaRoot(dir), `vod-${key}`);
  const done = join(out, ".complete");
  if (!existsSync(done)) {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(join(out, "hls"), { recursive: true });
    mkdirSync(join(out, "dash"), { recursive: true });
    const t = ["-t", String(seconds)];
    await runFfmpeg([...encodeArgs({ realtime: false }), ...t, "-f", "hls", "-hls_time", String(SEGMENT_SECONDS),
      "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
      "-hls_segment_filename", "seg-%03d.m4s", "index.m3u8"], join(out, "hls"));
    await runFfmpeg([...encodeArgs({ realtime: false }), ...t, "-f", "dash", "-seg_duration", String(SEGMENT_SECONDS),
      "-use_template", "1", "-use_timeline", "0", "-init_seg_name", "init-$RepresentationID$.mp4",
      "-media_seg_name", "seg-$RepresentationID$-$Number%03d$.m4s", "-adaptation_sets", "id=0,streams=v id=1,streams=a",
      "manifest.mpd"], join(out, "dash"));
    writeFileSync(done, recipe);
  }
  const segments = readdirSync(join(out, "hls")).filter((f) => f.endsWith(".m4s")).length;
  return { dir: out, hls: "hls/index.m3u8", dash: "dash/manifest.mpd", segments };
}

/**
 * Starts a live HLS stream: ffmpeg encodes in real time into a fresh folder with a sliding window
 * of {@link LIVE_WINDOW} segments. The playlist appears after about one segment.
 * @param {{ dir?: string }} [opts]
 * @returns {{ dir: string, playlist: string, stop: () => Promise<void> }}
 * @example
 * const live = startLive(); // serve live.dir under /stream/live/; stop() at exit
 */
export function startLive({ dir } = {}) {
  const out = join(mediaRoot(dir), `live-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(out, { recursive: true });
  const p = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...encodeArgs({ realtime: true }),
    "-f", "hls", "-hls_time", String(SEGMENT_SECONDS), "-hls_list_size", String(LIVE_WINDOW),
    "-hls_flags", "delete_segments+independent_segments+temp_file+omit_endlist",
    "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
    "-hls_segment_filename", "seg-%05d.m4s", "index.m3u8"], { cwd: out, stdio: "ignore" });
  let exited = false;
  const exit = new Promise((r) => p.on("exit", () => { exited = true; r(); }));
  return {
    dir: out,
    playlist: "index.m3u8",
    async stop() {
      if (!exited) p.kill("SIGTERM");
      await exit;
      rmSync(out, { recursive: true, force: true });
    },
  };
}
