/**
 * IPC between the coordinator section (parent) and its load-generator processes, and the two wire
 * dialects the load generator speaks: our swarm protocol (`hello`/`want`) and the WebTorrent
 * WebSocket tracker protocol (`announce`).
 */

/**
 * Which server a load process drives: our Swarm object, the runtime floor (a do-nothing Durable
 * Object in the same workerd, same dialect), or bittorrent-tracker.
 */
export type Target = "swarm" | "floor" | "tracker";

/** One group of simulated peers (warm-up peers are joined and dropped before measuring). */
export type Group = "warm" | "main";

/** Parent → load process. */
export type LoadCommand =
  | {
      cmd: "init";
      target: Target;
      /** ws://127.0.0.1:<port> */
      url: string;
      /** Swarm root (hex SHA-256) or tracker info_hash (20 characters). */
      swarmKey: string;
      /** Join-token secret (swarm only). */
      secret: string;
      /** Peer ids of this process, per group (20 ASCII characters, valid for both protocols). */
      peers: Record<Group, string[]>;
      /** Chunks of the simulated content (bitfield length). */
      chunks: number;
      /** Peers asked for per operation (`want.max` / tracker `numwant`). */
      numwant: number;
      seed: number;
    }
  | { cmd: "join"; group: Group; concurrency: number; timeoutMs: number }
  | { cmd: "ops"; group: Group; concurrency: number; durationMs: number }
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
  | ({ type: "ops-done"; group: Group; latenciesMs: number[]; errors: number; unsolicited: number; firstError?: string } & PhaseCost)
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
