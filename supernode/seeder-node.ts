/**
 * The supernode's job on top of the SDK swarm: hold pinned content (fetched through the swarm, so
 * every chunk is verified against its manifest and lands in the chunk store), stay joined to those
 * swarms and seed indefinitely, retry with backoff while the edge is unreachable, log a compact
 * stats line per interval, and — optionally — seed followed content while its swarm reports it rare.
 *
 * Reconnection is layered: the SDK's swarm socket (`client/swarm-client.ts`) reconnects itself with
 * backoff when the edge or the socket drops and re-announces what we hold in its `hello`; this
 * module retries what the SDK does not — pinning (manifest + bytes) while the edge is down, and
 * re-checking pins every `refreshMs` (a new version, chunks lost from disk).
 */
import { fetchManifest, contentUrl, type FetchFn } from "../client/edge-client";
import { Backoff, sleep, type BackoffOptions } from "./backoff";
import type { NodeSwarm } from "./node-runtime";
import { parseSwarmStats, rareVerdict, swarmStatsUrl, type RarePolicy } from "./rare-policy";
import { formatBytes, formatDuration } from "./size-units";

/** State of one pinned or followed item. */
export interface ItemStatus {
  /** As given (URL or path). */
  input: string;
  mode: "pin" | "follow";
  state: "pending" | "fetching" | "held" | "ineligible" | "retrying" | "watching";
  root?: string;
  size?: number;
  chunks?: number;
  /** Chunks held in the store. */
  held?: number;
  lastError?: string;
}

/** Options of {@link SeederNode}. */
export interface SeederNodeOptions {
  node: NodeSwarm;
  edge: string;
  pins: readonly string[];
  follow?: readonly string[];
  /** For manifests and coordinator stats (default global fetch). */
  fetch?: FetchFn;
  /** Stats line period, ms; 0 = none (default 30000). */
  statsIntervalMs?: number;
  /** Re-check period of held pins, ms (default 600000). */
  refreshMs?: number;
  /** Period of follow-rare checks, ms (default 30000). */
  followIntervalMs?: number;
  rare?: RarePolicy;
  backoff?: BackoffOptions;
  /** Informational lines (pin done, retries). */
  log?(line: string): void;
  /** Stats lines. */
  stats?(line: string): void;
  now?: () => number;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * @example
 * const node = await createNodeSwarm({ edge, storeDir: "./store", quotaBytes: 20 * 1024 ** 3 });
 * const seeder = new SeederNode({ node, edge, pins: ["/c/demo/video.mp4"] });
 * seeder.start();
 * process.once("SIGTERM", () => seeder.stop());
 */
export class SeederNode {
  readonly items: ItemStatus[];
  private readonly stop$ = new AbortController();
  private readonly fetchFn: FetchFn;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly loops: Promise<void>[] = [];
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private lastUploaded = 0;
  private lastStatsAt: number;
  private waiters = new Set<() => void>();

  constructor(private readonly o: SeederNodeOptions) {
    this.fetchFn = o.fetch ?? o.node.edgeFetch;
    this.now = o.now ?? Date.now;
    this.startedAt = this.lastStatsAt = this.now();
    this.items = [
      ...o.pins.map((input): ItemStatus => ({ input, mode: "pin", state: "pending" })),
      ...(o.follow ?? []).filter((f) => !o.pins.includes(f)).map((input): ItemStatus => ({ input, mode: "follow", state: "pending" })),
    ];
  }

  /** Starts the pin and follow loops and the stats timer. */
  start(): void {
    for (const it of this.items) this.loops.push(it.mode === "pin" ? this.pinLoop(it) : this.followLoop(it));
    const every = this.o.statsIntervalMs ?? 30_000;
    if (every > 0) this.statsTimer = setInterval(() => this.o.stats?.(this.statsLine()), every);
  }

