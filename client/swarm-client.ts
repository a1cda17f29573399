/**
 * The signalling socket to one swarm coordinator (`/swarm/<root>?token=…` on the edge origin):
 * `hello` first, then `want`/`have`/`signal`/`stats`, `bye` on leave. Every frame from the
 * coordinator is validated by `protocol/swarm-protocol.ts` before use. Keeps the socket alive with
 * the text `ping` (answered by the coordinator's auto-response without waking it) and reconnects
 * with exponential backoff, fetching a fresh join token when the old one has expired.
 */
import type { ManifestResponse } from "../protocol/manifest";
import {
  encodeMessage, parseServerMessage, PING, PROTOCOL_VERSION, CLOSE, MAX_INDICES, MAX_PEERS_PER_ANSWER, MAX_UPLOAD_SLOTS,
  type Bitfield, type ClientMessage, type PeerEntry, type PeerKind, type ServerMessage, type SignalData, type StatsMessage,
} from "../protocol/swarm-protocol";

/**
 * Upload slots as announced: a supernode may run more (`--upload-slots` up to 1024) than the
 * protocol lets one peer announce; it announces the most the coordinator accepts.
 */
const slots = (n: number): number => Math.min(n, MAX_UPLOAD_SLOTS);

/** The `WebSocket` constructor to use (browser's, or `ws` in Node). */
export type WebSocketCtor = new (url: string) => WebSocket;

export type JoinInfo = ManifestResponse["join"];

export interface SwarmClientOptions {
  /** Edge origin, e.g. `https://edge.example`. */
  edge: string;
  join: JoinInfo;
  /** Fetches a fresh join (new token) when the current one expired. */
  rejoin(): Promise<JoinInfo>;
  kind: PeerKind;
  /** Current bitfield of held chunks and free upload slots, for `hello`. */
  hello(): { have: Bitfield; uploadSlots: number };
  /** Whether to ask for peers right after joining (leechers do, pure seeders need not). */
  wantOnJoin(): boolean;
  /**
   * Called right after `hello` is sent on each (re)connect, before `welcome` arrives: a collection's
   * socket re-announces its items and asks for the ones downloading here (frames queue in order).
   */
  onHello?(): void;
  /** Largest `peers` answer to ask for. */
  maxPeers: number;
  WebSocket: WebSocketCtor;
  onMessage(msg: ServerMessage): void;
  /** Joined (welcome received) or left (socket down). */
  onState?(joined: boolean): void;
  keepAliveMs?: number;
  now?: () => number;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * @example
 * const c = new SwarmClient({ edge, join, rejoin, kind: "browser", hello, wantOnJoin: () => true, maxPeers: 8, WebSocket, onMessage });
 * c.signal("peer-b", { description: offer });
 */
export class SwarmClient {
  /** True between `welcome` and the socket closing. */
  joined = false;
  /** True once a `peers` answer (or a failure to join) settled who is there. */
  answered = false;
  /** True after the socket closed (or failed to open) until the next `welcome`: nobody to wait for. */
  down = false;
  private ws: WebSocket | undefined;
  private join: JoinInfo;
  private closed = false;
  private attempt = 0;
  /** Last `want` per item ("" = the swarm's own item), for the 2 s throttle. */
  private readonly lastWant = new Map<string, number>();
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: SwarmClientOptions) {
    this.join = o.join;
    this.now = o.now ?? Date.now;
    this.open();
  }

  private url(): string {
    const u = new URL(this.join.url, this.o.edge);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("token", this.join.token);
    return u.href;
  }

