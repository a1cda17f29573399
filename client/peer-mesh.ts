/**
 * The set of peer links of one SDK instance, shared by every content item: one link per remote
 * peer, whichever swarm introduced it. Routes frames (requests to the seeder, data to the pending
 * request it answers, `have` to the availability map), tracks which chunks each peer holds per
 * content, and keeps the ban list (a banned peer is disconnected and never linked again).
 */
import type { PeerKind, SignalData } from "../protocol/swarm-protocol";
import { PeerRequestError, type ChunkArrival, type ChunkWant, type PeerInfo, type PeerRequest } from "./chunk-sources";
import { bitGet } from "../protocol/chunk-bitfield";
import { holdsAll, PeerAvailability } from "./peer-availability";
import { encodeFrame, PEER_FRAMES_VERSION, type Frame } from "../protocol/peer-frames";
import { PeerLink, type RTCPeerConnectionCtor } from "./peer-link";
import { diagnoseLinks, LinkHistory, readPair, type LinkEndReason, type PeerDiagnosis, type TrackedLink } from "./peer-diagnostics";
import { linkRetry } from "./link-retry";
import { outgoingRequests, type OutgoingRequests } from "./outgoing-requests";

/** A link and what the mesh knows of it (`startedAt`, `openedAt`, `pair`: for diagnose()). */
interface Entry extends TrackedLink {
  link: PeerLink;
  /** Swarms (roots) through which we know this peer: signals go through the first one alive. */
  via: Set<string>;
  /** Our requests in flight on it. */
  pending: OutgoingRequests;
  /** Last frame sent or received for a request (ms, `now()`): idle links make room for new ones. */
  lastUsed: number;
  /** We offered (called `connect`): only the offering side retries a failed attempt. */
  offered: boolean;
  /** The peer-frame version its HELLO named (undefined until then): requests only at ours. */
  version?: number;
  /** A HELLO arrived on the current channel (reset when a channel opens). */
  heard?: boolean;
  /** Roots whose HAVE we sent on the current channel (reset when a channel opens): a HAVE from the remote is answered once per root. */
  told: Set<string>;
}

/**
 * A link unused this long (no request either way) may be closed, at the link limit, to reach a peer
 * the coordinator named as a holder of what we are downloading now. Short on purpose: peers fetch
 * item after item (links are reused across contents), and a page whose `maxPeers` links all look
 * busy skips new holders, whose chunks then come from the edge (docs/client.md). Setting a link up
 * again costs ~0.1–1 s; 2 s idle is well past a healthy link's gap between requests.
 */
const IDLE_MS = 2_000;

export interface PeerMeshOptions {
  localId: string;
  RTCPeerConnection: RTCPeerConnectionCtor;
  /** Most links; peers that connect to us may exceed it by a few, so seeders stay reachable. */
  maxPeers: number;
  /** Relays a signal through the swarm socket of `root`; false when that socket is down. */
  signal(root: string, to: string, data: SignalData): boolean;
  /** A peer asked us for a chunk. */
  onRequest(peerId: string, frame: Frame & { type: "request" }, link: PeerLink): void;
  onCancel(peerId: string, reqId: number, keep?: number): void;
  /**
   * Our bitfield of `root` to announce on a link, if we hold any of it. `count` is the chunk count a
   * remote's HAVE named: an item we hold but whose swarm we left can still be answered.
   */
  localHave(root: string, count?: number): { count: number; bits: Uint8Array } | undefined;
  /** Peers or their chunks changed. */
  onChange(): void;
  onLinkClosed?(peerId: string, reason: string): void;
  /** A link's data channel opened. */
  onLinkOpen?(peerId: string): void;
  /** Give up on a link whose channel has not opened after this long, ms (PeerLink's default: 15 s). */
  connectTimeoutMs?: number;
  /** Clock for idle-link eviction and diagnostics' timestamps (wall-clock ms); default `Date.now`. */
  now?(): number;
}

