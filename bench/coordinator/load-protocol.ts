/**
 * IPC between the coordinator section (parent) and its load-generator processes, and the two wire
 * dialects the load generator speaks: our swarm protocol (`hello`/`want`/`signal`/`have`) and the
 * WebTorrent WebSocket tracker protocol (`announce` with offers / answers).
 */

/**
 * Which server a load process drives: our Swarm object, the runtime floor (a do-nothing-more-than-
 * needed Durable Object in the same workerd, same dialect), or bittorrent-tracker.
 */
export type Target = "swarm" | "floor" | "tracker";

/** One group of simulated peers (warm-up peers are joined and dropped before measuring). */
export type Group = "warm" | "main";

/** A simulated peer: its id (20 ASCII characters, valid for both protocols) and its swarm's index. */
export interface PeerSpec {
  id: string;
  swarm: number;
}

/**
 * Messages sent open-loop at a fixed rate to measure the server's CPU per message of one type
 * (swarm and floor only): `want` naming the chunks the peer misses, `want` without chunks, `have`
 * of one new chunk, a `signal` (an ICE candidate) to a random member of the same swarm, `stats`.
 */
export type PacedKind = "want-chunks" | "want-any" | "have" | "signal" | "stats";

/** Parent → load process. */
export type LoadCommand =
  | {
      cmd: "init";
      target: Target;
      /** ws://127.0.0.1:<port> */
      url: string;
      /** Per swarm: root (hex SHA-256) or tracker info_hash (20 characters). */
      swarmKeys: string[];
      /** Join-token secret (swarm only). */
      secret: string;
      /** Peers of this process, per group. */
      peers: Record<Group, PeerSpec[]>;
      /** Every main-group peer of every process (signal targets and swarm sizes). */
      everyone: PeerSpec[];
      /** Chunks of the simulated content (bitfield length). */
      chunks: number;
      /** Peers asked for per operation (`want.max` / number of tracker offers). */
      numwant: number;
      seed: number;
    }
  /** Joins the group's peers, or only part `index` of `of` (every `of`-th peer of this process, from `index`). */
  | { cmd: "join"; group: Group; concurrency: number; timeoutMs: number; part?: { index: number; of: number } }
  /**
   * Closed-loop signalling rounds: one peer asks for `numwant` peers and exchanges offer and answer
   * with each (plus `ice` trickled candidates each way on our side; the tracker has no trickle, its
   * SDPs carry the candidates instead). One round in flight per socket.
   */
  | { cmd: "rounds"; group: Group; concurrency: number; durationMs: number; ice: number }
  /**
   * Open loop: `frames` frames of one kind from this process at `rate` frames/s (over ~`durationMs`).
   * A count, not a duration, so two servers given the same command sequence get identical frames.
   */
  | { cmd: "paced"; group: Group; kind: PacedKind; rate: number; durationMs: number; frames: number }
  | { cmd: "close"; group: Group; timeoutMs: number };

/** CPU and wall time of one phase in the load process. */
export interface PhaseCost {
  cpuS: number;
  wallS: number;
}

/** Load process → parent. */
export type LoadReport =
  | { type: "ready" }
  | ({ type: "joined"; group: Group; latenciesMs: number[]; errors: number; firstError?: string } & PhaseCost)
  | ({
      type: "rounds-done"; group: Group; latenciesMs: number[]; errors: number;
      /** Links set up (offer/answer pairs completed) and frames this process sent. */
      links: number; sent: number; unsolicited: number; firstError?: string;
    } & PhaseCost)
  | ({ type: "paced-done"; group: Group; sent: number; received: number; errors: number; firstError?: string } & PhaseCost)
  | { type: "closed"; group: Group }
  | { type: "fatal"; message: string };

/** Type guard for IPC messages of one `type`. */
export const isReport =
  <T extends LoadReport["type"]>(type: T) =>
  (m: unknown): m is Extract<LoadReport, { type: T }> =>
    typeof m === "object" && m !== null && (m as { type?: unknown }).type === type;

/** Parent → server process, and its answer. */
export type ServerCommand = { cmd: "stop" } | { cmd: "profile"; on: boolean };
export type ServerReport = { type: "listening"; port: number } | { type: "profiled"; path: string | null } | { type: "fatal"; message: string };

export const isListening = (m: unknown): m is { type: "listening"; port: number } =>
  typeof m === "object" && m !== null && (m as { type?: unknown }).type === "listening";
