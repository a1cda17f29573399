/**
 * What a video player needs from the swarm, whatever the player: fetch one media segment with a
 * playback deadline, prefetch the next ones from peers while the forward buffer has room, and
 * report load timings that keep the player's bitrate adaptation honest.
 *
 * Honest timings: a player's ABR divides bytes by load time to estimate the network. A segment that
 * came from peers (or the local store) in a burst would make it believe in a network that the edge
 * — the path it falls back to whenever peers are missing — cannot deliver, and it would pick a
 * bitrate that stalls on the next edge-served segment. So a segment's reported duration is never
 * shorter than its bytes at the edge rate measured on edge-served segments (EWMA).
 *
 * Live edge: every viewer of a live stream sees a new segment in the same playlist refresh and
 * would ask for it at once — while the edge is still filling it, so `/m/` answers 202 to all of
 * them and each takes the segment from the edge (cold path); nobody is left to seed. A live segment
 * whose playback is far enough off is therefore held for a random share of its spare time (what
 * its deadline leaves beyond `edgeReserveMs`, at most `liveHoldMaxMs`): the viewer drawing the
 * shortest hold fetches it first and seeds the others, whose `/m/` by then answers with the
 * manifest and a holder. The hold never eats into the time the edge needs: a viewer whose buffer
 * is short holds nothing. The order is sticky: a viewer whose held segment came from the edge
 * while it had no role or led draws from the first fifth of its spare time (it leads), the others
 * from the rest — one viewer leads the live edge segment after segment (stable links, no race per
 * segment; a leader hands over only after {@link LEADER_PEER_STREAK} segments in a row that someone
 * else fetched first). A follower waits, on top of the leader's fifth, for how long the edge takes
 * to fill a new segment (learned from its own edge-served live loads, {@link DEFAULT_FILL_MS} until
 * then): a follower asking while the leader's
 * fill is still running gets the segment from the edge too (`/m/` answers 202, the cold path).
 * A follower that got the edge's bytes stays a follower (it asked too early: it waits longer next
 * time) — before, it became a second leader, and two leaders racing each other both got every
 * segment cold from then on. Only {@link FOLLOWER_EDGE_STREAK} edge-served segments in a row make a
 * follower lead (the leader left).
 */

/** The part of the SDK a player integration uses (a structural type: any `Swarm` fits). */
export interface SegmentSwarm {
  fetch(input: string, init?: RequestInit & { deadline?: number }): Promise<Response>;
  stats(): { fromPeers: number; fromEdge: number };
}

/** Timings of one segment load, in the clock of {@link SegmentLoaderOptions.now} (ms). */
export interface SegmentTiming {
  /** When the request started, as reported to the player (may be moved earlier, see module doc). */
  start: number;
  /** First byte available. */
  first: number;
  /** All bytes available. */
  end: number;
  bytes: number;
  /** Bytes of this load that came from peers (0 for a prefetched segment's bytes counted earlier). */
  fromPeers: number;
  fromEdge: number;
}

/** Options of {@link SegmentLoader}. */
export interface SegmentLoaderOptions {
  /** Milliseconds kept in hand before a segment's playback time: the edge must have time to finish it. */
  safetyMarginMs?: number;
  /** Shortest deadline handed to the swarm, ms (a segment needed now still gets this long). */
  minDeadlineMs?: number;
  /** Most segments prefetched ahead of the one the player asked for. */
  prefetchAhead?: number;
  /** Most prefetched segments kept waiting for the player. */
  maxPrefetched?: number;
  /** Longest hold of a live segment before it is fetched, ms (0: never hold). */
  liveHoldMaxMs?: number;
  /** Time a held live segment keeps in hand for the edge after its hold, beyond the deadline margin, ms. */
  edgeReserveMs?: number;
  /** Clock, ms (default `performance.now`). */
  now?: () => number;
  /** Uniform [0, 1) draws for the live hold (default `Math.random`; injected in tests). */
  random?: () => number;
  /** Waits `ms` (default `setTimeout`; injected in tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The defaults of {@link SegmentLoaderOptions}. */
export const SEGMENT_LOADER_DEFAULTS = {
  safetyMarginMs: 1500,
  minDeadlineMs: 500,
  prefetchAhead: 2,
  maxPrefetched: 8,
  liveHoldMaxMs: 4000,
  edgeReserveMs: 1000,
} as const;

/** Resolves after `ms`, rejects with the signal's reason on abort. */
function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal.removeEventListener("abort", stop); resolve(); }, ms);
    const stop = () => { clearTimeout(t); reject(signal.reason); };
    signal.addEventListener("abort", stop, { once: true });
  });
}