/**
 * @example
 * const mesh = new PeerMesh({ localId, RTCPeerConnection, maxPeers: 8, signal, onRequest, onCancel, localHave, onChange });
 * mesh.connect("peer-b", root);
 * const { done } = mesh.request("peer-b", root, 0, 262144);
 */
export class PeerMesh {
  /** ICE servers for new links (from the latest manifest response). */
  iceServers: RTCIceServer[] = [];
  readonly banned = new Set<string>();
  private readonly entries = new Map<string, Entry>();
  /** What each link holds, per root, and the roots we download now. */
  private readonly avail = new PeerAvailability();
  /** Links we offered that failed before opening, tried once more (a waiting retry counts as connecting). */
  private readonly retries = linkRetry((peerId, via) => this.retry(peerId, via));
  private seq = 0;
  private closed = false;
  /** Ended and refused links, for {@link diagnose}. */
  private readonly history = new LinkHistory();

  constructor(private readonly o: PeerMeshOptions) {}

  /** Number of links (open or connecting). */
  get size(): number {
    return this.entries.size;
  }

  /** Ids of open links. */
  openPeers(): string[] {
    return [...this.entries.values()].filter((e) => e.link.state === "open").map((e) => e.link.remoteId);
  }

  isLinked(peerId: string): boolean {
    return this.entries.has(peerId);
  }

  /**
   * Links to `peerId` as the offering side, unless banned, linked already, or at the limit — where
   * an idle link makes room unless `ahead` (a link made ahead of need, for a later download: it
   * only takes a free slot, never one a link in use might need).
   */
  connect(peerId: string, root: string, ahead = false): void {
    const e = this.entries.get(peerId);
    if (e) {
      e.via.add(root);
      return;
    }
    if (this.closed || peerId === this.o.localId) return;
    if (this.banned.has(peerId)) return this.refused(peerId, root, "banned");
    if (this.retries.declinedRecently(peerId, this.now())) return;
    if (this.entries.size >= this.o.maxPeers && (ahead || !this.evictIdle())) return this.refused(peerId, root, "link-limit");
    const entry = this.link(peerId, root);
    entry.offered = true;
    entry.link.connect();
  }

  /** A retry's turn (`link-retry.ts`): offers again unless linked meanwhile, banned or closed. */
  private retry(peerId: string, via: ReadonlySet<string>): void {
    const [first, ...rest] = via;
    if (this.closed || first === undefined || this.entries.has(peerId) || this.banned.has(peerId)) return;
    this.connect(peerId, first);
    const e = this.entries.get(peerId);
    if (!e) return this.o.onChange(); // refused at the link limit: no longer connecting
    for (const r of rest) e.via.add(r);
  }

