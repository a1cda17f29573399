/**
 * The swarm coordinator: one Durable Object per content item (root) and region shard, named
 * `swarm:<root>:<shard>` — or `swarm:<root>:<shard>~<k>`, a spill-over sub-shard of a hot item
 * (`subshards.ts`; the object does not care which it is). Peers connect over hibernatable
 * WebSockets (the Worker verified their join token); the object tracks who holds which chunks,
 * ranks peers for `want`s, relays WebRTC signals, and keeps byte counters. Reads top-down: connect →
 * platform handlers → one `on…` method per frame type → membership helpers → alarm and RPC.
 *
 * Hibernation: per-socket state lives in attachments (`socket-state.ts`); chunk availability,
 * counters and identity in SQLite (`swarm-store.ts`); the in-memory member index
 * (`peer-directory.ts`) is a cache rebuilt from both. Keep-alive `ping` is answered by the runtime
 * (`setWebSocketAutoResponse`) without waking the object.
 *
 * Hot paths (docs/coordinator.md, "Costs"): a `want` touches no storage; attachments are read once
 * per instance and rewritten when a field that must survive eviction changes. The rate bucket and
 * `lastWantAt` (≤ {@link WANT_SAVE_MS} stale) may lag: eviction needs ≥ 10 s idle, when a bucket is
 * full anyway. `stats` frames are batched (`stats-buffer.ts`). The alarm's work is in
 * `swarm-maintenance.ts`, the `stats()` figures in `swarm-stats.ts`.
 */
import { DurableObject } from "cloudflare:workers";
import type { ClientMessage, ErrorCode, HaveMessage, HelloMessage, ServerMessage, SignalMessage, WantMessage } from "../protocol/swarm-protocol";
import { CLOSE, MAX_PEERS_PER_ANSWER, PING, PONG, PROTOCOL_VERSION, encodeMessage, parseClientMessage } from "../protocol/swarm-protocol";
import { ChunkBits, MAX_TRACKED_CHUNKS } from "./chunk-bits";
import { parseConnectRequest } from "./connect-request";
import { PeerDirectory, type LivePeer } from "./peer-directory";
import { peersFrame } from "./peers-frame";
import { rankPeers } from "./peer-ranking";
import { peerHaveTargets } from "./peer-have";
import { LeaveAudience } from "./leave-audience";
import { type SocketState, peerTag, readSocketState, writeSocketState } from "./socket-state";
import { type SwarmLimits, limitsFromEnv } from "./swarm-limits";
import { StatsBuffer } from "./stats-buffer";
import { SwarmStore } from "./swarm-store";
import { SwarmAlarm } from "./swarm-maintenance";
import { reportToSite } from "./site-stats-report";
import { type SwarmStats, heldUnion, summarize } from "./swarm-stats";
import { fullBucket, takeToken } from "./token-bucket";
import { closeQuietly, sendRaw } from "./ws-io";

/** `lastWantAt` is rewritten to the attachment when it is this much older than the last want. */
export const WANT_SAVE_MS = 5000;

export type { SwarmStats } from "./swarm-stats";

/**
 * Swarm coordinator Durable Object (class name `Swarm`, binding `SWARM`).
 * @example
 * const stub = env.SWARM.get(env.SWARM.idFromName(`swarm:${root}:EU`));
 * const res = await stub.fetch(buildConnectRequest({ peerId, root, shard: "EU", location }));
 * const stats = await stub.stats();
 */
