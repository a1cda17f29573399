/**
 * WebRTC signal relay: a `signal {to, data}` goes to exactly the target member's current socket as
 * `signal {from, data}`, or the sender gets `peer-gone`. Each target has a budget of relayed
 * signals (units of 1 + KiB per frame); past it the sender gets `target-busy` — no strike, since an
 * honest dialer of a popular peer may meet it — so nobody can flood one peer with offers.
 */
import type { ErrorCode, ServerMessage, SignalMessage } from "../protocol/swarm-protocol";
import { KeyedBuckets } from "./keyed-buckets";
import type { LeaveAudience } from "./leave-audience";
import type { PeerDirectory } from "./peer-directory";
import type { SocketState } from "./socket-state";
import type { SwarmLimits } from "./swarm-limits";

/** What the relay needs from the coordinator. */
export interface RelayHost {
  readonly dir: PeerDirectory;
  readonly audience: LeaveAudience;
  limits(): SwarmLimits;
  now(): number;
  strike(ws: WebSocket, state: SocketState, code: ErrorCode, message: string, ref?: string): void;
  send(ws: WebSocket, msg: ServerMessage): boolean;
}

/**
 * @example
 * const relay = new SignalRelay(host);
 * relay.relay(ws, state, msg, raw.length);
 * relay.forget(peerId); // on leave
 */
export class SignalRelay {
  readonly #h: RelayHost;
  /** Signal units relayed to each member (memory only: the budget refills within seconds anyway). */
  readonly #budget: KeyedBuckets;

  constructor(host: RelayHost) {
    this.#h = host;
    this.#budget = new KeyedBuckets(() => ({ perSecond: host.limits().signalUnitsPerSecond, burst: host.limits().signalUnitsBurst }), 40_000);
  }

  /** Relays one signal of `bytes` (frame size) from the member of `state`. */
  relay(ws: WebSocket, state: SocketState, msg: SignalMessage, bytes: number): void {
    const h = this.#h;
    if (msg.to === state.peerId) return h.strike(ws, state, "bad-message", "signal: cannot signal yourself", "signal");
    const target = h.dir.peers.get(msg.to)?.ws;
    if (target && !this.#budget.take(msg.to, h.now(), 1 + Math.floor(bytes / 1024)))
      return void h.send(ws, { type: "error", code: "target-busy", message: `peer ${msg.to} receives too many signals; try later`, ref: "signal" });
    if (!target || !h.send(target, { type: "signal", from: state.peerId, data: msg.data }))
      return void h.send(ws, { type: "error", code: "peer-gone", message: `peer ${msg.to} is not in this swarm`, ref: "signal" });
    // Both sides now know each other (the target may never have been told about the sender).
    h.audience.tell(msg.to, state.peerId);
    h.audience.tell(state.peerId, msg.to);
  }

  /** A member left: its budget is dropped. */
  forget(peerId: string): void {
    this.#budget.delete(peerId);
  }
}
