/** IPC between the peer-path section and its raw WebRTC peer processes (raw-peer-process.ts). */

/** A WebRTC signal relayed by the parent. */
export interface RawSignal {
  description?: { type: RTCSdpType; sdp?: string };
  candidate?: RTCIceCandidateInit;
}

/** Parent → raw peer. */
export type RawCommand =
  | { cmd: "init"; id: string; role: "seeder" | "downloader" }
  | { cmd: "signal"; from: string; data: RawSignal }
  | { cmd: "fetch"; seeders: string[]; bytes: number }
  | { cmd: "reset" }
  /** Downloader: the last fetch's transfer again, over the same channels (links up). */
  | { cmd: "again" }
  /** The process's CPU time so far (all threads), ms. */
  | { cmd: "cpu" };

/** Raw peer → parent. */
export type RawReport =
  | { type: "ready" }
  | { type: "signal"; from: string; to: string; data: RawSignal }
  /** cpuMs: the downloader process's CPU time (all threads) during the transfer. */
  | { type: "fetched"; setupMs: number; transferMs: number; bytes: number; cpuMs: number }
  | { type: "cpu"; ms: number }
  | { type: "reset-done" }
  | { type: "fatal"; message: string };

/** Type guard for one report type. */
export const isRaw =
  <T extends RawReport["type"]>(type: T) =>
  (m: unknown): m is Extract<RawReport, { type: T }> =>
    typeof m === "object" && m !== null && (m as { type?: unknown }).type === type;