/** Share of the spare time a live-edge leader draws its hold from (followers draw from the rest). */
const LEADER_SHARE = 0.2;
/** Edge-served live segments in a row after which a follower leads (nobody else went first). */
export const FOLLOWER_EDGE_STREAK = 5;
/** EWMA weight of a new sample of how long an edge-served live segment took. */
const FILL_ALPHA = 0.5;
/**
 * A follower's assumed edge fill time before it measured one, ms: a follower with no estimate would
 * otherwise draw right after the leader's fifth and, with a shorter buffer than the leader's, ask
 * first — taking the lead from the viewer that has held it longest.
 */
export const DEFAULT_FILL_MS = 1000;
/** Peer-served live segments in a row after which a leader follows (someone else goes first). */
export const LEADER_PEER_STREAK = 2;

/** EWMA weight of a new edge-rate sample. */
const EDGE_RATE_ALPHA = 0.3;
/** A load counts as an edge sample when at least this share of its bytes came from the edge. */
const EDGE_SAMPLE_SHARE = 0.9;

interface Pending {
  promise: Promise<{ data: ArrayBuffer; timing: SegmentTiming }>;
  controller: AbortController;
}

/**
 * Loads media segments through a swarm for one player.
 * @example
 * const loader = new SegmentLoader(swarm);
 * const { data, timing } = await loader.load(url, { playInMs: 8000, next: [nextUrl] });
 */
export class SegmentLoader {
  readonly #swarm: SegmentSwarm;
  readonly #o: Required<SegmentLoaderOptions>;
  readonly #prefetched = new Map<string, Pending>();
  /** Edge throughput, bytes per ms; 0 until a segment mostly from the edge was measured. */
  #edgeRate = 0;
  /** Live edge: does this viewer lead (fetch new segments first)? undefined: no role yet. */
  #leads: boolean | undefined;
  /** Edge-served live segments in a row while following. */
  #edgeStreak = 0;
  /** Peer-served live segments in a row while leading. */
  #peerStreak = 0;
  /** How long an edge-served live segment took, ms (EWMA; 0 until one was measured): the edge's fill time. */
  #liveEdgeMs = 0;

  constructor(swarm: SegmentSwarm, opts: SegmentLoaderOptions = {}) {
    this.#swarm = swarm;
    this.#o = { ...SEGMENT_LOADER_DEFAULTS, now: () => performance.now(), random: Math.random, sleep: sleepFor, ...opts };
  }

  /** Edge throughput learned so far, bytes per second (0: unknown). */
  get edgeBytesPerSecond(): number {
    return this.#edgeRate * 1000;
  }

