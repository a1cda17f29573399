/**
 * This peer's membership in the swarm of one content item: its coordinator socket, the ranked
 * peers the coordinator named, and the {@link PeerSource} a download's peer links come from.
 * Links themselves belong to the shared {@link PeerMesh}.
 */
import type { ManifestResponse, Manifest } from "../protocol/manifest";
import { bitfieldBytes, bitfieldToBytes, encodeBitfield } from "../protocol/chunk-bitfield";
import type { HealthCounters, PeerKind, ServerMessage, StatsMessage } from "../protocol/swarm-protocol";
import type { ByteTally } from "./peer-stats";
import type { PeerInfo, PeerRequest, PeerSource, Source } from "./chunk-sources";
import { peerLinkSource } from "./peer-link-source";
import { edgeLane } from "./edge-lane";
import type { PeerMesh } from "./peer-mesh";
import { SwarmClient, type JoinInfo, type WebSocketCtor } from "./swarm-client";

export interface ContentSwarmOptions {
  edge: string;
  response: ManifestResponse;
  mesh: PeerMesh;
  kind: PeerKind;
  maxPeers: number;
  WebSocket?: WebSocketCtor | undefined;
  /** Chunks of this content held in the store. */
  held(): number[];
  uploadSlots(): number;
  rejoin(): Promise<JoinInfo>;
  /** This content's tally (undefined before its first event), reported to the coordinator. */
  counters(): ByteTally | undefined;
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
 * @example
 * const cs = new ContentSwarm({ edge, response, mesh, kind: "browser", maxPeers: 8, WebSocket, held, uploadSlots, rejoin });
 * new Download({ manifest: cs.manifest, peers: cs, edge: edgeFetch });
 */
export class ContentSwarm implements PeerSource {
  readonly manifest: Manifest;
  readonly root: string;
  readonly client: SwarmClient | undefined;
  /** The edge lane for this content's downloads (lives on the lazily loaded peer side). */
  readonly lane = edgeLane;
  private rank: string[] = [];
  /** Kind of each peer the coordinator named (`peers` frames), for the browser-first picker. */
  private readonly kinds = new Map<string, PeerKind>();
  private downloads = 0;
  private readonly listeners = new Set<() => void>();
  private haveQueue: number[] = [];
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  private lastReported = "";

  constructor(private readonly o: ContentSwarmOptions) {
    this.manifest = o.response.manifest;
    this.root = this.manifest.root;
    if (o.WebSocket) {
      this.client = new SwarmClient({
        edge: o.edge,
        join: o.response.join,
        rejoin: o.rejoin,
        kind: o.kind,
        maxPeers: o.maxPeers,
        WebSocket: o.WebSocket,
        hello: () => ({ have: encodeBitfield(o.held(), this.manifest.chunks.length), uploadSlots: o.uploadSlots() }),
        wantOnJoin: () => this.downloads > 0,
        onMessage: (m) => this.onMessage(m),
        onState: () => this.notify(),
      });
    }
  }

  /** Marks a download of this content started; returns its end function. */
  startDownload(): () => void {
    if (++this.downloads === 1) this.client?.want(undefined, true);
    let ended = false;
    return () => {
      if (!ended) {
        ended = true;
        this.downloads--;
      }
    };
  }

  private onMessage(m: ServerMessage): void {
    const { mesh } = this.o;
    switch (m.type) {
      case "peers":
        this.rank = m.peers.map((p) => p.peerId);
        for (const p of m.peers) {
          this.kinds.set(p.peerId, p.kind);
          const bits = bitfieldToBytes(p.have);
          mesh.setHave(this.root, p.peerId, bits);
          if (this.downloads > 0 && bits.some((b) => b !== 0)) mesh.connect(p.peerId, this.root);
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

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  // ---- PeerSource ----

  peers(): readonly PeerInfo[] {
    return this.o.mesh.peersFor(this.root, this.rank, (id) => this.kinds.get(id));
  }

  pending(): boolean {
    return (!!this.client && !this.client.answered) || this.o.mesh.connecting(this.root);
  }

  request(peerId: string, index: number, length: number): PeerRequest {
    return this.o.mesh.request(peerId, this.root, index, length);
  }

  source(peer: PeerInfo, manifest: Manifest): Source {
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
    this.client?.want(chunks);
  }

  /** Called by the mesh when links or availability change. */
  changed(): void {
    this.notify();
  }

  /** A chunk of this content was stored: tell the coordinator and linked peers (batched). */
  announce(index: number): void {
    this.haveQueue.push(index);
    if (this.announceTimer) return;
    this.announceTimer = setTimeout(() => {
      this.announceTimer = undefined;
      const chunks = this.haveQueue;
      this.haveQueue = [];
      this.client?.have(chunks);
      const count = this.manifest.chunks.length;
      this.o.mesh.announce(this.root, count, bitfieldBytes(this.o.held(), count));
    }, 50);
  }

  /** Sends the counters to the coordinator if they changed since the last report (batched: every 5 s and on leave). */
  reportStats(): void {
    const c = statsReport(this.o.counters());
    const key = Object.values(c).join(" ");
    if (key !== this.lastReported && this.client?.joined) {
      this.lastReported = key;
      this.client.stats(c);
    }
  }

  /** Leaves the swarm (`bye`). */
  close(): void {
    clearTimeout(this.announceTimer);
    this.reportStats();
    this.client?.close();
    this.listeners.clear();
  }
}