  /** Resolves once every pin is held (or ineligible); for tests and `--exit-when-held`-style use. */
  whenPinned(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const done = this.items.every((i) => i.mode !== "pin" || i.state === "held" || i.state === "ineligible");
        if (done || this.stop$.signal.aborted) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Stops the loops, leaves every swarm and closes every link. Idempotent. */
  async stop(): Promise<void> {
    if (this.stop$.signal.aborted) return;
    this.stop$.abort();
    clearInterval(this.statsTimer);
    this.changed();
    this.o.node.close();
    await Promise.allSettled(this.loops);
  }

  private get stopped(): boolean {
    return this.stop$.signal.aborted;
  }

  /**
   * Holds one item: manifest → fetch through the swarm (missing chunks from peers or the edge,
   * verified) or, when every chunk is already in the store, a 1-byte range read that only joins the
   * swarm. Returns false (and sets the state) when the item is not eligible for peer delivery.
   */
  private async hold(it: ItemStatus): Promise<boolean> {
    const { swarm, store } = this.o.node;
    const target = contentUrl(it.input, this.o.edge);
    if (!target) throw new Error("not an edge content URL");
    const mr = await fetchManifest(this.fetchFn, target, await swarm.identity, this.stop$.signal);
    if (mr === "ineligible") {
      it.state = "ineligible";
      it.lastError = "the edge will not share this content (409 ineligible: private, uncacheable or not a GET)";
      return false;
    }
    if (!mr) throw new Error("edge gave no manifest (unreachable or error)");
    if ("pending" in mr) throw new Error("the edge is still hashing this item (202 pending); retrying");
    const m = mr.manifest;
    if (it.root && it.root !== m.root) {
      this.o.log?.(`${it.input}: new version (root ${m.root.slice(0, 12)}…), dropping ${it.root.slice(0, 12)}…`);
      await store.remove(it.root);
    }
    Object.assign(it, { root: m.root, size: m.size, chunks: m.chunks.length, held: store.held(m.root).length });
    const complete = it.held === m.chunks.length;
    if (!complete) it.state = "fetching";
    const res = await swarm.fetch(target.href, complete && m.size > 0 ? { headers: { range: "bytes=0-0" } } : {});
    // No x-edgeswarm header: the SDK fell back to a plain edge fetch (no manifest, no swarm joined).
    const p2p = res.headers.get("x-edgeswarm") === "p2p";
    let n = 0;
    const reader = res.body?.getReader();
    for (;;) {
      const r = await reader?.read();
      if (!r || r.done) break;
      n += r.value.length;
    }
    if (!res.ok) throw new Error(`edge answered ${res.status}`);
    if (!p2p) throw new Error("the SDK fell back to a plain edge fetch (swarm not joined)");
    const want = complete ? Math.min(1, m.size) : m.size;
    if (n !== want) throw new Error(`read ${n} of ${want} bytes`);
    it.held = store.held(m.root).length;
    if (it.held < m.chunks.length) throw new Error(`only ${it.held}/${m.chunks.length} chunks stored (store quota ${formatBytes(store.quota)} too small?)`);
    // Pinned items are touched on every check so least-recently-used eviction takes followed items first.
    if (it.mode === "pin") store.touch(m.root);
    if (!complete) this.o.log?.(`${it.mode} ${it.input}: held ${formatBytes(m.size)} in ${m.chunks.length} chunks, seeding (root ${m.root.slice(0, 12)}…)`);
    it.state = "held";
    delete it.lastError;
    return true;
  }

  private async pinLoop(it: ItemStatus): Promise<void> {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 60_000, ...this.o.backoff });
    while (!this.stopped) {
      let wait: number;
      try {
        await this.hold(it);
        backoff.reset();
        wait = this.o.refreshMs ?? 600_000;
      } catch (e) {
        if (this.stopped) break;
        it.state = "retrying";
        it.lastError = message(e);
        wait = backoff.next();
        this.o.log?.(`pin ${it.input}: ${it.lastError}; retry ${backoff.attempt} in ${(wait / 1000).toFixed(1)}s`);
      }
      this.changed();
      await sleep(wait, this.stop$.signal);
    }
  }

