/**
 * This peer's membership in the swarm of one content item: its channel on the coordinator socket
 * (shared by the items of a collection, `collection-socket.ts`), the ranked peers the coordinator
 * named, and the {@link PeerSource} a download's peer links come from. Links themselves belong to
 * the shared {@link PeerMesh}.
 */
import type { ManifestResponse, Manifest } from "../protocol/manifest";
import { bitfieldBytes, bitfieldToBytes, encodeBitfield } from "../protocol/chunk-bitfield";
import type { HealthCounters, PeerKind, ServerMessage, SignalData, StatsMessage } from "../protocol/swarm-protocol";
import type { ByteTally } from "./peer-stats";
import type { ChunkArrival, ChunkWant, PeerChunkSource, PeerInfo, PeerRequest, PeerSource } from "./chunk-sources";
import { peerLinkSource } from "./peer-link-source";
import { edgeLane } from "./edge-lane";
import type { PeerMesh } from "./peer-mesh";

/** What an item says to its coordinator, through the socket of its swarm (item's own or collection's). */
export interface ItemChannel {
  /** Joined, and whether this item's first `peers` answer (or a failure to join) settled who is there. */
  joined(): boolean;
  answered(): boolean;
  want(chunks?: number[], force?: boolean): void;
  have(chunks: number[]): void;
  signal(to: string, data: SignalData): boolean;
}

export interface ContentSwarmOptions {
  response: ManifestResponse;
  mesh: PeerMesh;
  /** Undefined without a coordinator (no WebSocket): links only. */
  channel?: ItemChannel | undefined;
  /** Chunks of this content held in the store. */
  held(): number[];
}

/**
 * The `stats` frame's counters from a content's tally: bytes, and the health counters the dashboard
 * shows (lane and deadline bytes are the edge bytes of those `EdgeReason`s). Built here, on the lazily
 * loaded peer side, so the SDK's first load carries none of it.
 * @example
 * client.stats(statsReport(tally)); // { fromPeers, fromEdge, uploaded, hashFailures, bannedPeers, edgeLaneBytes, deadlineFallbackBytes }
 */
export function statsReport(t: ByteTally | undefined): Omit<StatsMessage, "type"> & HealthCounters {
  return {
    fromPeers: t?.fromPeers ?? 0, fromEdge: t?.fromEdge ?? 0, uploaded: t?.uploaded ?? 0,
    hashFailures: t?.hashFailures ?? 0, bannedPeers: t?.refusedFrom.size ?? 0,
    edgeLaneBytes: t?.edgeWhy.lane ?? 0, deadlineFallbackBytes: t?.edgeWhy.deadline ?? 0,
  };
}

/**
 * Least time between two `have` frames of one item to the coordinator, ms (the first and the
 * completing one go at once). Linked peers hear every 50 ms batch; the coordinator only needs to
 * rank this peer as a holder, and waiters at a live edge learn of the first chunk at once.
 */
export const COORDINATOR_HAVE_INTERVAL_MS = 2000;

/**
 * @example
 * const cs = new ContentSwarm({ edge, response, mesh, kind: "browser", maxPeers: 8, WebSocket, held, uploadSlots, rejoin });
 * new Download({ manifest: cs.manifest, peers: cs, edge: edgeFetch });
 */
export class ContentSwarm implements PeerSource {
  readonly manifest: Manifest;
  readonly root: string;
  readonly channel: ItemChannel | undefined;
  /** The edge lane for this content's downloads (lives on the lazily loaded peer side). */
  readonly lane = edgeLane;
  private rank: string[] = [];
  /** Kind of each peer the coordinator named (`peers` frames), for the browser-first picker. */
  private readonly kinds = new Map<string, PeerKind>();
  private downloads = 0;
  private readonly listeners = new Set<() => void>();
  private haveQueue: number[] = [];
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Chunks stored but not yet told to the coordinator (paced: {@link COORDINATOR_HAVE_INTERVAL_MS}). */
  private coordQueue: number[] = [];
  private coordTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last `have` went to the coordinator (ms, Date.now); -Infinity: none yet. */
  private coordSentAt = -Infinity;
  /** Last use (a download started, or chunks announced): the socket's item LRU. */
  usedAt = 0;

  constructor(private readonly o: ContentSwarmOptions) {
    this.manifest = o.response.manifest;
    this.root = this.manifest.root;
    this.channel = o.channel;
  }

  /** Whether a download of this content runs now. */
  get downloading(): boolean {
    return this.downloads > 0;
  }

