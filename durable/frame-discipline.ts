/**
 * The coordinator's per-socket frame discipline: the rate bucket's extra charge for frames that name
 * many chunks, the rate-limited answer (at most one error a second: an error per dropped frame would
 * amplify a flood), and strikes — each bad frame is answered with its typed error and counted, and
 * past `maxBadFrames` the peer is removed and its socket closed 1008.
 */
import { CLOSE, type ErrorCode, type ServerMessage } from "../protocol/swarm-protocol";
import type { SocketState } from "./socket-state";
import type { SwarmLimits } from "./swarm-limits";
import { takeToken } from "./token-bucket";
import { closeQuietly } from "./ws-io";

/** What the discipline needs from the coordinator. */
export interface DisciplineHost {
  limits(): SwarmLimits;
  send(ws: WebSocket, msg: ServerMessage): boolean;
  save(ws: WebSocket, state: SocketState): void;
  /** Removes the member (as a close would) before its socket is closed for abuse. */
  leave(ws: WebSocket, state: SocketState): void;
}

/**
 * @example
 * const discipline = new FrameDiscipline(host);
 * if (!discipline.charge(ws, state, extra, now)) return; // dropped, peer told
 * discipline.strike(ws, state, "bad-message", "…", "want");
 */
export class FrameDiscipline {
  readonly #h: DisciplineHost;

  constructor(host: DisciplineHost) {
    this.#h = host;
  }

  /** Takes `extra` more tokens for a costly frame; false (frame dropped, peer told) when short. */
  charge(ws: WebSocket, state: SocketState, extra: number, now: number): boolean {
    const limits = this.#h.limits();
    const b = takeToken(state.bucket, { perSecond: limits.ratePerSecond, burst: limits.rateBurst }, now, extra);
    state.bucket = b.state;
    if (!b.ok) this.rateLimited(ws, state, now);
    return b.ok;
  }

  /** A frame dropped by the rate limit: the peer is told at most once a second, one strike per episode. */
  rateLimited(ws: WebSocket, state: SocketState, now: number): void {
    if (now - state.limitedAt < 1000) return;
    state.limitedAt = now;
    this.strike(ws, state, "rate-limited", `over ${this.#h.limits().ratePerSecond} frames/s (frames naming many chunks cost more); frames dropped`);
  }

  /** Counts a bad frame, answers with its error, and closes 1008 past the limit. */
  strike(ws: WebSocket, state: SocketState, code: ErrorCode, message: string, ref?: string): void {
    const h = this.#h;
    state.badFrames++;
    h.save(ws, state);
    h.send(ws, ref === undefined ? { type: "error", code, message } : { type: "error", code, message, ref });
    if (state.badFrames >= h.limits().maxBadFrames) {
      h.leave(ws, state);
      closeQuietly(ws, CLOSE.policy, "too many invalid frames");
    }
  }
}
