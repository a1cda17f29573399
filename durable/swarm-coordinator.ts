/**
 * The swarm coordinator: one Durable Object per swarm (content item root or collection id) and
 * region shard, named `swarm:<id>:<shard>` or `swarm:<id>:<shard>~<k>` (a spill-over sub-shard,
 * `subshards.ts`). Peers connect over hibernatable WebSockets (the Worker verified their join
 * token). This class is the dispatcher: connect (admission) → one `on…` method per frame type →
 * membership → alarm and RPC. The work lives in one module per concept: admission
 * (`connect-admission.ts`), member index (`peer-directory.ts`), the `want` answer and its ranking
 * (`want-answer.ts`, `peer-ranking.ts`, `nearby-index.ts`, `wanted-sampler.ts`), waits
 * and pushes (`chunk-waiters.ts`, `member-news.ts`), signalling (`signal-relay.ts`), rate limits and
 * strikes (`frame-discipline.ts`), collection items (`collection-handlers.ts`), the socket layer
 * (`socket-server.ts`), the alarm (`swarm-maintenance.ts`) and figures (`swarm-stats.ts`).
 *
 * Hibernation: per-socket state lives in attachments (`socket-state.ts`); chunk availability,
 * counters and identity in SQLite (`swarm-store.ts`); in-memory indexes are caches rebuilt from
 * both. Keep-alive `ping` is answered by the runtime (`setWebSocketAutoResponse`).
 *
 * Hot paths (docs/coordinator.md, "Costs"): a `want` touches no storage; attachments are read once
 * per instance and rewritten when a field that must survive eviction changes. The rate bucket may
 * lag: eviction needs ≥ 10 s idle, when a bucket is full anyway. Of `lastWantAt` only "has wanted"
 * must survive (`peer-have` targets); the exact time lives in memory. `stats` frames are batched
 * (`stats-buffer.ts`).
 */
import type { ClientMessage, ErrorCode, HaveMessage, HelloMessage, ServerMessage, SignalMessage, WantMessage } from "../protocol/swarm-protocol";
import { CLOSE, MAX_PEERS_PER_ANSWER, PING, PONG, PROTOCOL_VERSION, encodeMessage, parseClientMessage } from "../protocol/swarm-protocol";
import { ChunkBits, MAX_TRACKED_CHUNKS } from "./chunk-bits";
import { parseConnectRequest } from "./connect-request";
import { SpillBudget } from "./spill-budget";
import { PeerDirectory, type LivePeer } from "./peer-directory";
import { ChunkWaiters } from "./chunk-waiters";
import { WantAnswers } from "./want-answer";
import { LeaveAudience } from "./leave-audience";
import { type SocketState, newSocketState, peerTag, readSocketState } from "./socket-state";
import { SocketServer } from "./socket-server";
import { type SwarmLimits, limitsFromEnv } from "./swarm-limits";
import { StatsBuffer } from "./stats-buffer";
import { SwarmStore } from "./swarm-store";
import { SwarmAlarm } from "./swarm-maintenance";
import { reportToSite } from "./site-stats-report";
import { type SwarmStats, heldUnion, summarize } from "./swarm-stats";
import { takeToken } from "./token-bucket";
import { ConnectAdmission } from "./connect-admission";
import { clampCounters } from "./stats-buffer";
import { closeQuietly, sendRaw } from "./ws-io";
import { CollectionItems } from "./collection-items";
import { CollectionHandlers } from "./collection-handlers";
import { MemberNews } from "./member-news";
import { FrameDiscipline } from "./frame-discipline";
import { SignalRelay } from "./signal-relay";

export type { SwarmStats } from "./swarm-stats";

/**
 * Swarm coordinator Durable Object (class name `SwarmCoordinator`, binding `SWARM`; the SDK's class
 * is `Swarm`, a different thing).
 * @example
 * const stub = env.SWARM.get(env.SWARM.idFromName(`swarm:${root}:EU`));
 * const res = await stub.fetch(buildConnectRequest({ peerId, root, shard: "EU", location }));
 * const stats = await stub.stats();
 */
