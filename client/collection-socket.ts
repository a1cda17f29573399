/**
 * One coordinator socket and the items that share it: every item of a collection swarm (a stream's
 * segments, a route's assets: protocol/collection.ts), or the one item of an item-scope swarm. It
 * routes the coordinator's frames to the item they name, re-announces held items and pending wants
 * on every (re)connect, keeps at most {@link MAX_ITEMS_PER_MEMBER} items (the least recently used
 * idle one goes, as the coordinator drops it), and reports the collection's byte counters.
 */
import { SignalBatcher, unpackSignal } from "./signal-batch";
import { MAX_ITEMS_PER_MEMBER } from "../protocol/collection";
import { encodeBitfield } from "../protocol/chunk-bitfield";
import type { PeerKind, ServerMessage } from "../protocol/swarm-protocol";
import { type ContentSwarm, type ItemChannel, statsReport } from "./content-swarm";
import type { ByteTally } from "./peer-stats";
import { SwarmClient, type JoinInfo, type WebSocketCtor } from "./swarm-client";

export interface CollectionSocketOptions {
  edge: string;
  /** The swarm id (collection id, or the root of an item-scope swarm). */
  swarm: string;
  join: JoinInfo;
  rejoin(): Promise<JoinInfo>;
  kind: PeerKind;
  maxPeers: number;
  WebSocket: WebSocketCtor;
  uploadSlots(): number;
  /** Held chunks of item `root`. */
  held(root: string): number[];
  /** Tally of item `root` (undefined before its first event). */
  counters(root: string): ByteTally | undefined;
  /** An item left this socket's window (its swarm state may go: `PeerMesh.forget`). */
  onItemDropped?(root: string): void;
  /** Whether links gather from STUN/TURN servers (the signal batcher then waits for their candidates). */
  iceServers?(): boolean;
}

/**
 * @example
 * const s = new CollectionSocket({ edge, swarm: mr.join.swarm, join: mr.join, rejoin, kind: "browser", maxPeers: 8, WebSocket, uploadSlots, held, counters });
 * const cs = new ContentSwarm({ response: mr, mesh, channel: s.channel(mr.manifest.root), held: () => store.held(root) });
 * s.add(cs);
 */
export class CollectionSocket {
  readonly swarm: string;
  readonly client: SwarmClient;
  /** Items on this socket, least recently used first. */
  readonly #items = new Map<string, ContentSwarm>();
  /** Items whose `peers` answer arrived on the current connection. */
  readonly #answered = new Set<string>();
  /** Counters of items that left the window (stats are cumulative: they must not shrink). */
  #goneCounters = statsReport(undefined);
  #lastReported = "";
  /** Upload slots last announced (hello or have): a change rides on the next `have`. */
  #slots = -1;
  /** Used last (a new item, a download): the runtime's socket LRU. */
  usedAt = Date.now();
  /** Outgoing signals, one frame per link's offer/answer and its first candidates. */
  readonly #signals: SignalBatcher;

