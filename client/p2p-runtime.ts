/**
 * The peer side of one SDK instance: the shared {@link PeerMesh} of WebRTC links, the
 * {@link Seeder} with its {@link UploadLimiter}, and one {@link ContentSwarm} per content root.
 * `swarm.ts` loads this module with a dynamic `import()`, so a split build can ship it as a second
 * script fetched while the first manifest loads (the edge-only core stays small); in the single-file
 * build esbuild inlines it and nothing changes.
 */
import type { ManifestResponse } from "../protocol/manifest";
import type { PeerKind } from "../protocol/swarm-protocol";
import type { ChunkStoreLike } from "./chunk-store";
import { ContentSwarm } from "./content-swarm";
import { bitfieldBytes } from "../protocol/chunk-bitfield";
import type { RTCPeerConnectionCtor } from "./peer-link";
import { PeerMesh } from "./peer-mesh";
import { saveDataRequested, Seeder } from "./seeder";
import type { JoinInfo, WebSocketCtor } from "./swarm-client";
import { UploadLimiter } from "./upload-limiter";
import type { SwarmEventDetail } from "./swarm-events";
import type { ByteTally } from "./peer-stats";

export interface P2PRuntimeOptions {
  peerId: string;
  edge: string;
  kind: PeerKind;
  maxPeers: number;
  uploadSlots: number;
  /** Bytes/s; 0 = unlimited. */
  maxUploadBytesPerSec: number;
  RTCPeerConnection: RTCPeerConnectionCtor;
  WebSocket: WebSocketCtor;
  /** The chunk store (reads may wait for it to open). */
  store: Pick<ChunkStoreLike, "has" | "held" | "get">;
  /** Whether the user allows uploading (opt-out, closed); `navigator.connection.saveData` is checked here. */
  seeding(): boolean;
  /** A fresh join (new token) for the content of `target`, when the old token expired. */
  rejoin(target: URL): Promise<JoinInfo>;
  /** Where link and upload events go (the SDK's event map, `swarm-events.ts`). */
  emit<K extends "peer-up" | "peer-down" | "upload">(type: K, detail: SwarmEventDetail<K>): void;
  /** The tally of content `root` (undefined before its first event), for the coordinator's `stats` report. */
  counters(root: string): ByteTally | undefined;
}

/**
 * @example
 * const rt = new P2PRuntime({ peerId, edge, kind: "browser", maxPeers: 8, uploadSlots: 4, maxUploadBytesPerSec: 0, RTCPeerConnection, WebSocket, store, seeding: () => true, rejoin, emit, counters });
 * const cs = rt.join(manifestResponse, contentUrl);
 * new Download({ manifest, peers: cs, edge });
 */
export class P2PRuntime {
  readonly limiter: UploadLimiter;
  readonly seeder: Seeder;
  readonly mesh: PeerMesh;
  private readonly swarms = new Map<string, ContentSwarm>();
  private readonly statsTimer: ReturnType<typeof setInterval>;
  /** Uploading allowed now: the user's choice and the browser's data-saver flag. */
  private readonly seeding: () => boolean;

  constructor(private readonly o: P2PRuntimeOptions) {
    const seeding = () => o.seeding() && !saveDataRequested();
    this.seeding = seeding;
    this.limiter = new UploadLimiter({ bytesPerSec: o.maxUploadBytesPerSec, slots: o.uploadSlots });
    this.seeder = new Seeder({
      store: { ...o.store, put: async () => false },
      limiter: this.limiter,
      enabled: seeding,
      onUploaded: (root, peerId, bytes) => o.emit("upload", { root, peerId, bytes }),
    });
    this.mesh = new PeerMesh({
      localId: o.peerId,
      RTCPeerConnection: o.RTCPeerConnection,
      maxPeers: o.maxPeers,
      signal: (root, to, data) => this.swarms.get(root)?.client?.signal(to, data) ?? false,
      onRequest: (peerId, f, link) => this.seeder.handle(peerId, f, link),
      onCancel: (peerId, reqId) => this.seeder.cancel(peerId, reqId),
      localHave: (root) => this.localHave(root),
      onChange: () => {
        for (const cs of this.swarms.values()) cs.changed();
      },
      onLinkClosed: (peerId, reason) => {
        this.seeder.dropPeer(peerId);
        o.emit("peer-down", { peerId, reason });
      },
      onLinkOpen: (peerId) => o.emit("peer-up", { peerId }),
    });
    this.statsTimer = setInterval(() => {
      for (const cs of this.swarms.values()) cs.reportStats();
    }, 5000);
  }

  /** Joins (once per root) the swarm of a manifest's content. */
  join(mr: ManifestResponse, target: URL): ContentSwarm {
    const root = mr.manifest.root;
    const existing = this.swarms.get(root);
    if (existing) return existing;
    if (mr.iceServers.length) this.mesh.iceServers = mr.iceServers as RTCIceServer[];
    const cs = new ContentSwarm({
      edge: this.o.edge,
      response: mr,
      mesh: this.mesh,
      kind: this.o.kind,
      maxPeers: this.o.maxPeers,
      WebSocket: this.o.WebSocket,
      held: () => this.o.store.held(root),
      uploadSlots: () => (this.seeding() ? this.limiter.slots : 0),
      rejoin: () => this.o.rejoin(target),
      counters: () => this.o.counters(root),
    });
    this.swarms.set(root, cs);
    return cs;
  }

  private localHave(root: string): { count: number; bits: Uint8Array } | undefined {
    const held = this.o.store.held(root);
    const count = this.swarms.get(root)?.manifest.chunks.length;
    if (!held.length || count === undefined) return undefined;
    return { count, bits: bitfieldBytes(held, count) };
  }

  /** Leaves every swarm (`bye`) and closes every link. */
  close(): void {
    clearInterval(this.statsTimer);
    for (const cs of this.swarms.values()) cs.close();
    this.swarms.clear();
    this.mesh.close();
  }
}