  /** The swarm deadline for a segment whose playback starts in `playInMs`. */
  deadlineFor(playInMs: number | undefined): number | undefined {
    if (playInMs === undefined || !Number.isFinite(playInMs)) return undefined;
    return Math.max(this.#o.minDeadlineMs, playInMs - this.#o.safetyMarginMs);
  }

  /**
   * How long to hold a live segment whose playback starts in `playInMs` before fetching it: a
   * random share of what its deadline leaves beyond `edgeReserveMs` (0 when unknown or short).
   */
  liveHoldFor(playInMs: number | undefined): number {
    const spare = this.#spareFor(playInMs);
    if (spare <= 0) return 0;
    const r = this.#o.random();
    // No role yet: anywhere in the spare time (the first viewer of a stream must come to lead; a
    // newcomer that follows from the start leaves a stream with nobody going first for segments).
    if (this.#leads === undefined) return Math.floor(r * spare);
    if (this.#leads) return Math.floor(r * LEADER_SHARE * spare);
    // A follower: after the leader's fifth and the edge's fill time, and in the last fifth of its
    // spare time at the earliest — tabs learn of a new segment at their own playlist-refresh phase
    // (up to a segment apart), so waiting less lets a follower whose refresh came early ask first.
    const lo = Math.min(spare, Math.max((1 - LEADER_SHARE) * spare, LEADER_SHARE * spare + (this.#liveEdgeMs || DEFAULT_FILL_MS)));
    return Math.floor(lo + r * (spare - lo));
  }

  /** What a live segment's deadline leaves beyond `edgeReserveMs`, at most `liveHoldMaxMs` (0: nothing to hold). */
  #spareFor(playInMs: number | undefined): number {
    const deadline = this.deadlineFor(playInMs);
    return deadline === undefined ? 0 : Math.max(0, Math.min(this.#o.liveHoldMaxMs, deadline - this.#o.edgeReserveMs));
  }

  /** The live role after a held segment: see the module doc. */
  #afterLive(t: SegmentTiming): void {
    const fromEdge = t.fromEdge > t.fromPeers;
    if (fromEdge) this.#liveEdgeMs = this.#liveEdgeMs ? this.#liveEdgeMs * (1 - FILL_ALPHA) + (t.end - t.start) * FILL_ALPHA : t.end - t.start;
    if (!fromEdge) {
      // A leader stays one through a single segment someone else fetched first (a race won once).
      this.#edgeStreak = 0;
      if (this.#leads === true && ++this.#peerStreak < LEADER_PEER_STREAK) return;
      this.#leads = false;
      this.#peerStreak = 0;
    } else if (this.#leads !== false) {
      this.#leads = true;
      this.#peerStreak = 0;
    }
    else if (++this.#edgeStreak >= FOLLOWER_EDGE_STREAK) {
      // Nobody went first FOLLOWER_EDGE_STREAK times in a row (the first viewer, or the leader left): lead.
      this.#leads = true;
      this.#edgeStreak = 0;
    }
  }

  /**
   * Loads `url`: from a prefetch in flight or done, else through the swarm. `next` lists the
   * following segments with their playback offsets, to prefetch while this one loads. `live`:
   * the segment is at a live stream's edge (see the module doc: it may be held first).
   */
  async load(url: string, opts: { playInMs?: number; signal?: AbortSignal; live?: boolean; next?: { url: string; playInMs?: number }[] } = {}): Promise<{ data: ArrayBuffer; timing: SegmentTiming }> {
    const pending = this.#prefetched.get(url);
    this.#prefetched.delete(url);
    for (const n of (opts.next ?? []).slice(0, this.#o.prefetchAhead)) this.prefetch(n.url, n.playInMs);
    if (pending) {
      const started = this.#o.now();
      const onAbort = () => pending.controller.abort(opts.signal?.reason);
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const r = await pending.promise;
        // A prefetched segment's network time was spent earlier; report it as loaded at the
        // honest (edge-rate) pace from now, never as an instant burst.
        // Unknown edge rate: the prefetch's own network time stands in.
        const spent = r.timing.end - r.timing.start;
        return { data: r.data, timing: this.#honest({ ...r.timing, start: started, first: started }, this.#o.now(), spent) };
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
      }
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort(opts.signal?.reason);
    if (opts.signal?.aborted) controller.abort(opts.signal.reason);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      // Only segments with time to spare take part in the live-edge order (a short buffer fetches at once).
      const ordered = opts.live === true && this.#spareFor(opts.playInMs) > 0;
      const hold = ordered ? this.liveHoldFor(opts.playInMs) : 0;
      if (hold > 0) await this.#o.sleep(hold, controller.signal);
      const playInMs = opts.playInMs !== undefined ? opts.playInMs - hold : undefined;
      const r = await this.#fetch(url, this.deadlineFor(playInMs), controller.signal);
      if (ordered) this.#afterLive(r.timing);
      return { data: r.data, timing: this.#honest(r.timing, r.timing.end) };
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Starts loading `url` ahead of the player (peers first; the deadline brings the edge in). */
  prefetch(url: string, playInMs?: number): void {
    if (this.#prefetched.has(url)) return;
    while (this.#prefetched.size >= this.#o.maxPrefetched) {
      const [oldest, p] = this.#prefetched.entries().next().value as [string, Pending];
      p.controller.abort();
      this.#prefetched.delete(oldest);
    }
    const controller = new AbortController();
    const promise = this.#fetch(url, this.deadlineFor(playInMs), controller.signal);
    promise.catch(() => this.#prefetched.get(url)?.promise === promise && this.#prefetched.delete(url));
    this.#prefetched.set(url, { promise, controller });
  }

  /** Aborts every prefetch (seek, level switch, destroy). */
  cancelPrefetches(): void {
    for (const p of this.#prefetched.values()) p.controller.abort();
    this.#prefetched.clear();
  }

  async #fetch(url: string, deadline: number | undefined, signal: AbortSignal): Promise<{ data: ArrayBuffer; timing: SegmentTiming }> {
    const before = this.#swarm.stats();
    const start = this.#o.now();
    const res = await this.#swarm.fetch(url, { signal, ...(deadline !== undefined ? { deadline } : {}) });
    if (!res.ok) {
      res.body?.cancel().catch(() => {});
      throw new SegmentLoadError(res.status, `segment ${url}: HTTP ${res.status}`);
    }
    const first = this.#o.now();
    const data = await res.arrayBuffer();
    const end = this.#o.now();
    const after = this.#swarm.stats();
    // Counters are per swarm: another load running at the same time is attributed in proportion.
    const dp = Math.max(0, after.fromPeers - before.fromPeers), de = Math.max(0, after.fromEdge - before.fromEdge);
    const scale = dp + de > data.byteLength ? data.byteLength / (dp + de) : 1;
    const timing = { start, first, end, bytes: data.byteLength, fromPeers: Math.round(dp * scale), fromEdge: Math.round(de * scale) };
    // A newcomer that got any segment from peers joined a stream someone already leads: it follows
    // (else its first live-edge segment, asked during the leader's fill and served cold by the edge,
    // would make it a second leader).
    if (this.#leads === undefined && timing.fromPeers > timing.fromEdge) this.#leads = false;
    if (timing.fromEdge >= EDGE_SAMPLE_SHARE * data.byteLength && end > start && data.byteLength > 0) {
      const sample = data.byteLength / (end - start);
      this.#edgeRate = this.#edgeRate ? this.#edgeRate * (1 - EDGE_RATE_ALPHA) + sample * EDGE_RATE_ALPHA : sample;
    }
    return { data, timing };
  }

  /**
   * Moves `start` (and `first`, keeping the time to first byte) earlier so that bytes ÷ (end −
   * start) never exceeds the edge rate; with no edge rate yet, the span is at least `minSpan`.
   */
  #honest(t: SegmentTiming, end: number, minSpan = 0): SegmentTiming {
    const span = Math.max(0, end - t.start);
    const atEdgePace = this.#edgeRate > 0 ? t.bytes / this.#edgeRate : Math.max(span, minSpan);
    const shift = Math.max(0, atEdgePace - span);
    return { ...t, start: t.start - shift, first: Math.min(t.first, end) - shift, end };
  }
}

/** A segment the edge answered with an error status (the player's retry logic takes it from there). */
export class SegmentLoadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "SegmentLoadError";
  }
}