export class SwarmCoordinator extends SocketServer<SocketState> {
  protected readonly logName = "SwarmCoordinator";
  /** Limits of this instance (from env; tests may override on a live instance). */
  limits: SwarmLimits;
  /** Injected clock and random source (tests and load spread). */
  now: () => number = () => Date.now();
  random: () => number = Math.random;
  readonly #store: SwarmStore;
  readonly #dir: PeerDirectory;
  /** Items of a collection swarm: who holds which chunks of which item (`collection-items.ts`). */
  readonly #items: CollectionItems;
  /** root/shard (immutable once set), read from SQLite once per instance. */
  #meta: { root: string; shard: string } | null = null;
  /** Whether `meta` is known to hold "spilled" (written once, on the first spill-allowed refusal). */
  #spilled = false;
  readonly #stats: StatsBuffer;
  /** Stats flushes and maintenance (`swarm-maintenance.ts`). */
  readonly #alarm: SwarmAlarm;
  /** Who was told about whom (last `leaveAudienceCap` per member), so `peer-left` goes only to those (`leave-audience.ts`; memory only). */
  readonly #audience = new LeaveAudience(() => this.limits.leaveAudienceCap);
  /** Who waits for news of chunks nobody could serve (`chunk-waiters.ts`; memory only). */
  readonly #waiters = new ChunkWaiters();
  /** `have {item}` / `want {item}` of a collection swarm (`collection-handlers.ts`). */
  readonly #itemFrames: CollectionHandlers;
  /** WebRTC signal relay with per-target budgets (`signal-relay.ts`). */
  readonly #relay: SignalRelay;
  /** Rate charges and strikes (`frame-discipline.ts`). */
  readonly #discipline: FrameDiscipline;
  /** `peer-have` and `peer-left` pushes (`member-news.ts`). */
  readonly #news: MemberNews;
  /** Answers to item-scope `want`s (`want-answer.ts`). */
  readonly #wants: WantAnswers;
  /** Requests per second and recent joins, for spill-over when busy (`spill-budget.ts`; memory only; tests may replace it). */
  spillBudget = new SpillBudget();
  /** Connect rate per peer id, busy and full refusals (`connect-admission.ts`). */
  readonly #admission = new ConnectAdmission({ limits: () => this.limits, spillBudget: () => this.spillBudget, markSpilled: () => this.#markSpilled() });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = limitsFromEnv(env);
    // SQLite calls are synchronous (no blockConcurrencyWhile needed). The store only reads here; its
    // first write creates the schema, so a `stats()` of an object nobody joined writes nothing.
    this.#store = new SwarmStore(ctx.storage.sql);
    this.#stats = new StatsBuffer(this.#store);
    this.#dir = new PeerDirectory(this.#store, () => this.ctx.getWebSockets(), (ws) => this.stateOf(ws), () => this.now());
    this.#items = new CollectionItems(ctx.storage.sql, () => this.#dir.peers);
    const host = {
      items: this.#items, dir: this.#dir, audience: this.#audience, waiters: this.#waiters,
      limits: () => this.limits, now: () => this.now(), random: () => this.random(),
      strike: (ws: WebSocket, st: SocketState, code: ErrorCode, message: string, ref?: string) => this.#discipline.strike(ws, st, code, message, ref),
      leave: (ws: WebSocket, st: SocketState) => this.#leave(ws, st),
      send: (ws: WebSocket, msg: ServerMessage) => this.#send(ws, msg), save: (ws: WebSocket, st: SocketState) => this.save(ws, st),
      armFlush: (at: number) => this.#alarm.armFlush(at),
      changeSlots: (ws: WebSocket, st: SocketState, peer: LivePeer, slots: number) => this.#changeSlots(ws, st, peer, slots),
    };
    this.#discipline = new FrameDiscipline(host);
    this.#itemFrames = new CollectionHandlers(host);
    this.#relay = new SignalRelay(host);
    this.#news = new MemberNews(host);
    this.#wants = new WantAnswers(host);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    this.#alarm = new SwarmAlarm({
      ctx, limits: () => this.limits, now: () => this.now(), flushStats: () => this.#flush(),
      stateOf: (ws) => this.stateOf(ws), save: (ws, st) => this.save(ws, st), closeQuietly,
      reconcile: (now) => {
        for (const peerId of this.#dir.reconcile()) this.#news.peerLeft(peerId);
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
    const now = this.now();
    // The peer's own live sockets: its member socket (a same-id reconnect replaces it on hello) and
    // at most one pending one (closed below: one pending socket per peer id).
    let own: WebSocket[] = [];
    // Limits are checked before acceptWebSocket: a rejected socket is accepted as a plain
    // (non-hibernatable) socket only to say why, so it never counts against the shard.
    const admitted = this.#admission.admit(info, now, () => {
      own = this.liveSockets(tag);
      return { own: own.length, live: this.socketsAgainst(this.limits.maxPeers) };
    });
    if (!admitted.ok) return "response" in admitted ? admitted.response : this.refuseOverSocket(admitted.frame, CLOSE.tryAgain, "swarm full");
    for (const other of own) if (!this.stateOf(other)!.joined) this.#retire(other); // a member is replaced by this socket's hello, if it says one
    const { 0: client, 1: server } = new WebSocketPair();
    this.accept(server, [tag], newSocketState(info, now, this.limits));
    // A socket that never says hello is closed at its deadline (the alarm), not at the next maintenance.
    await this.#alarm.armHello(now + this.limits.helloTimeoutMs);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** An older socket of the same peer id: marked gone, told `duplicate-peer`, closed 1008. */
  #retire(other: WebSocket): void {
    const os = this.stateOf(other);
    if (os && !os.gone) {
      os.gone = true;
      this.save(other, os);
    }
    this.#send(other, { type: "error", code: "duplicate-peer", message: "replaced by a newer connection of the same peer id" });
    closeQuietly(other, CLOSE.policy, "replaced");
  }

  /** Remembered once, so the Worker's stats sum knows a next sub-shard may exist. */
  #markSpilled(): void {
    if (!this.#spilled && this.#store.getMeta("spilled") === undefined) this.#store.setMeta("spilled", "1");
    this.#spilled = true;
  }

  // ---- the socket layer's hooks ----

  protected readState(ws: WebSocket): SocketState | null {
    return readSocketState(ws);
  }

  protected onFrame(ws: WebSocket, state: SocketState, raw: string | ArrayBuffer): void {
    this.spillBudget.request(this.now());
    this.onMessage(ws, state, raw);
  }

  protected onSocketClose(ws: WebSocket, state: SocketState | null): void {
    if (state) this.#leave(ws, state);
  }

  protected onFrameError(ws: WebSocket): void {
    this.#send(ws, { type: "error", code: "internal", message: "internal error; frame dropped" });
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
    if (!bucket.ok) return this.#discipline.rateLimited(ws, state, now);
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) return this.#discipline.strike(ws, state, parsed.code, parsed.message, parsed.ref);
    const msg: ClientMessage = parsed.value;
    // Frames whose work grows with the indices they name pay for it: 1 + ⌊n / indicesPerToken⌋ tokens.
    const indices = msg.type === "want" || msg.type === "have" ? msg.chunks?.length ?? 0 : 0;
    if (indices >= this.limits.indicesPerToken && !this.#discipline.charge(ws, state, Math.floor(indices / this.limits.indicesPerToken), now)) return;
    if (!state.joined && msg.type !== "hello") return this.#discipline.strike(ws, state, "not-joined", "send hello first", msg.type);
    if (state.joined && msg.type === "hello") return this.#discipline.strike(ws, state, "already-joined", "hello was already accepted", "hello");
    switch (msg.type) {
      case "hello": return this.onHello(ws, state, msg);
      case "have": return this.onHave(ws, state, msg);
      case "want": return this.onWant(ws, state, msg);
      case "signal": return this.onSignal(ws, state, msg, typeof raw === "string" ? raw.length : raw.byteLength);
      case "stats":
        // Clamped to what this peer could have moved: one lying peer cannot own the swarm's figures.
        if (this.#stats.add(state.peerId, clampCounters(msg, state.grant, now - state.connectedAt, this.limits), now))
          this.#alarm.armFlush(now + this.limits.statsFlushMs);
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
      this.save(ws, state);
      return closeQuietly(ws, CLOSE.policy, "peer id mismatch");
    }
    if (msg.kind === "supernode" && !state.grant.supernode) {
      // Supernodes rank as sole sources and count apart: only the edge's configured ones may say so.
      this.#send(ws, { type: "error", code: "not-supernode", message: "kind supernode needs a join token issued to a configured supernode (SUPERNODE_KEY)", ref: "hello" });
      state.gone = true;
      this.save(ws, state);
      return closeQuietly(ws, CLOSE.policy, "not a supernode");
    }
    // Read before any attachment below changes: the directory may load now (first event after a
    // wake), and must see the old socket as a member and this one not yet.
    const replaced = this.#dir.peers.has(state.peerId);
    for (const other of this.ctx.getWebSockets(peerTag(state.peerId))) if (other !== ws) this.#retire(other);
    // Chunks beyond the item's real count (the token says it) are not claims, they are dropped.
    const chunks = ChunkBits.fromBase64(msg.have, state.grant.chunks);
    Object.assign(state, { joined: true, kind: msg.kind, uploadSlots: msg.uploadSlots } satisfies Partial<SocketState>);
    this.save(ws, state);
    const peer: LivePeer = { peerId: state.peerId, kind: msg.kind, location: state.location, uploadSlots: msg.uploadSlots, lastWantAt: 0, chunks, ws };
    this.#audience.joined(state.peerId, replaced);
    this.#dir.join(peer, this.now());
    this.#alarm.armFlush(this.now() + this.limits.statsFlushMs); // its SQLite row then, not per hello
    const { root, shard } = this.#identity();
    this.#send(ws, { type: "welcome", version: PROTOCOL_VERSION, peerId: state.peerId, root, shard, peers: this.#dir.peers.size });
    if (chunks.size > 0) this.#news.announce(peer, [...chunks]);
  }

  /** Incremental chunks (and optionally new free upload slots). */
  onHave(ws: WebSocket, state: SocketState, msg: HaveMessage): void {
    const peer = this.#dir.peers.get(state.peerId);
    if (!peer) return this.#discipline.strike(ws, state, "not-joined", "not a member of this swarm", "have");
    if (msg.item !== undefined) return this.#itemFrames.have(ws, state, peer, msg.item, msg);
    const limit = Math.min(state.grant.chunks, MAX_TRACKED_CHUNKS);
    if (msg.chunks.some((i) => i >= limit))
      return this.#discipline.strike(ws, state, "bad-message", `have: chunk indices must be < ${limit} (the item's chunk count)`, "have");
    if (msg.uploadSlots !== undefined && msg.uploadSlots !== state.uploadSlots && !this.#changeSlots(ws, state, peer, msg.uploadSlots)) return;
    const added = this.#dir.addChunks(peer, msg.chunks);
    if (added.length > 0) this.#alarm.armFlush(this.now() + this.limits.statsFlushMs); // SQLite then, not per frame
    this.#news.announce(peer, added);
  }

  /**
   * New upload slots for a member. Starting or stopping to serve (0 ↔ > 0) recounts every chunk it
   * holds in the holder counts — of the item and of each collection item it holds (up to 64 × 4,096):
   * paid like indices, 1 token per 1,024 chunks, at most half the burst (a member holding more can
   * still change its slots, about once a second).
   */
  #changeSlots(ws: WebSocket, state: SocketState, peer: LivePeer, slots: number): boolean {
    const held = (slots > 0) !== (state.uploadSlots > 0) ? peer.chunks.size + this.#items.heldChunks(peer.peerId) : 0;
    const recount = Math.min(Math.floor(held / (16 * this.limits.indicesPerToken)), Math.floor(this.limits.rateBurst / 2));
    if (recount > 0 && !this.#discipline.charge(ws, state, recount, this.now())) return false;
    state.uploadSlots = slots;
    this.#dir.setUploadSlots(peer, slots);
    this.#items.setSlots(peer.peerId, slots);
    this.save(ws, state);
    return true;
  }

  /**
   * Answers with ranked peers (`peers`), bounded in count and bytes. No storage access; the
   * attachment is written by the peer's first `want` only (after a wake, "has wanted" is what counts).
   */
  onWant(ws: WebSocket, state: SocketState, msg: WantMessage): void {
    const now = this.now();
    const me = this.#dir.peers.get(state.peerId);
    if (me) this.#dir.touchWant(me, now);
    if (state.lastWantAt === 0) {
      state.lastWantAt = now;
      this.save(ws, state);
    }
    if (msg.chunks !== undefined && msg.chunks.some((i) => i >= state.grant.chunks))
      return this.#discipline.strike(ws, state, "bad-message", `want: chunk indices must be < ${state.grant.chunks} (the item's chunk count)`, "want");
    const max = Math.min(msg.max ?? MAX_PEERS_PER_ANSWER, MAX_PEERS_PER_ANSWER);
    if (msg.item !== undefined) return this.#itemFrames.want(ws, state, me, msg.item, msg.chunks, max, now);
    this.#wants.answer(ws, { peerId: state.peerId, location: state.location }, me, msg.chunks, max, now);
  }

  /** Relays a signal to the target's socket, or answers `peer-gone` / `target-busy` (`signal-relay.ts`). */
  onSignal(ws: WebSocket, state: SocketState, msg: SignalMessage, bytes = 0): void {
    this.#relay.relay(ws, state, msg, bytes);
  }

  /** Leaves on purpose. */
  onBye(ws: WebSocket, state: SocketState): void {
    this.#leave(ws, state);
    closeQuietly(ws, CLOSE.normal, "bye");
  }

  // ---- membership ----

  #leave(ws: WebSocket, state: SocketState): void {
    if (state.gone) return;
    const wasMember = state.joined;
    // Load the member index first (a close may be the first event after a wake): a load after the
    // gone flag below is written would not see this member, and its peer-left would be lost.
    this.#dir.ensureLoaded();
    state.gone = true;
    this.saveQuietly(ws, state); // a closed socket may refuse a new attachment; the peer is leaving anyway
    if (wasMember && this.#dir.leave(state.peerId)) {
      this.#relay.forget(state.peerId);
      this.#waiters.remove(state.peerId);
      this.#news.peerLeft(state.peerId);
    }
  }

  /** Buffered `stats` frames and chunk sets → SQLite (the flush alarm, and before `stats()`). */
  #flush(): void {
    this.#stats.flush();
    this.#dir.flushChunks();
    this.#items.flush(this.now());
  }

  #identity(): { root: string; shard: string } {
    return (this.#meta ??= { root: this.#store.getMeta("root") ?? "", shard: this.#store.getMeta("shard") ?? "" });
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
      await reportToSite(this.env, { ...this.#identity(), bytes: this.#store.totals(), health: this.#store.health(), peersOnline: this.#dir.peers.size }, this.now());
      if (this.#alarm.lastSocketCount !== null) this.recounted(this.#alarm.lastSocketCount); // exact again
      this.#alarm.lastSocketCount = null;
    } catch (err) {
      console.error("SwarmCoordinator:alarm", err);
    }
  }

  /**
   * Figures of this object: members online, chunk availability, byte totals and offload ratio. With
   * `item` (a collection swarm), members and chunks are those of that item (`collection-items.ts` holdings); bytes stay
   * the whole object's (the `stats` frame counts per socket, not per item).
   */
  async stats(item?: string): Promise<SwarmStats> {
    this.#flush();
    return summarize(this.#identity(), item === undefined ? this.#dir.peers.values() : this.#items.holdings(item), this.#store.totals());
  }

  /**
   * For the Worker's sum over sub-shards: `stats(item)`, the union of held chunks, and whether this
   * object ever sent a peer on to the next sub-shard (else no later sub-shard exists).
   */
  async summary(item?: string): Promise<{ stats: SwarmStats; held: Uint8Array; spilled: boolean }> {
    const held = heldUnion(item === undefined ? this.#dir.peers.values() : this.#items.holdings(item));
    return { stats: await this.stats(item), held, spilled: this.#store.getMeta("spilled") !== undefined };
  }
}