  constructor(private readonly o: CollectionSocketOptions) {
    this.swarm = o.swarm;
    this.#signals = new SignalBatcher((to, data) => this.client.signal(to, data), undefined, () => o.iceServers?.() ?? false);
    this.client = new SwarmClient({
      edge: o.edge,
      join: o.join,
      rejoin: o.rejoin,
      kind: o.kind,
      maxPeers: o.maxPeers,
      WebSocket: o.WebSocket,
      // An item-scope swarm announces its item in hello; a collection announces items one by one.
      hello: () => {
        const own = this.#items.get(this.swarm);
        // One socket outlives many items: seeding may be switched on (consent, store ready) after
        // hello, so the count is re-announced when it changes (`#slotsChange`).
        this.#slots = o.uploadSlots();
        return { have: own ? encodeBitfield(o.held(this.swarm), own.manifest.chunks.length) : "", uploadSlots: this.#slots };
      },
      wantOnJoin: () => this.#items.get(this.swarm)?.downloading ?? false,
      onHello: () => this.#reannounce(),
      onMessage: (m) => this.#route(m),
      onState: (joined) => {
        if (!joined) this.#answered.clear();
        for (const cs of this.#items.values()) cs.notify();
      },
    });
  }

  /** Items on this socket now. */
  get size(): number {
    return this.#items.size;
  }

  /** Whether a download of any of its items runs now. */
  get busy(): boolean {
    for (const cs of this.#items.values()) if (cs.downloading) return true;
    return false;
  }

  /** The item `root`, if on this socket (marks it used). */
  get(root: string): ContentSwarm | undefined {
    return this.#items.get(root);
  }

  /** Any item on this socket (for routing signals of links whose items left). */
  any(): ContentSwarm | undefined {
    return this.#items.values().next().value;
  }

  /**
   * The channel item `root` speaks through. Frames name the item unless this is the item's own swarm.
   */
  channel(root: string): ItemChannel {
    const item = root === this.swarm ? undefined : root;
    const c = this.client;
    return {
      joined: () => c.joined,
      // Settled: this item's answer came, or the socket is down (edge only until it is back).
      answered: () => this.#answered.has(root) || c.down,
      want: (chunks, force) => c.want(chunks, force, item),
      have: (chunks) => c.have(chunks, this.#slotsChange(), item),
      signal: (to, data) => this.#signals.signal(to, data, c.joined),
    };
  }

  /** Adds an item (most recently used); the least recently used idle item beyond the bound goes. */
  add(cs: ContentSwarm): void {
    this.usedAt = Date.now();
    const known = this.#items.has(cs.root);
    this.#items.delete(cs.root);
    this.#items.set(cs.root, cs);
    // An item may join with its bytes already stored (a cold item verified after its download, a
    // returning visitor's re-join): announced now — or by the re-announce after hello, when the
    // socket is not open yet (the send is then a no-op).
    if (!known && cs.root !== this.swarm) {
      const held = this.o.held(cs.root);
      if (held.length > 0) this.client.have(held, this.#slotsChange(), cs.root);
    }
    if (this.#items.size <= MAX_ITEMS_PER_MEMBER) return;
    for (const old of this.#items.values()) {
      if (old === cs || old.downloading) continue;
      this.#drop(old);
      return;
    }
  }

  /** Marks `root` used now (LRU order). */
  touch(root: string): void {
    const cs = this.#items.get(root);
    if (!cs) return;
    this.usedAt = Date.now();
    this.#items.delete(root);
    this.#items.set(root, cs);
  }

  /** Sends the collection's counters if they changed since the last report (every 5 s and on leave). */
  reportStats(): void {
    const sum = { ...this.#goneCounters };
    for (const root of this.#items.keys()) {
      const c = statsReport(this.o.counters(root));
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += c[k];
    }
    const key = Object.values(sum).join(" ");
    if (key !== this.#lastReported && this.client.joined) {
      this.#lastReported = key;
      this.client.stats(sum);
    }
  }

  /** Leaves the swarm (`bye`); its items stop. */
  close(): void {
    this.reportStats();
    this.#signals.clear();
    this.client.close();
    for (const cs of [...this.#items.values()]) this.#drop(cs);
  }

  /** The current upload slots when they differ from the last announced count, else undefined. */
  #slotsChange(): number | undefined {
    const now = this.o.uploadSlots();
    if (now === this.#slots || !this.client.joined) return undefined;
    this.#slots = now;
    return now;
  }

  #isItemSwarm(): boolean {
    return this.#items.has(this.swarm);
  }

  #drop(cs: ContentSwarm): void {
    const c = statsReport(this.o.counters(cs.root));
    for (const k of Object.keys(c) as (keyof typeof c)[]) this.#goneCounters[k] += c[k];
    this.#items.delete(cs.root);
    this.#answered.delete(cs.root);
    cs.close();
    this.o.onItemDropped?.(cs.root);
  }

  /** After hello: a collection's held items (`have {item}`) and the wants of items downloading. */
  #reannounce(): void {
    if (this.#isItemSwarm()) return; // hello carried it, wantOnJoin asked
    for (const cs of this.#items.values()) {
      const held = this.o.held(cs.root);
      if (held.length > 0) this.client.have(held, this.#slotsChange(), cs.root);
      if (cs.downloading) this.client.want(undefined, true, cs.root);
    }
  }

  #route(m: ServerMessage): void {
    switch (m.type) {
      case "peers":
      case "peer-have": {
        const root = m.item ?? this.swarm;
        if (m.type === "peers") this.#answered.add(root);
        this.#items.get(root)?.deliver(m);
        return;
      }
      case "signal":
        // A link serves every item: the signal goes to the mesh through the most recent item,
        // a batch (signal-batch.ts) as the single signals it carries, in order.
        for (const data of unpackSignal(m.data)) [...this.#items.values()].at(-1)?.deliver({ ...m, data });
        return;
      case "peer-left":
      case "error":
        // A refused signal names its target, not an item: every item's links are checked.
        for (const cs of this.#items.values()) cs.deliver(m);
        return;
      default:
        for (const cs of this.#items.values()) cs.notify();
    }
  }
}