export class Swarm extends DurableObject<Env> {
  /** Limits of this instance (from env; tests may override on a live instance). */
  limits: SwarmLimits;
  /** Injected clock and random source (tests and load spread). */
  now: () => number = () => Date.now();
  random: () => number = Math.random;
  readonly #store: SwarmStore;
  readonly #dir: PeerDirectory;
  /** Attachment cache: the attachment stays the truth, this saves a deserialisation per frame. */
  readonly #states = new WeakMap<WebSocket, SocketState>();
  /** root/shard (immutable once set), read from SQLite once per instance. */
  #meta: { root: string; shard: string } | null = null;
  /** Whether `meta` is known to hold "spilled" (written once, on the first spill-allowed refusal). */
  #spilled = false;
  /** Upper bound of accepted sockets (exact after a recount); null = not counted since the wake. */
  #socketBound: number | null = null;
  readonly #stats: StatsBuffer;
  /** Stats flushes and maintenance (`swarm-maintenance.ts`). */
  readonly #alarm: SwarmAlarm;
  /** Who was told about whom (last `leaveAudienceCap` per member), so `peer-left` goes only to those (`leave-audience.ts`; memory only). */
  readonly #audience = new LeaveAudience(() => this.limits.leaveAudienceCap);
  /** Reused per `want`: the members that made it into the answer. */
  readonly #included: LivePeer[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = limitsFromEnv(env);
    // SQLite calls are synchronous (no blockConcurrencyWhile needed). The store only reads here; its
    // first write creates the schema, so a `stats()` of an object nobody joined writes nothing.
    this.#store = new SwarmStore(ctx.storage.sql);
    this.#stats = new StatsBuffer(this.#store);
    this.#dir = new PeerDirectory(this.#store, () => this.ctx.getWebSockets(), (ws) => this.#state(ws), () => this.now());
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    this.#alarm = new SwarmAlarm({
      ctx, limits: () => this.limits, now: () => this.now(), flushStats: () => this.#stats.flush(),
      stateOf: (ws) => this.#state(ws), save: (ws, st) => this.#save(ws, st), closeQuietly,
      reconcile: (now) => {
        for (const peerId of this.#dir.reconcile()) this.#peerLeft(peerId);
        this.#store.rollUpStats(now - this.limits.statsRetentionMs, new Set(this.#dir.peers.keys()));
      },
    });
  }

  // ---- connect ----

  /** Accepts a WebSocket handed over by the Worker (see `connect-request.ts`). */
  override async fetch(request: Request): Promise<Response> {
    const info = parseConnectRequest(request);
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !info)
      return Response.json({ error: { code: "bad-request", message: "expected an internal swarm upgrade" } }, { status: 400 });
    if (this.#identity().root === "") {
      this.#store.setMeta("root", info.root);
      this.#store.setMeta("shard", info.shard);
      this.#meta = { root: info.root, shard: info.shard };
    }
    const tag = peerTag(info.peerId);
    // Limits are checked before acceptWebSocket: a rejected socket is accepted as a plain
    // (non-hibernatable) socket only to say why, so it never counts against the shard.
    // Listing every socket is O(peers): it is done only when the cheap upper bound (accepts since
    // the last exact count) reaches the limit.
    if (this.#socketBound === null || this.#socketBound >= this.limits.maxPeers) this.#socketBound = this.ctx.getWebSockets().length;
    const others = this.#socketBound >= this.limits.maxPeers ? this.#socketBound - this.ctx.getWebSockets(tag).length : this.#socketBound;
    if (others >= this.limits.maxPeers) {
      const message = `this swarm shard is full (${this.limits.maxPeers} peers)`;
      // Spill allowed: a plain 503, no socket at all; the Worker tries the next sub-shard.
      if (info.spill) {
        // Remembered once, so the Worker's stats sum knows a next sub-shard may exist.
        if (!this.#spilled && this.#store.getMeta("spilled") === undefined) this.#store.setMeta("spilled", "1");
        this.#spilled = true;
        return Response.json({ error: { code: "swarm-full", message } }, { status: 503 });
      }
      const { 0: client, 1: server } = new WebSocketPair();
      server.accept();
      server.send(encodeMessage({ type: "error", code: "swarm-full", message }));
      server.close(CLOSE.tryAgain, "swarm full");
      return new Response(null, { status: 101, webSocket: client });
    }
    const now = this.now();
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [tag]);
    this.#socketBound++;
    this.#save(server, {
      v: 1, peerId: info.peerId, location: info.location, connectedAt: now, joined: false, kind: "browser",
      uploadSlots: 0, bucket: fullBucket({ perSecond: this.limits.ratePerSecond, burst: this.limits.rateBurst }, now),
      limitedAt: 0, badFrames: 0, lastWantAt: 0, gone: false,
    });
    await this.#alarm.ensureArmed(now);
    return new Response(null, { status: 101, webSocket: client });
  }

  // ---- platform handlers: guard → delegate → catch → log; never throw ----

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      const state = this.#state(ws);
      if (!state) return closeQuietly(ws, CLOSE.policy, "unknown socket");
      if (state.gone) return;
      this.onMessage(ws, state, message);
    } catch (err) {
      console.error("Swarm:webSocketMessage", err);
      this.#send(ws, { type: "error", code: "internal", message: "internal error; frame dropped" });
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string, _wasClean?: boolean): Promise<void> {
    try {
      this.onClose(ws);
      // Echo the peer's close code (RFC 6455 §5.5.1), except codes that must not be sent on the wire
      // (1005/1006/1015, §7.4.1) or are outside the sendable ranges: answer those with 1000.
      const sendable = (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
      closeQuietly(ws, sendable ? code : CLOSE.normal, reason);
    } catch (err) {
      console.error("Swarm:webSocketClose", err);
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    try {
      console.warn("Swarm:webSocketError", error);
      this.onClose(ws);
    } catch (err) {
      console.error("Swarm:webSocketError", err);
    }
  }

  // ---- frames ----

  /**
   * One frame from a peer: rate limit → validate → dispatch. The bucket is updated in the cached state
   * only; it reaches the attachment with the next write (see the file comment for why that is safe).
   */
  onMessage(ws: WebSocket, state: SocketState, raw: string | ArrayBuffer): void {
    const now = this.now();
    const bucket = takeToken(state.bucket, { perSecond: this.limits.ratePerSecond, burst: this.limits.rateBurst }, now);
    state.bucket = bucket.state;
    if (!bucket.ok) {
      // Dropped. Tell the peer at most once a second (an error per dropped frame would amplify a
      // flood), and count each episode as one strike.
      if (now - state.limitedAt >= 1000) {
        state.limitedAt = now;
        this.#strike(ws, state, "rate-limited", `over ${this.limits.ratePerSecond} frames/s; frames dropped`);
      }
      return;
    }
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) return this.#strike(ws, state, parsed.code, parsed.message, parsed.ref);
    const msg: ClientMessage = parsed.value;
    if (!state.joined && msg.type !== "hello") return this.#strike(ws, state, "not-joined", "send hello first", msg.type);
    if (state.joined && msg.type === "hello") return this.#strike(ws, state, "already-joined", "hello was already accepted", "hello");
    switch (msg.type) {
      case "hello": return this.onHello(ws, state, msg);
      case "have": return this.onHave(ws, state, msg);
      case "want": return this.onWant(ws, state, msg);
      case "signal": return this.onSignal(ws, state, msg);
      case "stats":
        if (this.#stats.add(state.peerId, msg, now)) this.#alarm.armFlush(now + this.limits.statsFlushMs);
        return;
      case "bye": return this.onBye(ws, state);
    }
  }

  /**
   * Joins the swarm. Duplicate peer id policy: the NEWER connection wins — the older socket gets
   * `duplicate-peer` and close 1008 (a reloaded tab reconnects before the old socket times out).
   */
  onHello(ws: WebSocket, state: SocketState, msg: HelloMessage): void {
    if (msg.peerId !== state.peerId) {
      this.#send(ws, { type: "error", code: "peer-mismatch", message: "hello.peerId differs from the join token's peer id", ref: "hello" });
      state.gone = true;
      this.#save(ws, state);
      return closeQuietly(ws, CLOSE.policy, "peer id mismatch");
    }
    // Read before any attachment below changes: the directory may load now (first event after a
    // wake), and must see the old socket as a member and this one not yet.
    const replaced = this.#dir.peers.has(state.peerId);
    for (const other of this.ctx.getWebSockets(peerTag(state.peerId))) {
      if (other === ws) continue;
      const os = this.#state(other);
      if (os && !os.gone) {
        os.gone = true;
        this.#save(other, os);
      }
      this.#send(other, { type: "error", code: "duplicate-peer", message: "replaced by a newer connection of the same peer id" });
      closeQuietly(other, CLOSE.policy, "replaced");
    }
    const chunks = ChunkBits.fromBase64(msg.have);
    Object.assign(state, { joined: true, kind: msg.kind, uploadSlots: msg.uploadSlots } satisfies Partial<SocketState>);
    this.#save(ws, state);
    const peer: LivePeer = { peerId: state.peerId, kind: msg.kind, location: state.location, uploadSlots: msg.uploadSlots, lastWantAt: 0, chunks, ws };
    this.#audience.joined(state.peerId, replaced);
    this.#dir.join(peer, this.now());
    const { root, shard } = this.#identity();
    this.#send(ws, { type: "welcome", version: PROTOCOL_VERSION, peerId: state.peerId, root, shard, peers: this.#dir.peers.size });
    if (chunks.size > 0) this.#announce(peer, [...chunks]);
  }

  /** Incremental chunks (and optionally new free upload slots). */
  onHave(ws: WebSocket, state: SocketState, msg: HaveMessage): void {
    const peer = this.#dir.peers.get(state.peerId);
    if (!peer) return this.#strike(ws, state, "not-joined", "not a member of this swarm", "have");
    if (msg.chunks.some((i) => i >= MAX_TRACKED_CHUNKS))
      return this.#strike(ws, state, "bad-message", `have: chunk indices must be < ${MAX_TRACKED_CHUNKS}`, "have");
    if (msg.uploadSlots !== undefined && msg.uploadSlots !== state.uploadSlots) {
      peer.uploadSlots = state.uploadSlots = msg.uploadSlots;
      this.#save(ws, state);
    }
    const added = msg.chunks.filter((i) => peer.chunks.add(i));
    if (added.length > 0) this.#dir.saveChunks(peer);
    this.#announce(peer, added);
  }

  /**
   * Answers with ranked peers (`peers`), bounded in count and bytes. No storage access; the
   * attachment is rewritten only when its `lastWantAt` is {@link WANT_SAVE_MS} stale.
   */
  onWant(ws: WebSocket, state: SocketState, msg: WantMessage): void {
    const now = this.now();
    const me = this.#dir.peers.get(state.peerId);
    if (me) this.#dir.touchWant(me, now);
    if (now - state.lastWantAt >= WANT_SAVE_MS) {
      state.lastWantAt = now;
      this.#save(ws, state);
    }
    const max = Math.min(msg.max ?? MAX_PEERS_PER_ANSWER, MAX_PEERS_PER_ANSWER);
    // "Any chunk" in a big swarm: drawn from the requester's ASN/colo/country groups, same policy
    // (nearby-index.ts); null when only ranking every member answers exactly.
    const ranked = (msg.chunks === undefined ? this.#dir.nearby.sample(state.peerId, state.location, max, this.random) : null) ??
      rankPeers({ requester: { peerId: state.peerId, location: state.location }, candidates: this.#dir.list, wanted: msg.chunks ?? "all", max, random: this.random });
    const included = this.#included;
    included.length = 0;
    sendRaw(ws, peersFrame(ranked, this.limits.maxAnswerBytes, included));
    this.#audience.tellAll(state.peerId, included);
    included.length = 0;
  }

  /** Relays a signal to exactly the target peer's current socket, or answers `peer-gone`. */
  onSignal(ws: WebSocket, state: SocketState, msg: SignalMessage): void {
    if (msg.to === state.peerId) return this.#strike(ws, state, "bad-message", "signal: cannot signal yourself", "signal");
    const target = this.#dir.peers.get(msg.to)?.ws;
    if (!target || !this.#send(target, { type: "signal", from: state.peerId, data: msg.data }))
      return void this.#send(ws, { type: "error", code: "peer-gone", message: `peer ${msg.to} is not in this swarm`, ref: "signal" });
    // Both sides now know each other (the target may never have been told about the sender).
    this.#audience.tell(msg.to, state.peerId);
    this.#audience.tell(state.peerId, msg.to);
  }

  /** Leaves on purpose. */
  onBye(ws: WebSocket, state: SocketState): void {
    this.#leave(ws, state);
    closeQuietly(ws, CLOSE.normal, "bye");
  }

  /** The socket closed or errored: the peer leaves (unless it already left or was replaced). */
  onClose(ws: WebSocket): void {
    const state = this.#state(ws);
    if (state) this.#leave(ws, state);
  }

  // ---- membership ----

  #leave(ws: WebSocket, state: SocketState): void {
    if (state.gone) return;
    const wasMember = state.joined;
    // Load the member index first (a close may be the first event after a wake): a load after the
    // gone flag below is written would not see this member, and its peer-left would be lost.
    this.#dir.peers;
    state.gone = true;
    this.#states.set(ws, state);
    try {
      writeSocketState(ws, state);
    } catch {
      // A closed socket may refuse a new attachment; the peer is leaving anyway.
    }
    if (wasMember && this.#dir.leave(state.peerId)) this.#peerLeft(state.peerId);
  }

  /**
   * `peer-left` to the members that were told about the peer (`leave-audience.ts`), or to every
   * member when its audience is unknown (it joined before this instance woke).
   */
  #peerLeft(peerId: string): void {
    const to = this.#audience.leave(peerId);
    const frame = encodeMessage({ type: "peer-left", peerId });
    if (to === "all") {
      for (const p of this.#dir.peers.values()) if (p.peerId !== peerId) sendRaw(p.ws, frame);
      return;
    }
    for (const id of to) {
      const p = this.#dir.peers.get(id);
      if (p) sendRaw(p.ws, frame);
    }
  }

  /** `peer-have` to recent wanters that lack some of `chunks` (`peer-have.ts`). */
  #announce(peer: LivePeer, chunks: number[]): void {
    if (chunks.length === 0 || peer.uploadSlots === 0) return;
    const wanters = this.#dir.wantersSince(this.now() - this.limits.peerHaveWindowMs);
    for (const t of peerHaveTargets(wanters, peer, chunks, this.limits.peerHaveFanout, this.random)) {
      if (this.#send(t.peer.ws, { type: "peer-have", peerId: peer.peerId, chunks: t.lacking })) this.#audience.tell(t.peer.peerId, peer.peerId);
    }
  }

  /** A socket's state: the cached copy, else its attachment (read once per instance). */
  #state(ws: WebSocket): SocketState | null {
    let s = this.#states.get(ws);
    if (s === undefined) {
      const read = readSocketState(ws);
      if (!read) return null;
      this.#states.set(ws, (s = read));
    }
    return s;
  }

  /** Writes a socket's state through to its attachment (the copy that survives eviction). */
  #save(ws: WebSocket, state: SocketState): void {
    this.#states.set(ws, state);
    writeSocketState(ws, state);
  }

  #identity(): { root: string; shard: string } {
    return (this.#meta ??= { root: this.#store.getMeta("root") ?? "", shard: this.#store.getMeta("shard") ?? "" });
  }

  /** Counts a bad frame, answers with its error, and closes 1008 past the limit. */
  #strike(ws: WebSocket, state: SocketState, code: ErrorCode, message: string, ref?: string): void {
    state.badFrames++;
    this.#save(ws, state);
    this.#send(ws, ref === undefined ? { type: "error", code, message } : { type: "error", code, message, ref });
    if (state.badFrames >= this.limits.maxBadFrames) {
      this.#leave(ws, state);
      closeQuietly(ws, CLOSE.policy, "too many invalid frames");
    }
  }

  #send(ws: WebSocket, msg: ServerMessage): boolean {
    return sendRaw(ws, encodeMessage(msg));
  }

  // ---- alarm and RPC ----

  /** Flushes buffered stats; when due, prunes and reconciles (`swarm-maintenance.ts`). */
  override async alarm(): Promise<void> {
    try {
      await this.#alarm.run();
      // Site numbers (dashboard): this object's cumulative totals, at most once per 10 s.
      await reportToSite(this.env, { ...this.#identity(), bytes: this.#store.totals(), peersOnline: this.#dir.peers.size }, this.now());
      if (this.#alarm.lastSocketCount !== null) this.#socketBound = this.#alarm.lastSocketCount; // exact again
      this.#alarm.lastSocketCount = null;
    } catch (err) {
      console.error("Swarm:alarm", err);
    }
  }

  /** Figures of this object: members online, chunk availability, byte totals and offload ratio. */
  async stats(): Promise<SwarmStats> {
    this.#stats.flush();
    return summarize(this.#identity(), this.#dir.peers.values(), this.#store.totals());
  }

  /**
   * For the Worker's sum over sub-shards: `stats()`, the union of held chunks, and whether this
   * object ever sent a peer on to the next sub-shard (else no later sub-shard exists).
   */
  async summary(): Promise<{ stats: SwarmStats; held: Uint8Array; spilled: boolean }> {
    return { stats: await this.stats(), held: heldUnion(this.#dir.peers.values()), spilled: this.#store.getMeta("spilled") !== undefined };
  }
}