  /**
   * At the link limit, closes the open link idle longest (no request in flight either way for
   * {@link IDLE_MS}), so peers of a new content can be reached after an old one is done with.
   */
  private evictIdle(): boolean {
    const now = this.now();
    let victim: Entry | undefined;
    for (const e of this.entries.values()) {
      if (e.link.state !== "open" || e.pending.size || now - e.lastUsed < IDLE_MS) continue;
      if (!victim || e.lastUsed < victim.lastUsed) victim = e;
    }
    victim?.link.close("idle");
    return !!victim;
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  /** A signal relayed from `from` through the swarm of `root`. */
  handleSignal(root: string, from: string, data: SignalData): void {
    if (this.closed || this.banned.has(from)) return;
    let e = this.entries.get(from);
    if (!e) {
      // Only an offer may open a new link; stray candidates/answers of a dead link are dropped.
      if (data.description?.type !== "offer") return;
      // At the limit, a link idle for a while makes room for a peer that wants our chunks now;
      // with none, the offer is declined in so many words, so the offerer's slot is not held for
      // its connect timeout (and its download does not wait for a link that cannot come).
      if (this.entries.size >= this.o.maxPeers + 4 && !this.evictIdle()) {
        this.refused(from, root, "link-limit", "remote");
        this.o.signal(root, from, { refused: "link-limit" });
        return;
      }
      e = this.link(from, root);
    }
    if (data.refused !== undefined) {
      // Our offer, declined: the slot is free now; the peer is not offered again for a while.
      if (!e.offered || e.link.state !== "connecting") return;
      this.retries.declined(from, this.now());
      e.link.facts.signalError = data.refused;
      e.link.close("signal-refused");
      return;
    }
    e.via.add(root);
    e.link.handleSignal(data);
  }

  private link(peerId: string, root: string): Entry {
    const entry: Entry = {
      via: new Set([root]), lastUsed: this.now(), startedAt: this.now(), offered: false, link: undefined as unknown as PeerLink, told: new Set(),
      pending: outgoingRequests((frame) => entry.link.sendNow(frame)),
    };
    entry.link = new PeerLink({
      localId: this.o.localId,
      remoteId: peerId,
      RTCPeerConnection: this.o.RTCPeerConnection,
      iceServers: this.iceServers,
      ...(this.o.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.o.connectTimeoutMs } : {}),
      signal: (data) => {
        for (const r of entry.via) if (this.o.signal(r, peerId, data)) return;
        entry.link.facts.signalError = "unsent";
      },
      onOpen: () => {
        // Again on a replacement channel (the remote started over): HELLO and HAVE again, for
        // the remote's new connection; the open is reported once.
        const first = entry.openedAt === undefined;
        entry.openedAt = this.now();
        entry.heard = false;
        entry.told.clear();
        void readPair(entry);
        this.introduce(entry);
        if (first) this.o.onLinkOpen?.(peerId);
        this.o.onChange();
      },
      onFrame: (f) => this.onFrame(entry, f),
      onClose: (reason) => {
        if (this.entries.get(peerId) === entry) this.entries.delete(peerId);
        // A malformed frame is a protocol violation: treated like bad bytes (never linked again).
        if (reason === "protocol") this.banned.add(peerId);
        entry.pending.failAll(`link closed: ${reason}`);
        this.avail.drop(peerId);
        this.history.ended(entry, reason, this.now());
        if (entry.offered && entry.openedAt === undefined && !this.closed && !this.banned.has(peerId)) this.retries.failed(peerId, entry.via, reason);
        this.o.onLinkClosed?.(peerId, reason);
        this.o.onChange();
      },
    });
    this.entries.set(peerId, entry);
    return entry;
  }

  /**
   * HELLO first (the remote asks us for chunks only once it knows we speak its version), then our
   * HAVEs: of the roots we know the peer through, and of the roots we download now — an empty one
   * when we hold none of it, which asks the remote's (answered in {@link onFrame}).
   */
  private introduce(e: Entry): void {
    e.link.sendNow(encodeFrame({ type: "hello", version: PEER_FRAMES_VERSION }));
    for (const r of e.via) this.tell(e, r, false);
    for (const [r, w] of this.avail.wanted()) if (!e.told.has(r)) this.tell(e, r, true, w.count);
  }

  /** Sends our HAVE of `root` on `e` (all-zero when `ask` and we hold none of it); false when nothing went. */
  private tell(e: Entry, root: string, ask: boolean, count?: number): boolean {
    const h = this.o.localHave(root, count);
    if (!h && !(ask && count)) return false;
    e.told.add(root);
    e.link.sendNow(encodeFrame({ type: "have", root, count: h?.count ?? count!, bits: h?.bits ?? new Uint8Array(Math.ceil(count! / 8)) }));
    return true;
  }

