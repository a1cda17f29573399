/**
 * The coordinator's alarm: one Durable Object alarm serves two schedules — stats flushes (short,
 * armed on demand) and maintenance every `alarmIntervalMs` (close sockets that never said `hello`,
 * reconcile SQLite with the live sockets, roll up old counters). Split out of `swarm.ts` so the
 * object keeps to frames and membership; the object passes what the maintenance touches as a host.
 */
import { CLOSE } from "../protocol/swarm-protocol";
import type { SocketState } from "./socket-state";
import type { SwarmLimits } from "./swarm-limits";

/** What one maintenance run needs from the object. */
export interface MaintenanceHost {
  readonly ctx: DurableObjectState;
  /** Current limits (tests replace them on a live instance). */
  limits(): SwarmLimits;
  now(): number;
  /** Buffered `stats` frames → SQLite. */
  flushStats(): void;
  /** A socket's cached state (null: not one of ours). */
  stateOf(ws: WebSocket): SocketState | null;
  /** Writes a socket's state through to its attachment. */
  save(ws: WebSocket, state: SocketState): void;
  /** Closes without throwing. */
  closeQuietly(ws: WebSocket, code: number, reason: string): void;
  /** Reconciles members with live sockets and rolls up counters (the object broadcasts `peer-left`). */
  reconcile(now: number): void;
}

/**
 * The alarm's state and schedule. Memory only: after a wake `armed` is unknown (null) and the next
 * alarm runs the maintenance.
 * @example
 * const alarms = new SwarmAlarm(host);
 * await alarms.ensureArmed(now); // on connect
 * alarms.armFlush(now + limits.statsFlushMs); // on the first buffered stats frame
 * await alarms.run(); // from alarm()
 */
export class SwarmAlarm {
  /** Whether an alarm is known to be set; null = unknown since the wake. */
  armed: boolean | null = null;
  /** When the maintenance is next due; null = at the next alarm. */
  #maintainAt: number | null = null;
  /** Exact socket count of the last maintenance (the object's `swarm-full` bound starts from it). */
  lastSocketCount: number | null = null;

  constructor(readonly host: MaintenanceHost) {}

  /** Makes sure some alarm is set while sockets exist (one `getAlarm` per instance). */
  async ensureArmed(now: number): Promise<void> {
    if (this.armed === true) return;
    const { storage } = this.host.ctx;
    if ((await storage.getAlarm()) === null) await storage.setAlarm(now + this.host.limits().alarmIntervalMs);
    this.armed = true;
  }

  /** Sets the alarm to `at` unless one is due earlier (never throws: frame handlers are sync). */
  armFlush(at: number): void {
    const { storage } = this.host.ctx;
    void storage.getAlarm().then((cur) => (cur === null || cur > at ? storage.setAlarm(at) : undefined))
      .then(() => void (this.armed = true), (err: unknown) => console.error("Swarm:armAlarm", err));
  }

  /**
   * One alarm: flushes stats; when due, closes sockets silent past `helloTimeoutMs` and reconciles;
   * re-arms while sockets remain. Throws only what storage throws (the caller logs).
   */
  async run(): Promise<void> {
    const h = this.host;
    const now = h.now();
    h.flushStats();
    this.armed = false;
    const { storage } = h.ctx;
    if (this.#maintainAt !== null && now < this.#maintainAt) {
      // A stats-flush alarm: keep the maintenance schedule.
      if (h.ctx.getWebSockets().length > 0) {
        await storage.setAlarm(this.#maintainAt);
        this.armed = true;
      }
      return;
    }
    this.#maintainAt = now + h.limits().alarmIntervalMs;
    const sockets = h.ctx.getWebSockets();
    this.lastSocketCount = sockets.length;
    for (const ws of sockets) {
      const s = h.stateOf(ws);
      if (s && !s.joined && !s.gone && now - s.connectedAt > h.limits().helloTimeoutMs) {
        s.gone = true;
        h.save(ws, s);
        h.closeQuietly(ws, CLOSE.policy, "no hello");
      }
    }
    h.reconcile(now);
    if (sockets.length > 0) {
      await storage.setAlarm(this.#maintainAt);
      this.armed = true;
    }
  }
}
