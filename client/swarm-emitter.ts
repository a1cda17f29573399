/**
 * The SDK instance's events, counted then dispatched: each event of {@link SwarmEventMap} is added
 * to one {@link ByteTally} for the instance, one per item URL (with the item's size, for
 * `stats().contents`) and one per swarm root (the coordinator's `stats` reports) before it reaches
 * listeners, so bytes are counted in this one place; `Swarm.stats()` is a snapshot of the tallies.
 * Download events (`DownloadEventMap`) become SDK events here too: a chunk by its length, with a
 * `progress` event after it.
 */
import type { Manifest } from "../protocol/manifest";
import { DEFAULTS } from "./defaults";
import { ByteTally, contentStats, type ContentStats, type PeerStats } from "./peer-stats";
import type { DownloadEventMap, SwarmEventDetail, SwarmEventMap } from "./swarm-events";

/**
 * @example
 * const events = new SwarmEmitter((e) => swarm.dispatchEvent(e));
 * events.track(url, manifest);
 * events.emit("chunk", { url, index: 0, bytes: 262144, source: "peer", peerId });
 * events.item(url)?.tally.received; // 262144
 */
export class SwarmEmitter {
  constructor(private readonly dispatch: (e: Event) => void) {}

  readonly #total = new ByteTally();
  readonly #byUrl = new Map<string, { size: number; tally: ByteTally }>();
  readonly #byRoot = new Map<string, ByteTally>();
  /** Swarm root of each item URL fetched (coordinator reports are per root). */
  readonly #rootOf = new Map<string, string>();

  /**
   * Starts counting an item URL (its tally and its swarm root). Bounded (a two-hour stream is
   * thousands of segment URLs): beyond `DEFAULTS.trackedItems` the oldest go first.
   */
  track(url: string, m: Manifest): void {
    this.begin(url, m.size);
    this.#rootOf.set(url, m.root);
    for (const map of [this.#byUrl, this.#rootOf, this.#byRoot] as Map<string, unknown>[])
      while (map.size > DEFAULTS.trackedItems) map.delete(map.keys().next().value!);
  }

  /** Starts counting an item URL of known size and no swarm root yet (a cold item streamed whole). */
  begin(url: string, size: number): void {
    if (!this.#byUrl.has(url)) this.#byUrl.set(url, { size, tally: new ByteTally() });
  }

  /** Counts one event (in the instance's tally, its item's and its swarm root's), then dispatches it. */
  emit<K extends keyof SwarmEventMap>(type: K, detail: SwarmEventDetail<K>): void {
    this.#add(type, detail);
    this.dispatch(new CustomEvent(type, { detail }));
  }

  /**
   * A download's event for item `url` as SDK events: `chunk` (its length in place of its bytes)
   * then `progress`; `hash-failure`, `deadline-miss`, `lane-open` with the item's URL. The
   * download's own bookkeeping (`stored`, `end`) is the caller's.
   */
  fromDownload<K extends Exclude<keyof DownloadEventMap, "stored" | "end">>(url: string, type: K, detail: DownloadEventMap[K]): void {
    if (type !== "chunk") return this.emit(type as "lane-open", { url, ...(detail as DownloadEventMap["lane-open"]) });
    const e = detail as DownloadEventMap["chunk"];
    const chunk = { url, ...e, bytes: e.bytes.length };
    this.emit("chunk", chunk);
    const c = this.#byUrl.get(url);
    if (c) this.dispatch(new CustomEvent("progress", { detail: { ...chunk, received: c.tally.received, size: c.size } }));
  }

  #add<K extends keyof SwarmEventMap>(type: K, detail: SwarmEventDetail<K>): void {
    this.#total.add(type, detail);
    if ("url" in detail) this.#byUrl.get(detail.url)?.tally.add(type, detail);
    const root = "root" in detail ? detail.root : "url" in detail ? this.#rootOf.get(detail.url) : undefined;
    if (root !== undefined) {
      let t = this.#byRoot.get(root);
      if (!t) this.#byRoot.set(root, (t = new ByteTally()));
      t.add(type, detail);
    }
  }

  /** An item URL's tally and size (`progress` events read its `received`). */
  item(url: string): { size: number; tally: ByteTally } | undefined {
    return this.#byUrl.get(url);
  }

  /** A swarm root's tally (what the coordinator's `stats` report says of that swarm). */
  root(root: string): ByteTally | undefined {
    return this.#byRoot.get(root);
  }

  /** The byte counters of `stats()`: the instance's totals and each tracked item's. */
  snapshot(): Pick<PeerStats, "fromPeers" | "fromEdge" | "uploaded" | "hashFailures" | "hashRefusedBytes" | "deadlineMisses" | "contents"> {
    const contents: Record<string, ContentStats> = {};
    for (const [url, c] of this.#byUrl) contents[url] = contentStats(c.tally, c.size);
    const t = this.#total;
    return {
      fromPeers: t.fromPeers, fromEdge: t.fromEdge, uploaded: t.uploaded, hashFailures: t.hashFailures,
      hashRefusedBytes: t.hashRefusedBytes, deadlineMisses: t.deadlineMisses, contents,
    };
  }
}
