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

/** Hello deadlines are swept at most this often (a sweep lists every socket). */
export const HELLO_SWEEP_MIN_MS = 1000;

/**
 * The alarm's state and schedule. Memory only: after a wake the alarm time is unknown (read once)
 * and the next alarm runs the maintenance, which also sweeps hello deadlines.
 * @example
 * const alarms = new SwarmAlarm(host);
 * await alarms.armHello(now + limits.helloTimeoutMs); // on connect
 * alarms.armFlush(now + limits.statsFlushMs); // on the first buffered stats frame
 * await alarms.run(); // from alarm()
 */
export class SwarmAlarm {
  /** When the alarm is set; null = none; undefined = unknown since the wake. */
  #at: number | null | undefined = undefined;
  /** When the maintenance is next due; null = at the next alarm. */
  #maintainAt: number | null = null;
  /** The earliest hello deadline of a socket still waiting for its hello; null = none known. */
  #helloAt: number | null = null;
  /** Exact socket count of the last maintenance (the object's `swarm-full` bound starts from it). */
  lastSocketCount: number | null = null;

  constructor(readonly host: MaintenanceHost) {}

  /** Makes sure the alarm fires by `at` (one `getAlarm` per instance, then memory). */
  async #armBy(at: number): Promise<void> {
    const { storage } = this.host.ctx;
    if (this.#at === undefined) this.#at = await storage.getAlarm();
    if (this.#at !== null && this.#at <= at) return;
    this.#at = at;
    await storage.setAlarm(at);
  }

  /** A socket was accepted: it must say hello by `deadline`, or the alarm closes it then. */
  async armHello(deadline: number): Promise<void> {
    if (this.#helloAt === null || deadline < this.#helloAt) this.#helloAt = deadline;
    await this.#armBy(deadline);
  }

  /** Sets the alarm to `at` unless one is due earlier (never throws: frame handlers are sync). */
  armFlush(at: number): void {
    this.#armBy(at).catch((err: unknown) => console.error("SwarmCoordinator:armAlarm", err));
  }

  /**
   * One alarm: flushes stats; closes sockets whose hello deadline passed (when one is due, and on
   * every maintenance); when due, reconciles; re-arms for the next of maintenance and hello deadline
   * while sockets remain. Throws only what storage throws (the caller logs).
   */
  async run(): Promise<void> {
    const h = this.host;
    const now = h.now();
    h.flushStats();
    this.#at = null; // this alarm fired
    const maintain = this.#maintainAt === null || now >= this.#maintainAt;
    if (maintain || (this.#helloAt !== null && now >= this.#helloAt)) this.#sweepHellos(now);
    const sockets = h.ctx.getWebSockets();
    if (maintain) {
      this.#maintainAt = now + h.limits().alarmIntervalMs;
      this.lastSocketCount = sockets.length;
      h.reconcile(now);
    }
    if (sockets.length === 0) return;
    let next = this.#maintainAt!;
    if (this.#helloAt !== null) next = Math.min(next, Math.max(this.#helloAt, now + HELLO_SWEEP_MIN_MS));
    await this.#armBy(next);
  }

  /** Closes sockets silent past `helloTimeoutMs`; remembers the earliest deadline of the rest. */
  #sweepHellos(now: number): void {
    const h = this.host;
    const timeout = h.limits().helloTimeoutMs;
    let earliest: number | null = null;
    for (const ws of h.ctx.getWebSockets()) {
      const s = h.stateOf(ws);
      if (!s || s.joined || s.gone) continue;
      const deadline = s.connectedAt + timeout;
      if (now >= deadline) {
        s.gone = true;
        h.save(ws, s);
        h.closeQuietly(ws, CLOSE.policy, "no hello");
      } else if (earliest === null || deadline < earliest) earliest = deadline;
    }
    this.#helloAt = earliest;
  }
}
