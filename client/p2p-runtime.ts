/**
 * The peer side of one SDK instance: the shared {@link PeerMesh} of WebRTC links, the
 * {@link Seeder} with its {@link UploadLimiter}, one {@link ContentSwarm} per content root, and the
 * coordinator sockets they share — one per swarm (a collection's, or an item's own:
 * `collection-socket.ts`), at most `maxSockets` open: joining a new swarm past that leaves the least
 * recently used one (`bye`), idle first, so a page of 100 images or an hour of video segments holds
 * a handful of sockets, not one per item.
 * `swarm.ts` loads this module with a dynamic `import()`, so a split build can ship it as a second
 * script fetched while the first manifest loads (the edge-only core stays small); in the single-file
 * build esbuild inlines it and nothing changes.
 */
import type { ManifestResponse } from "../protocol/manifest";
import type { PeerKind } from "../protocol/swarm-protocol";
import type { ChunkStoreLike } from "./chunk-store";
import { ContentSwarm } from "./content-swarm";
import { CollectionSocket } from "./collection-socket";
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
  /** Most coordinator sockets open at once (default {@link DEFAULT_MAX_SOCKETS}). */
  maxSockets?: number;
  uploadSlots: number;
  /** Bytes/s; 0 = unlimited. */
  maxUploadBytesPerSec: number;
  RTCPeerConnection: RTCPeerConnectionCtor;
  WebSocket: WebSocketCtor;
  /** The chunk store (reads may wait for it to open). */
  store: Pick<ChunkStoreLike, "has" | "held" | "get" | "view">;
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
/** Default bound of coordinator sockets per SDK instance. */
export const DEFAULT_MAX_SOCKETS = 4;

export class P2PRuntime {
  readonly limiter: UploadLimiter;
  readonly seeder: Seeder;
  readonly mesh: PeerMesh;
  /** Item root → its swarm membership (only items on an open socket, or all without WebSocket). */
  private readonly swarms = new Map<string, ContentSwarm>();
  /** Swarm id → socket, least recently used first. */
  private readonly sockets = new Map<string, CollectionSocket>();
  /** Item root → swarm id, for items on a socket. */
  private readonly socketOf = new Map<string, string>();
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
      signal: (root, to, data) => this.swarms.get(root)?.channel?.signal(to, data) ?? false,
      onRequest: (peerId, f, link) => this.seeder.handle(peerId, f, link),
      onCancel: (peerId, reqId, keep) => this.seeder.cancel(peerId, reqId, keep),
      localHave: (root, count) => this.localHave(root, count),
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
      for (const s of this.sockets.values()) s.reportStats();
    }, 5000);
  }

  /** Coordinator sockets open now. */
  get socketCount(): number {
    return this.sockets.size;
  }

  /** Items tracked now (bounded: at most 32 per open socket). */
  get itemCount(): number {
    return this.swarms.size;
  }

  /** Joins (once per root) the swarm of a manifest's content, on its swarm's shared socket. */
  join(mr: ManifestResponse, target: URL): ContentSwarm {
    const root = mr.manifest.root;
    const existing = this.swarms.get(root);
    if (existing) {
      this.sockets.get(this.socketOf.get(root) ?? "")?.touch(root);
      return existing;
    }
    if (mr.iceServers.length) this.mesh.iceServers = mr.iceServers as RTCIceServer[];
    const socket = this.socketFor(mr, target);
    const cs = new ContentSwarm({ response: mr, mesh: this.mesh, channel: socket?.channel(root), held: () => this.o.store.held(root) });
    this.swarms.set(root, cs);
    if (socket) {
      this.socketOf.set(root, socket.swarm);
      socket.add(cs);
    }
    return cs;
  }

  /** The open socket of the item's swarm, or a new one (leaving the least recently used past the bound). */
  private socketFor(mr: ManifestResponse, target: URL): CollectionSocket | undefined {
    if (!this.o.WebSocket) return undefined;
    const id = mr.join.swarm ?? mr.manifest.root;
    let s = this.sockets.get(id);
    if (s) {
      this.sockets.delete(id); // re-inserted: most recently used last
      this.sockets.set(id, s);
      return s;
    }
    const max = Math.max(1, this.o.maxSockets ?? DEFAULT_MAX_SOCKETS);
    while (this.sockets.size >= max) {
      const all = [...this.sockets.values()];
      this.leave(all.find((x) => !x.busy) ?? all[0]!);
    }
    s = new CollectionSocket({
      edge: this.o.edge, swarm: id, join: mr.join, rejoin: () => this.o.rejoin(target), kind: this.o.kind, maxPeers: this.o.maxPeers,
      WebSocket: this.o.WebSocket, uploadSlots: () => (this.seeding() ? this.limiter.slots : 0),
      held: (root) => this.o.store.held(root), counters: (root) => this.o.counters(root),
      onItemDropped: (root) => this.forget(root), iceServers: () => this.mesh.iceServers.length > 0,
    });
    this.sockets.set(id, s);
    return s;
  }

  /** Leaves a swarm (`bye`): its items stop being announced (their bytes stay in the store). */
  private leave(s: CollectionSocket): void {
    this.sockets.delete(s.swarm);
    s.close();
  }

  /** An item left its socket: its per-item state goes (links stay: they serve other items). */
  private forget(root: string): void {
    this.swarms.delete(root);
    this.socketOf.delete(root);
    this.mesh.forget(root);
  }

  /** `hint`: the chunk count a remote's HAVE named, for an item held but no longer tracked (its swarm left). */
  private localHave(root: string, hint?: number): { count: number; bits: Uint8Array } | undefined {
    const held = this.o.store.held(root);
    const count = this.swarms.get(root)?.manifest.chunks.length ?? hint;
    if (!held.length || count === undefined) return undefined;
    return { count, bits: bitfieldBytes(held, count) };
  }

  /** Leaves every swarm (`bye`) and closes every link. */
  close(): void {
    clearInterval(this.statsTimer);
    for (const s of [...this.sockets.values()]) this.leave(s);
    for (const cs of this.swarms.values()) cs.close();
    this.swarms.clear();
    this.mesh.close();
  }
}
