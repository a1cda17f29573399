/**
 * `edgeswarm/hls`: media segments of an hls.js player through the swarm, with a deadline from the
 * playback position (the edge takes a segment over before it could stall playback), prefetch of
 * the next segments within hls.js's forward buffer, and load timings that keep ABR honest
 * (segment-loader.ts). Playlists keep hls.js's own loader: they are small, and a live playlist
 * changes every segment, so there is nothing to share.
 *
 * hls.js is not imported: the integration is typed structurally against the hls.js 1.x loader API
 * (`config.fLoader`, `Loader.load(context, config, callbacks)`), so it adds nothing to the SDK and
 * works with the page's own copy of hls.js.
 *
 * @example
 * import Hls from "hls.js";
 * import { createSwarm } from "edgeswarm";
 * import { edgeswarmHls } from "edgeswarm/hls";
 * const p2p = edgeswarmHls(createSwarm({ edge: "https://cdn.example" }));
 * const hls = new Hls({ ...p2p.config });
 * p2p.attach(hls);
 * hls.loadSource("https://cdn.example/c/video/index.m3u8");
 * hls.attachMedia(document.querySelector("video")!);
 */
import { SegmentLoader, SegmentLoadError, type SegmentLoaderOptions, type SegmentSwarm, type SegmentTiming } from "./segment-loader";

/** The parts of an hls.js fragment this integration reads. */
interface HlsFragment {
  sn: number | "initSegment";
  start: number;
  duration: number;
  level: number;
  type: string;
}

/** The parts of an hls.js loader context (`FragmentLoaderContext`) this integration reads. */
interface HlsLoaderContext {
  url: string;
  responseType: string;
  type?: string;
  rangeStart?: number;
  rangeEnd?: number;
  frag?: HlsFragment;
}

/** hls.js `LoaderStats`. */
interface HlsLoaderStats {
  aborted: boolean;
  loaded: number;
  retry: number;
  total: number;
  chunkCount: number;
  bwEstimate: number;
  loading: { start: number; first: number; end: number };
  parsing: { start: number; end: number };
  buffering: { start: number; first: number; end: number };
}

/** hls.js `LoaderCallbacks`. */
interface HlsLoaderCallbacks {
  onSuccess(response: { url: string; data: ArrayBuffer; code: number }, stats: HlsLoaderStats, context: HlsLoaderContext, networkDetails: unknown): void;
  onError(error: { code: number; text: string }, context: HlsLoaderContext, networkDetails: unknown, stats: HlsLoaderStats): void;
  onTimeout(stats: HlsLoaderStats, context: HlsLoaderContext, networkDetails: unknown): void;
  onAbort?(stats: HlsLoaderStats, context: HlsLoaderContext, networkDetails: unknown): void;
}

/** hls.js `LoaderConfiguration` (the parts read here). */
interface HlsLoaderConfiguration {
  loadPolicy?: { maxLoadTimeMs?: number };
  timeout?: number;
}

/** The parts of an hls.js instance this integration reads. */
export interface HlsLike {
  media: { currentTime: number; playbackRate: number; paused: boolean } | null;
  levels: { details?: { fragments: HlsFragment[] & { relurl?: string }[]; live?: boolean } }[];
  // `never`: hls.js's own loader takes its HlsConfig (a constructor parameter is checked
  // contravariantly under strict); this integration only passes on the config it was given.
  config: { loader: new (config: never) => HlsLoader };
  on(event: string, listener: (...args: unknown[]) => void): void;
}

/** An hls.js loader (the interface `fLoader` must implement). */
export interface HlsLoader {
  context: HlsLoaderContext | null;
  stats: HlsLoaderStats;
  load(context: HlsLoaderContext, config: HlsLoaderConfiguration, callbacks: HlsLoaderCallbacks): void;
  abort(): void;
  destroy(): void;
}

/**
 * The fragment loader class as hls.js's config types it: hls.js types `context` as its full
 * `FragmentLoaderContext`, most of which this integration neither reads nor sets — `any` there
 * keeps `new Hls({ ...p2p.config })` type-checking under strict without copying hls.js's types.
 */
export type HlsFragmentLoaderClass = new (config: unknown) => Omit<HlsLoader, "context"> & { context: any };

/** What {@link edgeswarmHls} returns. */
export interface EdgeswarmHls {
  /** Spread into the hls.js config: `new Hls({ ...p2p.config, ...yours })`. */
  config: { fLoader: HlsFragmentLoaderClass };
  /** Call once with the Hls instance: deadlines and prefetch need its media element and playlist. */
  attach(hls: HlsLike): void;
  /** The segment loader (edge rate learned, prefetches), e.g. for a stats panel. */
  loader: SegmentLoader;
}

const newStats = (): HlsLoaderStats => ({
  aborted: false, loaded: 0, retry: 0, total: 0, chunkCount: 0, bwEstimate: 0,
  loading: { start: 0, first: 0, end: 0 }, parsing: { start: 0, end: 0 }, buffering: { start: 0, first: 0, end: 0 },
});

/** Milliseconds until `frag` plays, or undefined when the media is not playing. */
function playInMs(hls: HlsLike | null, fragStart: number): number | undefined {
  const media = hls?.media;
  if (!media || media.paused) return undefined;
  return ((fragStart - media.currentTime) / (media.playbackRate || 1)) * 1000;
}