  /** Marks a download of this content started; returns its end function. */
  startDownload(): () => void {
    this.usedAt = Date.now();
    if (++this.downloads === 1) this.channel?.want(undefined, true);
    // Linked peers are asked at once whether they hold it (peer-mesh.ts `interest`), beside the coordinator.
    const uninterest = this.o.mesh.interest(this.root, this.manifest.chunks.length);
    let ended = false;
    return () => {
      if (!ended) {
        ended = true;
        this.downloads--;
        uninterest();
      }
    };
  }

  /** A coordinator frame about this item (the socket routes `peers`/`peer-have` by item). */
  deliver(m: ServerMessage): void {
    const { mesh } = this.o;
    switch (m.type) {
      case "peers":
        this.rank = m.peers.map((p) => p.peerId);
        for (const p of m.peers) {
          this.kinds.set(p.peerId, p.kind);
          const bits = bitfieldToBytes(p.have);
          mesh.setHave(this.root, p.peerId, bits);
          // Holders are linked also when the download ended before the answer came (a small item,
          // one the lead served): links serve every item, and are asked what they hold when the
          // next download starts (`PeerMesh.interest`) — such links only take free slots.
          if (bits.some((b) => b !== 0)) mesh.connect(p.peerId, this.root, this.downloads === 0);
        }
        break;
      case "signal":
        mesh.handleSignal(this.root, m.from, m.data);
        break;
      case "peer-have":
        mesh.addHave(this.root, m.peerId, m.chunks, this.manifest.chunks.length);
        if (this.downloads > 0) mesh.connect(m.peerId, this.root);
        break;
      case "peer-left":
        mesh.peerLeft(this.root, m.peerId);
        this.kinds.delete(m.peerId);
        break;
      case "error":
        // Advisory (the socket lives on); a refused signal is why a link will not open (diagnose()).
        if (m.ref === "signal") mesh.signalRefused(this.root, m.code, m.message);
        break;
      default:
        break; // welcome: nothing to do
    }
    this.notify();
  }

  /** Listeners re-check (the socket joined or left). */
  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  // ---- PeerSource ----

  peers(): readonly PeerInfo[] {
    return this.o.mesh.peersFor(this.root, this.rank, (id) => this.kinds.get(id));
  }

  pending(): boolean {
    return (!!this.channel && !this.channel.answered()) || this.o.mesh.connecting(this.root);
  }

  request(peerId: string, chunks: readonly ChunkWant[], onChunk: ChunkArrival): PeerRequest {
    return this.o.mesh.request(peerId, this.root, chunks, onChunk);
  }

  source(peer: PeerInfo, manifest: Manifest): PeerChunkSource {
    return peerLinkSource(this, peer, manifest);
  }

  ban(peerId: string): void {
    this.o.mesh.ban(peerId);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  want(chunks: number[]): void {
    this.channel?.want(chunks);
  }

  /** Called by the mesh when links or availability change. */
  changed(): void {
    this.notify();
  }

  /**
   * A chunk of this content was stored: tell linked peers (batched over 50 ms) and the coordinator
   * (paced). The coordinator's first `have` of an item goes with the first batch — wanters at a live
   * edge learn of a new holder at once — then at most one per {@link COORDINATOR_HAVE_INTERVAL_MS}, and the one that completes
   * the item at once: each `have` is an inbound request on the coordinator's object, and per-50 ms
   * frames were the second largest share of a requester's frames in the viral-item simulation.
   */
  announce(index: number): void {
    this.usedAt = Date.now();
    this.haveQueue.push(index);
    this.coordQueue.push(index);
    if (!this.announceTimer) {
      this.announceTimer = setTimeout(() => {
        this.announceTimer = undefined;
        this.haveQueue = [];
        const count = this.manifest.chunks.length;
        const held = this.o.held();
        this.o.mesh.announce(this.root, count, bitfieldBytes(held, count));
        const wait = this.coordSentAt + COORDINATOR_HAVE_INTERVAL_MS - Date.now();
        if (held.length >= count || wait <= 0) this.#tellCoordinator();
        else if (!this.coordTimer) this.coordTimer = setTimeout(() => this.#tellCoordinator(), wait);
      }, 50);
    }
  }

  #tellCoordinator(): void {
    clearTimeout(this.coordTimer);
    this.coordTimer = undefined;
    const chunks = this.coordQueue;
    this.coordQueue = [];
    if (chunks.length === 0) return;
    this.coordSentAt = Date.now();
    this.channel?.have(chunks);
  }

  /** Stops (the socket left the swarm, or dropped this item from its window): no more frames. */
  close(): void {
    clearTimeout(this.announceTimer);
    this.announceTimer = undefined;
    clearTimeout(this.coordTimer);
    this.coordTimer = undefined;
    this.listeners.clear();
  }
}
