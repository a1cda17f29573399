/** Types of demo/stream-media.mjs, for TypeScript callers (stream tests and the bench). */
/** Segment duration of every demo stream, seconds. */
export const SEGMENT_SECONDS: number;
/** Segments listed by the live playlist (its sliding window). */
export const LIVE_WINDOW: number;
/** True when `ffmpeg` can be run. */
export function hasFfmpeg(): boolean;
/** Makes (or reuses) the VOD stream: HLS (`hls/index.m3u8`) and DASH (`dash/manifest.mpd`). */
export function prepareVod(opts?: { seconds?: number; dir?: string }): Promise<{ dir: string; hls: string; dash: string; segments: number }>;
/** Starts a real-time live HLS stream with a sliding window; `stop()` ends ffmpeg and removes it. */
export function startLive(opts?: { dir?: string }): { dir: string; playlist: string; stop(): Promise<void> };