/** The fragments after `frag` in its level's playlist, resolved against the fragment's URL. */
function nextFragments(hls: HlsLike | null, frag: HlsFragment, url: string, count: number): { url: string; start: number }[] {
  const list = hls?.levels[frag.level]?.details?.fragments as unknown as (HlsFragment & { url?: string; relurl?: string })[] | undefined;
  if (!list || typeof frag.sn !== "number") return [];
  const i = list.findIndex((f) => f.sn === frag.sn);
  if (i < 0) return [];
  return list.slice(i + 1, i + 1 + count).flatMap((f) => {
    const u = f.url ?? (f.relurl ? new URL(f.relurl, url).href : undefined);
    return u ? [{ url: u, start: f.start }] : [];
  });
}

/**
 * Builds the hls.js integration for one player.
 * @param swarm the SDK instance (`createSwarm(...)`)
 * @param options deadline margin and prefetch depth (segment-loader.ts defaults)
 */
export function edgeswarmHls(swarm: SegmentSwarm, options: SegmentLoaderOptions = {}): EdgeswarmHls {
  const segments = new SegmentLoader(swarm, options);
  const ahead = options.prefetchAhead ?? 2;
  let player: HlsLike | null = null;

  class EdgeswarmFragmentLoader implements HlsLoader {
    context: HlsLoaderContext | null = null;
    stats = newStats();
    #controller: AbortController | null = null;
    #timer: ReturnType<typeof setTimeout> | undefined;
    #callbacks: HlsLoaderCallbacks | null = null;
    readonly #fallback: HlsLoader | null;

    constructor(config: unknown) {
      this.#fallback = player ? new player.config.loader(config as never) : null;
    }

    load(context: HlsLoaderContext, config: HlsLoaderConfiguration, callbacks: HlsLoaderCallbacks): void {
      // Byte-range fragments keep the default loader: a swarm shares whole objects. hls.js marks
      // "no range" with rangeStart = rangeEnd = 0 (createLoaderContext), a range with rangeEnd > 0.
      if ((context.rangeEnd ?? 0) > 0 || (context.rangeStart ?? 0) > 0 || context.responseType !== "arraybuffer") {
        if (!this.#fallback) throw new Error("edgeswarm/hls: call attach(hls) before loading");
        this.stats = this.#fallback.stats;
        this.#fallback.load(context, config, callbacks);
        return;
      }
      this.context = context;
      this.#callbacks = callbacks;
      this.stats = newStats();
      this.stats.loading.start = performance.now();
      const controller = (this.#controller = new AbortController());
      const limit = config.loadPolicy?.maxLoadTimeMs ?? config.timeout ?? 0;
      if (limit > 0) {
        this.#timer = setTimeout(() => {
          controller.abort();
          this.#callbacks = null;
          callbacks.onTimeout(this.stats, context, null);
        }, limit);
      }
      const frag = context.frag;
      const when = frag ? playInMs(player, frag.start) : undefined;
      const next = frag ? nextFragments(player, frag, context.url, ahead).map((f) => ({ url: f.url, playInMs: playInMs(player, f.start) })) : [];
      const live = frag ? player?.levels[frag.level]?.details?.live === true : false;
      segments.load(context.url, { signal: controller.signal, ...(when !== undefined ? { playInMs: when } : {}), live, next }).then(
        ({ data, timing }) => this.#done(context, data, timing),
        (err: unknown) => this.#failed(context, err),
      );
    }

    #done(context: HlsLoaderContext, data: ArrayBuffer, t: SegmentTiming): void {
      clearTimeout(this.#timer);
      const cb = this.#callbacks;
      this.#callbacks = null;
      if (!cb) return;
      const s = this.stats;
      s.loading = { start: t.start, first: t.first, end: t.end };
      s.loaded = s.total = data.byteLength;
      s.chunkCount = 1;
      cb.onSuccess({ url: context.url, data, code: 200 }, s, context, null);
    }

    #failed(context: HlsLoaderContext, err: unknown): void {
      clearTimeout(this.#timer);
      const cb = this.#callbacks;
      this.#callbacks = null;
      if (!cb) return;
      const code = err instanceof SegmentLoadError ? err.status : 0;
      cb.onError({ code, text: err instanceof Error ? err.message : String(err) }, context, null, this.stats);
    }

    abort(): void {
      this.#fallback?.abort();
      clearTimeout(this.#timer);
      const cb = this.#callbacks;
      this.#callbacks = null;
      this.#controller?.abort();
      this.stats.aborted = true;
      if (cb && this.context) cb.onAbort?.(this.stats, this.context, null);
    }

    destroy(): void {
      this.#callbacks = null;
      clearTimeout(this.#timer);
      this.#controller?.abort();
      this.#fallback?.destroy();
      this.context = null;
    }
  }

  return {
    config: { fLoader: EdgeswarmFragmentLoader },
    loader: segments,
    attach(hls) {
      player = hls;
      // A seek or a detached media element makes every prefetch stale.
      hls.on("hlsMediaDetaching", () => segments.cancelPrefetches());
      hls.on("hlsManifestLoading", () => segments.cancelPrefetches());
    },
  };
}
