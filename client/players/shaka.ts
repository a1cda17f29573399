/**
 * `edgeswarm/shaka`: a Shaka Player networking scheme plugin that loads media segments (DASH and
 * HLS) through the swarm, with a playback deadline per segment and load times that keep Shaka's
 * bandwidth estimate honest (segment-loader.ts). Everything else — manifests, playlists, licenses,
 * byte-range segments — goes to Shaka's own fetch plugin unchanged.
 *
 * Shaka gives a scheme plugin no segment reference, so a request filter (which does get it) notes
 * each segment's start time against the request object for the plugin to find.
 *
 * shaka-player is not imported: the integration is typed structurally against Shaka 4/5's
 * `NetworkingEngine.registerScheme` API and works with the page's own copy.
 *
 * @example
 * import shaka from "shaka-player";
 * import { createSwarm } from "edgeswarm";
 * import { edgeswarmShaka } from "edgeswarm/shaka";
 * const video = document.querySelector("video")!;
 * const player = new shaka.Player();
 * await player.attach(video);
 * edgeswarmShaka(shaka, player, createSwarm({ edge: "https://cdn.example" }), { media: video });
 * await player.load("https://cdn.example/c/video/manifest.mpd");
 */
import { SegmentLoader, SegmentLoadError, type SegmentLoaderOptions, type SegmentSwarm } from "./segment-loader";

/** Shaka's `RequestType.SEGMENT`. */
const SEGMENT = 1;

interface ShakaRequest { headers: Record<string, string>; method: string; uris: string[] }
interface ShakaResponse {
  uri: string; originalUri: string; data: ArrayBuffer; headers: Record<string, string>;
  status: number; timeMs: number; fromCache: boolean; originalRequest: ShakaRequest;
}
/**
 * A Shaka scheme plugin, typed as a method so its parameters compare bivariantly: Shaka's own
 * `SchemePlugin` takes its full `Request` (a superset of {@link ShakaRequest}), and a structural
 * type checked contravariantly under strict would refuse `shaka.net.HttpFetchPlugin.parse`.
 */
type ShakaPlugin = { plugin(uri: string, request: ShakaRequest, type: number, progress: unknown, headers: unknown, config: unknown): unknown }["plugin"];

/** The parts of the `shaka` namespace this integration uses. */
export interface ShakaLike {
  net: {
    NetworkingEngine: { registerScheme(scheme: string, plugin: ShakaPlugin, priority?: number, progressSupport?: boolean): void; PluginPriority: { APPLICATION: number } };
    HttpFetchPlugin: { parse: ShakaPlugin };
  };
  util: {
    AbortableOperation: new <T>(promise: Promise<T>, onAbort: () => Promise<unknown>) => unknown;
    Error: new (severity: number, category: number, code: number, ...args: unknown[]) => Error;
  };
}

/** The parts of a `shaka.Player` this integration uses. */
export interface ShakaPlayerLike {
  getNetworkingEngine(): { registerRequestFilter(f: (type: number, request: ShakaRequest, context?: { segment?: { getStartTime(): number } | null }) => void): void } | null;
}

/** Options of {@link edgeswarmShaka}. */
export interface EdgeswarmShakaOptions extends SegmentLoaderOptions {
  /** The video element, for deadlines from the playback position. */
  media?: { currentTime: number; playbackRate: number; paused: boolean };
}

/**
 * Routes Shaka's media segment requests through the swarm. Registers `http` and `https` scheme
 * plugins at application priority (global in Shaka, like every scheme plugin) and a request filter
 * on `player`.
 * @returns the segment loader (edge rate learned, prefetches), e.g. for a stats panel
 */
export function edgeswarmShaka(shaka: ShakaLike, player: ShakaPlayerLike, swarm: SegmentSwarm, options: EdgeswarmShakaOptions = {}): SegmentLoader {
  const segments = new SegmentLoader(swarm, options);
  const startTimes = new WeakMap<ShakaRequest, number>();
  player.getNetworkingEngine()?.registerRequestFilter((type, request, context) => {
    if (type === SEGMENT && context?.segment) startTimes.set(request, context.segment.getStartTime()); // SegmentReference's public accessor (Shaka's exported API)
  });
  const fallback = shaka.net.HttpFetchPlugin.parse;
  const plugin: ShakaPlugin = (uri, request, type, progress, headers, config) => {
    if (type !== SEGMENT || request.method !== "GET" || Object.keys(request.headers).some((h) => h.toLowerCase() === "range"))
      return fallback(uri, request, type, progress, headers, config);
    const controller = new AbortController();
    const start = startTimes.get(request);
    const media = options.media;
    const playInMs = start !== undefined && media && !media.paused ? ((start - media.currentTime) / (media.playbackRate || 1)) * 1000 : undefined;
    const promise = segments.load(uri, { signal: controller.signal, ...(playInMs !== undefined ? { playInMs } : {}) }).then(
      ({ data, timing }): ShakaResponse => ({
        uri, originalUri: uri, data, headers: {}, status: 200,
        // Shaka samples bandwidth from timeMs when the plugin reports no progress.
        timeMs: Math.max(1, timing.end - timing.start), fromCache: false, originalRequest: request,
      }),
      (err: unknown) => {
        // shaka.util.Error: RECOVERABLE (1), NETWORK (1), BAD_HTTP_STATUS (1001) / HTTP_ERROR (1002).
        const status = err instanceof SegmentLoadError ? err.status : 0;
        throw status ? new shaka.util.Error(1, 1, 1001, uri, status, "", {}, type, uri) : new shaka.util.Error(1, 1, 1002, uri, err, type);
      },
    );
    return new shaka.util.AbortableOperation(promise, async () => controller.abort());
  };
  for (const scheme of ["http", "https"]) shaka.net.NetworkingEngine.registerScheme(scheme, plugin, shaka.net.NetworkingEngine.PluginPriority.APPLICATION, false);
  return segments;
}
