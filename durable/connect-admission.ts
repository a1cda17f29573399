/**
 * Who may open a socket on a coordinator object, decided before `acceptWebSocket`: one join token
 * (one peer id) may reconnect but not storm (a connect bucket per peer id), a busy object sends
 * spill-allowed joins on to another sub-shard (`spill-budget.ts`), and a full one refuses — with a
 * plain 503 when the Worker may try the next sub-shard (`subshards.ts`), else with an error frame
 * over a socket that is never counted. Counting is exact only near the limit
 * (`SocketServer.socketsAgainst`).
 */
import { encodeMessage } from "../protocol/swarm-protocol";
import type { ConnectInfo } from "./connect-request";
import { KeyedBuckets } from "./keyed-buckets";
import type { SpillBudget } from "./spill-budget";
import { BUSY_HEADER } from "./subshards";
import type { SwarmLimits } from "./swarm-limits";

/** What admission needs from the coordinator. */
export interface AdmissionHost {
  limits(): SwarmLimits;
  /** The object's request budget (read on every call: tests may replace it on a live instance). */
  spillBudget(): SpillBudget;
  /** Remembers that this object sent a peer on to the next sub-shard (`summary().spilled`). */
  markSpilled(): void;
}

/** Live sockets at the time of a connect: the peer's own, and all that count against `maxPeers`. */
export interface SocketCounts {
  own: number;
  live: number;
}

/** The verdict on one connect. */
export type Admission =
  | { ok: true }
  /** Refused without any socket (429 rate-limited, 503 busy or full with spill allowed). */
  | { ok: false; response: Response }
  /** Full and no spill allowed: this error frame goes over a plain socket, then it is closed. */
  | { ok: false; frame: string };

/**
 * @example
 * const admission = new ConnectAdmission(host);
 * const a = admission.admit(info, now, () => ({ own: own.length, live: this.socketsAgainst(max) }));
 * if (!a.ok) return "response" in a ? a.response : this.refuseOverSocket(a.frame, CLOSE.tryAgain, "swarm full");
 */
export class ConnectAdmission {
  readonly #h: AdmissionHost;
  /** Connects per peer id (= per join token): a token grants one peer, not a reconnect storm. */
  readonly #connects: KeyedBuckets;

  constructor(host: AdmissionHost) {
    this.#h = host;
    this.#connects = new KeyedBuckets(() => ({ perSecond: host.limits().connectPerSecond, burst: host.limits().connectBurst }), 10_000);
  }

  /**
   * Decides on a connect of `info.peerId` at `now`. `counts` is asked only once the connect passed
   * its rate bucket (a refused storm costs no socket walk). A request counts against the spill
   * budget whatever the verdict after the bucket; an admitted socket that is the peer's first counts
   * as a join.
   */
  admit(info: ConnectInfo, now: number, counts: () => SocketCounts): Admission {
    const h = this.#h;
    const limits = h.limits();
    // Each connect costs a socket, an attachment and a Worker hop: refused here without any socket.
    if (!this.#connects.take(info.peerId, now)) {
      const every = Math.round(1 / limits.connectPerSecond);
      return refusal(429, "rate-limited", `too many connects for this peer id (${limits.connectBurst}, then one per ${every} s)`, { "Retry-After": String(every) });
    }
    const { own, live } = counts();
    // Every live socket counts, joined or not; a member's own reconnect is let in (it replaces one of its own).
    const others = live >= limits.maxPeers ? live - own : live;
    const budget = h.spillBudget();
    budget.request(now);
    // Room left but the request budget spent (a viral item's arrivals): the Worker tries another sub-shard.
    if (info.spill && info.busyOk && own === 0 && others < limits.maxPeers && budget.busy(now, others)) {
      h.markSpilled();
      return refusal(503, "swarm-busy", "this swarm shard is busy; try another sub-shard", { [BUSY_HEADER]: "1" });
    }
    if (others >= limits.maxPeers) {
      const message = `this swarm shard is full (${limits.maxPeers} peers)`;
      if (!info.spill) return { ok: false, frame: encodeMessage({ type: "error", code: "swarm-full", message }) };
      // Spill allowed: a plain 503, no socket at all; the Worker tries the next sub-shard.
      h.markSpilled();
      return refusal(503, "swarm-full", message);
    }
    if (own === 0) budget.joined(now);
    return { ok: true };
  }
}

/** An HTTP refusal in the coordinator's error shape. */
function refusal(status: number, code: string, message: string, headers?: Record<string, string>): Admission {
  return { ok: false, response: Response.json({ error: { code, message } }, headers ? { status, headers } : { status }) };
}