  private open(): void {
    if (this.closed) return;
    let ws: WebSocket;
    try {
      ws = new this.o.WebSocket(this.url());
    } catch {
      this.down = true;
      return this.scheduleReconnect();
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      const h = this.o.hello();
      this.send({ type: "hello", version: PROTOCOL_VERSION, peerId: this.join.peerId, kind: this.o.kind, have: h.have, uploadSlots: slots(h.uploadSlots) });
      if (this.o.wantOnJoin()) this.want(undefined, true);
      else this.answered = true;
      this.o.onHello?.();
      clearInterval(this.keepAlive);
      this.keepAlive = setInterval(() => ws.readyState === 1 && ws.send(PING), this.o.keepAliveMs ?? 25_000);
    };
    ws.onmessage = (e: MessageEvent) => {
      if (ws !== this.ws || typeof e.data !== "string" || e.data === "pong") return;
      const r = parseServerMessage(e.data);
      if (!r.ok) return; // the coordinator sent something we do not understand: ignore it
      const msg = r.value;
      if (msg.type === "welcome") {
        this.joined = true;
        this.down = false;
        this.attempt = 0;
        this.o.onState?.(true);
      } else if (msg.type === "peers") this.answered = true;
      this.o.onMessage(msg);
    };
    ws.onclose = (e: CloseEvent) => {
      if (ws !== this.ws) return;
      this.ws = undefined;
      clearInterval(this.keepAlive);
      const wasJoined = this.joined;
      this.joined = false;
      this.answered = true; // nobody to wait for until we are back
      this.down = true;
      if (wasJoined) this.o.onState?.(false);
      // 1008 after a newer socket of ours replaced this one: that one carries on.
      if (e.code === CLOSE.policy && /replaced|duplicate/i.test(e.reason)) return;
      this.scheduleReconnect(e.code === CLOSE.tryAgain ? 4 : 0);
    };
    ws.onerror = () => {
      // A close event follows; reconnection is handled there.
    };
  }

  private scheduleReconnect(extra = 0): void {
    if (this.closed) return;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.attempt++ + extra)) * (0.75 + Math.random() * 0.5);
    clearTimeout(this.retry);
    this.retry = setTimeout(async () => {
      if (this.closed) return;
      if (this.join.expires - 30_000 < this.now()) {
        try {
          this.join = await this.o.rejoin();
        } catch {
          return this.scheduleReconnect();
        }
      }
      this.open();
    }, delay);
  }

  /** Sends a frame; false when the socket is not open. */
  send(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(encodeMessage(msg));
    return true;
  }

  /**
   * Asks for peers holding `chunks` (all when omitted) of `item` (a collection's item; omitted: the
   * swarm's own); at most one ask per item per 2 s unless forced.
   */
  want(chunks?: number[], force = false, item?: string): void {
    const key = item ?? "";
    const now = this.now();
    if (!force && now - (this.lastWant.get(key) ?? -Infinity) < 2000) return;
    this.lastWant.delete(key);
    this.lastWant.set(key, now);
    // Bounded: entries older than the throttle say nothing (oldest first in insertion order).
    for (const [k, at] of this.lastWant) if (now - at >= 2000 && this.lastWant.size > 64) this.lastWant.delete(k); else break;
    this.send({ type: "want", ...(item ? { item } : {}), ...(chunks ? { chunks: chunks.slice(0, MAX_INDICES) } : {}), max: Math.min(MAX_PEERS_PER_ANSWER, Math.max(1, this.o.maxPeers)) });
  }

  /** Announces held `chunks` (of `item` in a collection swarm). */
  have(chunks: number[], uploadSlots?: number, item?: string): void {
    this.send({ type: "have", ...(item ? { item } : {}), chunks: chunks.slice(0, MAX_INDICES), ...(uploadSlots !== undefined ? { uploadSlots: slots(uploadSlots) } : {}) });
  }

  signal(to: string, data: SignalData): boolean {
    return this.send({ type: "signal", to, data });
  }

  stats(s: Omit<StatsMessage, "type">): void {
    this.send({ type: "stats", ...s });
  }

  /** Leaves: `bye`, then closes the socket; no reconnection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.keepAlive);
    this.send({ type: "bye" });
    try {
      this.ws?.close(CLOSE.normal);
    } catch {
      // already closed
    }
    this.ws = undefined;
  }
}

export type { PeerEntry };