  /** Follow-rare: poll the coordinator's stats; hold the item while it is in demand and scarce. */
  private async followLoop(it: ItemStatus): Promise<void> {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 60_000, ...this.o.backoff });
    const every = this.o.followIntervalMs ?? 30_000;
    while (!this.stopped) {
      let wait = every;
      try {
        const target = contentUrl(it.input, this.o.edge);
        if (!target) throw new Error("not an edge content URL");
        const mr = await fetchManifest(this.fetchFn, target, await this.o.node.swarm.identity, this.stop$.signal);
        if (mr === "ineligible") {
          it.state = "ineligible";
        } else if (!mr) {
          throw new Error("edge gave no manifest");
        } else if ("pending" in mr) {
          throw new Error("the edge is still hashing this item (202 pending)");
        } else {
          const { root, chunks } = mr.manifest;
          const heldFully = this.o.node.store.held(root).length === chunks.length;
          if (it.state === "held" && it.root === root && heldFully) {
            // Held: keep the swarm joined (and refresh the version) at the pin cadence.
            wait = Math.max(every, this.o.refreshMs ?? 600_000);
            await this.hold(it);
          } else {
            // The join token also authorises stats (the edge may require it: STATS_REQUIRE_TOKEN).
            const statsUrl = swarmStatsUrl(this.o.edge, root, mr.join);
            const res = await this.fetchFn(statsUrl, { signal: this.stop$.signal });
            const stats = res.ok ? parseSwarmStats(await res.json()) : (await res.body?.cancel(), null);
            const v = rareVerdict(stats, chunks.length, heldFully, this.o.rare);
            Object.assign(it, { root, chunks: chunks.length, size: mr.manifest.size });
            if (v.follow) {
              this.o.log?.(`follow ${it.input}: rare (${v.reason}: ${stats!.browsers} visitor(s), ${stats!.chunkCopies} copies of ${chunks.length} chunks), seeding`);
              await this.hold(it);
            } else if (heldFully) {
              await this.hold(it);
            } else it.state = "watching";
          }
        }
        backoff.reset();
      } catch (e) {
        if (this.stopped) break;
        it.lastError = message(e);
        wait = backoff.next();
        this.o.log?.(`follow ${it.input}: ${it.lastError}; retry in ${(wait / 1000).toFixed(1)}s`);
      }
      this.changed();
      await sleep(wait, this.stop$.signal);
    }
  }

  /**
   * One compact line: uptime, items held, store use, peers, upload total and rate since the last
   * line, bytes obtained from the edge and from peers, coordinator sockets.
   *
   * @example
   * // "up 1h02m | pins 2/2 follow 1/3 | store 1.20 GiB/10.0 GiB | peers 5 | sent 342 MiB (+1.10 MiB/s) | got edge 1.20 GiB peers 0 B | ws 3 open, 1 drop"
   */
  statsLine(): string {
    const { swarm, store, sockets } = this.o.node;
    const s = swarm.stats();
    const now = this.now();
    const rate = ((s.uploaded - this.lastUploaded) * 1000) / Math.max(1, now - this.lastStatsAt);
    this.lastUploaded = s.uploaded;
    this.lastStatsAt = now;
    const count = (mode: ItemStatus["mode"]) => {
      const of = this.items.filter((i) => i.mode === mode);
      return `${of.filter((i) => i.state === "held").length}/${of.length}`;
    };
    const retrying = this.items.filter((i) => i.state === "retrying").length;
    return [
      `up ${formatDuration(now - this.startedAt)}`,
      `pins ${count("pin")}${this.items.some((i) => i.mode === "follow") ? ` follow ${count("follow")}` : ""}${retrying ? ` (${retrying} retrying)` : ""}`,
      `store ${formatBytes(store.usedBytes)}/${formatBytes(store.quota)}`,
      `peers ${s.peersConnected}`,
      `sent ${formatBytes(s.uploaded)} (+${formatBytes(rate)}/s)`,
      `got edge ${formatBytes(s.fromEdge)} peers ${formatBytes(s.fromPeers)}`,
      `ws ${sockets.open} open, ${sockets.dropped} drop${sockets.dropped === 1 ? "" : "s"}${sockets.failed ? `, ${sockets.failed} failed` : ""}`,
      ...(s.hashFailures ? [`hash failures ${s.hashFailures}`] : []),
    ].join(" | ");
  }
}
