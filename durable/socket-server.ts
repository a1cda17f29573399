/**
 * The hibernating-socket layer under the swarm coordinator, in the spirit of partyserver's
 * `Server`/`Connection`: everything about WebSockets that is platform plumbing rather than swarm
 * logic — the per-socket state cache over attachments, the guard → delegate → catch → log skeleton
 * of the `webSocket*` handlers, the close-code echo, and counting live sockets cheaply for an
 * admission limit. The domain class above it implements `onFrame` / `onSocketClose` and never sees
 * an exception of the platform, nor lets one of its own reach the runtime.
 *
 * State per socket lives ONLY in its attachment (`serializeAttachment`, ≤ 2,048 bytes); the cache
 * here saves a deserialisation per frame and is written through on every save, so an instance that
 * dies loses nothing a new one cannot read back.
 */
import { DurableObject } from "cloudflare:workers";
import { CLOSE } from "../protocol/swarm-protocol";
import { closeQuietly } from "./ws-io";

/** What the layer needs of a socket's state. */
export interface SocketStateBase {
  /** The socket left (closed, replaced, refused): no more frames are handled. */
  gone: boolean;
}

/**
 * RFC 6455 §5.5.1: the answer to a close echoes the peer's code — except codes that must not be sent
 * on the wire (1005/1006/1015, §7.4.1) or lie outside the sendable ranges, answered with 1000.
 * @example
 * echoCloseCode(1006); // 1000
 */
export function echoCloseCode(code: number): number {
  const sendable = (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
  return sendable ? code : CLOSE.normal;
}

/**
 * Base class of a Durable Object that serves hibernatable WebSockets with typed per-socket state `S`.
 * @example
 * class Echo extends SocketServer<{ gone: boolean }> {
 *   protected readonly logName = "Echo";
 *   protected readState(ws: WebSocket) { return ws.deserializeAttachment() as { gone: boolean } | null; }
 *   protected onFrame(ws: WebSocket, _s: { gone: boolean }, raw: string | ArrayBuffer) { ws.send(raw); }
 *   protected onSocketClose() {}
 *   protected onFrameError() {}
 * }
 */
export abstract class SocketServer<S extends SocketStateBase> extends DurableObject<Env> {
  /** Prefix of log lines (`<logName>:webSocketMessage …`). */
  protected abstract readonly logName: string;
  /** Attachment cache: the attachment stays the truth, this saves a deserialisation per frame. */
  readonly #states = new WeakMap<WebSocket, S>();
  /** Upper bound of live sockets (exact after a recount); null = not counted since the wake. */
  #socketBound: number | null = null;

  /** Reads and validates a socket's attachment; null when it is missing or not ours (never throws). */
  protected abstract readState(ws: WebSocket): S | null;
  /** One frame of a socket that is ours and not gone. May throw: the layer answers {@link onFrameError}. */
  protected abstract onFrame(ws: WebSocket, state: S, raw: string | ArrayBuffer): void;
  /** The socket closed or errored (state null: not ours). */
  protected abstract onSocketClose(ws: WebSocket, state: S | null): void;
  /** `onFrame` threw: tell the peer its frame was dropped (the socket stays open). */
  protected abstract onFrameError(ws: WebSocket): void;

  // ---- platform handlers: guard → delegate → catch → log; never throw ----

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      const state = this.stateOf(ws);
      if (!state) return closeQuietly(ws, CLOSE.policy, "unknown socket");
      if (state.gone) return;
      this.onFrame(ws, state, message);
    } catch (err) {
      console.error(`${this.logName}:webSocketMessage`, err);
      try {
        this.onFrameError(ws);
      } catch {
        // the socket is closing: nothing to tell
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string, _wasClean?: boolean): Promise<void> {
    try {
      this.onSocketClose(ws, this.stateOf(ws));
      closeQuietly(ws, echoCloseCode(code), reason);
    } catch (err) {
      console.error(`${this.logName}:webSocketClose`, err);
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    try {
      console.warn(`${this.logName}:webSocketError`, error);
      this.onSocketClose(ws, this.stateOf(ws));
    } catch (err) {
      console.error(`${this.logName}:webSocketError`, err);
    }
  }

  // ---- per-socket state ----

  /** A socket's state: the cached copy, else its attachment (read once per instance). */
  protected stateOf(ws: WebSocket): S | null {
    let s = this.#states.get(ws);
    if (s === undefined) {
      const read = this.readState(ws);
      if (!read) return null;
      this.#states.set(ws, (s = read));
    }
    return s;
  }

  /** Writes a socket's state through to its attachment (the copy that survives eviction). */
  protected save(ws: WebSocket, state: S): void {
    this.#states.set(ws, state);
    ws.serializeAttachment(state);
  }

  /** {@link save} for a socket that may be closed already (which may refuse a new attachment). */
  protected saveQuietly(ws: WebSocket, state: S): void {
    this.#states.set(ws, state);
    try {
      ws.serializeAttachment(state);
    } catch {
      // closed: the cached copy is all that matters for the rest of this event
    }
  }

  // ---- accepting and counting ----

  /** Accepts `server` as a hibernatable socket under `tags`, with its first state. */
  protected accept(server: WebSocket, tags: string[], state: S): void {
    this.ctx.acceptWebSocket(server, tags);
    if (this.#socketBound !== null) this.#socketBound++;
    this.save(server, state);
  }

  /** Sockets (under `tag`, or all) that are ours and not gone. O(sockets listed). */
  protected liveSockets(tag?: string): WebSocket[] {
    return this.ctx.getWebSockets(tag).filter((ws) => this.stateOf(ws)?.gone === false);
  }

  /**
   * The number of live sockets, exact whenever it matters for `limit`: a cheap upper bound (the last
   * exact count plus accepts since) while below it, a recount (O(sockets)) once the bound reaches it.
   */
  protected socketsAgainst(limit: number): number {
    if (this.#socketBound === null || this.#socketBound >= limit) this.#socketBound = this.liveSockets().length;
    return this.#socketBound;
  }

  /** A known exact count of sockets (e.g. the alarm just listed them all). */
  protected recounted(n: number): void {
    this.#socketBound = n;
  }

  /**
   * Refuses an upgrade over a plain (never hibernatable, never counted) socket, so the client learns
   * why: one text frame, then a close.
   */
  protected refuseOverSocket(frame: string, code: number, reason: string): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.send(frame);
    server.close(code, reason);
    return new Response(null, { status: 101, webSocket: client });
  }
}