  /**
   * A download of `root` (`count` chunks) starts: every open link is asked at once whether it holds
   * any of it (our HAVE, answered by theirs), and links opening meanwhile are asked on open. A linked
   * peer holding the item is then usable one data-channel round trip after the manifest, instead of
   * after this item's coordinator socket, `want` and `peers` answer (~4 edge round trips). What the
   * peer says is only availability: its bytes are verified against the manifest like any peer's.
   * Returns the end of the interest (the download ended).
   */
  interest(root: string, count: number): () => void {
    const end = this.avail.want(root, count);
    for (const e of this.entries.values()) {
      if (e.link.state !== "open" || e.told.has(root) || this.avail.get(root, e.link.remoteId)) continue;
      if (this.tell(e, root, true, count)) e.via.add(root);
    }
    return end;
  }

  private onFrame(e: Entry, f: Frame): void {
    const peerId = e.link.remoteId;
    if (f.type !== "have" && f.type !== "hello") e.lastUsed = this.now();
    switch (f.type) {
      case "hello":
        e.version = f.version;
        e.helloAt ??= this.now();
        // The remote's first HELLO on a channel it created proves its channel open: our
        // introduction at our own (earlier) open may have been dropped (PeerLink.announced), so it
        // goes again — once per channel; HELLO and HAVE are idempotent.
        if (!e.heard) {
          e.heard = true;
          if (e.link.announced) this.introduce(e);
        }
        // Another version: no chunk is exchanged (typed close, not a ban; a later version may link again).
        if (f.version !== PEER_FRAMES_VERSION) return e.link.close("version");
        return this.o.onChange();
      case "outdated":
        // A version-1 peer asking for a chunk: the refusal it understands, not frames it cannot parse.
        e.link.sendNow(encodeFrame({ type: "error", reqId: f.reqId, code: "bad-request" }));
        return;
      case "request":
        return this.o.onRequest(peerId, f, e.link);
      case "cancel":
        return this.o.onCancel(peerId, f.reqId, f.keep);
      case "have": {
        // Asked (or told) about a root we hold: our HAVE, once per channel — a remote's repeated
        // HAVEs cost us at most one frame per root we hold.
        const ours = e.told.has(f.root) || this.tell(e, f.root, false, f.count);
        // An all-zero HAVE (a question) about a root we neither hold nor track is not kept:
        // per-root state stays bounded by what we download or hold.
        if (!ours && !this.avail.tracks(f.root) && !f.bits.some((b) => b !== 0)) return;
        e.via.add(f.root);
        this.setHave(f.root, peerId, f.bits);
        return;
      }
      case "data":
      case "busy":
      case "error":
        return e.pending.answer(f);
    }
  }

  /** Replaces what `peerId` holds of `root` (bitfield bytes, BEP 3 order). */
  setHave(root: string, peerId: string, bits: Uint8Array): void {
    this.avail.set(root, peerId, bits);
    this.o.onChange();
  }

  /** Adds chunks `peerId` completed. */
  addHave(root: string, peerId: string, chunks: readonly number[], count: number): void {
    this.avail.add(root, peerId, chunks, count);
    this.o.onChange();
  }

  /**
   * Open, unbanned peers that hold something of `root`, in `rank` order first, each with the kind
   * `kindOf` reports (the coordinator's word; links themselves do not say what the other end is).
   */
  peersFor(root: string, rank: readonly string[] = [], kindOf?: (peerId: string) => PeerKind | undefined): PeerInfo[] {
    const ids = [...new Set([...rank, ...this.avail.peers(root)])];
    const out: PeerInfo[] = [];
    for (const id of ids) {
      const bits = this.avail.get(root, id);
      const e = this.entries.get(id);
      if (!bits || e?.link.state !== "open" || e.version !== PEER_FRAMES_VERSION || this.banned.has(id)) continue;
      const kind = kindOf?.(id);
      out.push(kind ? { id, has: (i) => bitGet(bits, i), kind } : { id, has: (i) => bitGet(bits, i) });
    }
    return out;
  }

