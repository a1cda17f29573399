/**
 * The typed event map: what a download and the SDK instance report, as events. `stats()`, the
 * `progress` events, the coordinator's byte reports and the bench all read these events — bytes are
 * counted in one place (`peer-stats.ts`). {@link TypedEventTarget} makes
 * `swarm.addEventListener("progress", (e) => e.detail)` type-check under `strict`.
 */
import type { ChunkEvent, SourceKind } from "./chunk-sources";
import type { EdgeReason } from "./chunk-tasks";

/** What one download reports (chunks with their bytes; the SDK turns them into {@link SwarmEventMap}). */
export interface DownloadEventMap {
  /** A chunk arrived and was verified; edge chunks say why the edge served them. */
  chunk: ChunkEvent & { why?: EdgeReason | undefined };
  /** A verified chunk was written to the store (announce it). */
  stored: { index: number };
  /** A peer sent a chunk that failed its SHA-256 check; `bytes` were refused. */
  "hash-failure": { index: number; peerId: string; bytes: number };
  /** A peer did not deliver a chunk by its deadline; the edge takes it. */
  "deadline-miss": { index: number; peerId: string };
  /** An edge-lane run started for chunks `[from, to)` (the edge racing slower peers). */
  "lane-open": { from: number; to: number };
  /** The download ended: completed, cancelled, aborted or failed. */
  end: { edgeRate: number; peerRate?: number; unshared?: boolean };
}

/** Emits one download event. */
export type DownloadEmit = <K extends keyof DownloadEventMap>(type: K, detail: DownloadEventMap[K]) => void;

/** One verified chunk, as pages see it (its length in place of its bytes). */
export interface ChunkDetail {
  /** Absolute edge content URL (`<edge>/c/…`). */
  url: string;
  index: number;
  bytes: number;
  source: SourceKind;
  peerId?: string;
  /** Edge chunks: why the edge served it (`EdgeReason`: start, deadline, orphan, wait, lane, probe, cold). */
  why?: EdgeReason | undefined;
}

/** Detail of a `progress` event: one chunk obtained, and how far its item is. */
export interface ProgressDetail extends ChunkDetail {
  /** Bytes of distinct chunks of this item obtained so far. */
  received: number;
  size: number;
}

/** The events of a `Swarm`, by name. */
export interface SwarmEventMap {
  /** A chunk obtained, with the item's progress. */
  progress: CustomEvent<ProgressDetail>;
  /** A chunk obtained (before `progress`). */
  chunk: CustomEvent<ChunkDetail>;
  "hash-failure": CustomEvent<{ url: string; index: number; peerId: string; bytes: number }>;
  "deadline-miss": CustomEvent<{ url: string; index: number; peerId: string }>;
  "lane-open": CustomEvent<{ url: string; from: number; to: number }>;
  /** A data channel to a peer opened. */
  "peer-up": CustomEvent<{ peerId: string }>;
  /** A peer link closed (`reason`: idle, banned, ice-failed, protocol, …). */
  "peer-down": CustomEvent<{ peerId: string; reason: string }>;
  /** Bytes of content `root` sent to a peer. */
  upload: CustomEvent<{ root: string; peerId: string; bytes: number }>;
}

/** The `detail` of each {@link SwarmEventMap} event. */
export type SwarmEventDetail<K extends keyof SwarmEventMap> = SwarmEventMap[K]["detail"];

type Listener<M, K extends keyof M, T> = ((this: T, ev: M[K]) => unknown) | { handleEvent(ev: M[K]): unknown };

/**
 * An `EventTarget` whose `addEventListener`/`removeEventListener` know the event type of each name
 * in `M` (the DOM's own pattern, `HTMLElementEventMap`); other names fall back to `Event`.
 *
 * @example
 * class Thing extends (EventTarget as TypedEventTargetCtor<{ tick: CustomEvent<number> }>) {}
 * new Thing().addEventListener("tick", (e) => e.detail.toFixed());
 */
export interface TypedEventTarget<M> extends EventTarget {
  addEventListener<K extends keyof M & string>(type: K, listener: Listener<M, K, this> | null, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof M & string>(type: K, listener: Listener<M, K, this> | null, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** The constructor of a {@link TypedEventTarget} (`EventTarget`, typed). */
export type TypedEventTargetCtor<M> = new () => TypedEventTarget<M>;