  /** True while a link introduced by the swarm of `root` is still connecting (or about to retry, or its HELLO is due). */
  connecting(root: string): boolean {
    for (const e of this.entries.values()) {
      if ((e.link.state === "connecting" || (e.link.state === "open" && e.version === undefined)) && e.via.has(root)) return true;
    }
    return this.retries.waitingVia(root);
  }

  /**
   * Asks `peerId` for chunks of `root` (strictly increasing, ≤ `MAX_REQUEST_CHUNKS`) in one
   * request; `onChunk` gets each whole chunk (unverified) as it completes, in that order.
   */
  request(peerId: string, root: string, chunks: readonly ChunkWant[], onChunk: ChunkArrival): PeerRequest {
    const e = this.entries.get(peerId);
    if (!e || e.link.state !== "open") return { done: Promise.reject(new PeerRequestError("gone")), cancel() {}, trim() {} };
    e.lastUsed = this.now();
    return e.pending.request((this.seq = (this.seq + 1) >>> 0), root, chunks, onChunk);
  }

  /**
   * Sends our bitfield of `root` to every open link that knows us through it, except peers that
   * hold all of `root` already: they will never ask us for it, and a send on a link that is busy
   * receiving is not free (with node-datachannel it waits for the SCTP stack's lock).
   */
  announce(root: string, count: number, bits: Uint8Array): void {
    const frame = encodeFrame({ type: "have", root, count, bits });
    for (const e of this.entries.values()) {
      if (!e.via.has(root) || e.link.state !== "open") continue;
      const theirs = this.avail.get(root, e.link.remoteId);
      if (theirs && holdsAll(theirs, count)) continue;
      e.told.add(root);
      e.link.sendNow(frame);
    }
  }

  /**
   * Forgets content `root` (its swarm dropped it: a live window moved on), so per-root state stays
   * bounded over a long session. Links stay; each keeps at least one root to signal through.
   */
  forget(root: string): void {
    this.avail.forget(root);
    for (const e of this.entries.values()) if (e.via.size > 1) e.via.delete(root);
  }

  /** Disconnects a peer and refuses it from now on. */
  ban(peerId: string): void {
    this.banned.add(peerId);
    this.entries.get(peerId)?.link.close("banned");
  }

  /** A peer left the swarm of `root`: drop its links that never opened. */
  peerLeft(root: string, peerId: string): void {
    this.avail.drop(peerId, root);
    const e = this.entries.get(peerId);
    if (e && e.link.state === "connecting") e.link.close("peer-left");
    this.retries.peerLeft(root, peerId);
    this.o.onChange();
  }

  /**
   * The coordinator of `root` refused to relay a signal (`error` frame with `ref: "signal"`; its
   * message names the target). A connecting link to a peer that is gone (it left between the
   * `peers` answer and our offer) closes now as `signal-refused` instead of holding a link slot
   * until its timeout; `target-busy` is transient: noted, and named if the link then times out.
   */
  signalRefused(root: string, code: string, message: string): void {
    for (const e of [...this.entries.values()]) {
      if (e.link.state !== "connecting" || !e.via.has(root) || !message.includes(e.link.remoteId)) continue;
      e.link.facts.signalError = code;
      if (code === "peer-gone") e.link.close("signal-refused");
    }
  }

  /** Every current link (its candidate pair read now), then the most recent ended ones. */
  diagnose(): Promise<{ iceServers: string[]; peers: PeerDiagnosis[] }> {
    return diagnoseLinks([...this.entries.values()], this.history, this.iceServers);
  }

  /** A link not even tried: recorded for {@link diagnose} (repeats of one peer and reason fold). */
  private refused(peerId: string, root: string, reason: LinkEndReason, offeredBy: "local" | "remote" = "local"): void {
    this.history.refused(peerId, root, reason, offeredBy, this.now());
  }

  /** Closes every link. */
  close(): void {
    this.closed = true;
    this.retries.close();
    for (const e of [...this.entries.values()]) e.link.close("local");
  }
}
