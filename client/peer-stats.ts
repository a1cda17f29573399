/**
 * Bytes counted in one place: a {@link ByteTally} adds up the events of {@link SwarmEventMap} — the
 * SDK keeps one for the instance, one per item URL and one per swarm root (the coordinator's
 * `stats` report), a download one for itself. `stats()` is a snapshot of tallies. A new metric is a
 * field here, the line that counts it in {@link ByteTally.add}, and (if public) its place in
 * {@link PeerStats}.
 */
import type { EdgeReason } from "./chunk-tasks";
import type { SwarmEventDetail, SwarmEventMap } from "./swarm-events";

/** Counters fed by events. */
export class ByteTally {
  fromPeers = 0;
  fromEdge = 0;
  fromStore = 0;
  uploaded = 0;
  /** Bytes of distinct chunks obtained (a chunk fetched twice counts once). */
  received = 0;
  readonly byPeer: Record<string, number> = {};
  /** Edge bytes by why the edge served them. */
  readonly edgeWhy: Partial<Record<EdgeReason, number>> = {};
  hashFailures = 0;
  /** Bytes peers sent that failed their SHA-256 check (thrown away, fetched again). */
  hashRefusedBytes = 0;
  /** Peers whose chunks failed their check (the download bans each on its first failure). */
  readonly refusedFrom = new Set<string>();
  deadlineMisses = 0;
  laneRuns = 0;
  private readonly chunks = new Set<number>();

  /**
   * Counts one event.
   * @example
   * tally.add("chunk", { url, index: 0, bytes: 262144, source: "peer", peerId });
   */
  add<K extends keyof SwarmEventMap>(type: K, detail: SwarmEventDetail<K>): void {
    switch (type) {
      case "chunk": {
        const d = detail as SwarmEventDetail<"chunk">;
        if (d.source === "peer") {
          this.fromPeers += d.bytes;
          this.byPeer[d.peerId!] = (this.byPeer[d.peerId!] ?? 0) + d.bytes;
        } else if (d.source === "edge") {
          this.fromEdge += d.bytes;
          if (d.why) this.edgeWhy[d.why] = (this.edgeWhy[d.why] ?? 0) + d.bytes;
        } else this.fromStore += d.bytes;
        // A cold item's pieces (why "cold") are not chunks: no index to dedupe, each piece is new bytes.
        if (d.why === "cold") this.received += d.bytes;
        else if (!this.chunks.has(d.index)) {
          this.chunks.add(d.index);
          this.received += d.bytes;
        }
        break;
      }
      case "hash-failure":
        this.hashFailures++;
        this.hashRefusedBytes += (detail as SwarmEventDetail<"hash-failure">).bytes;
        this.refusedFrom.add((detail as SwarmEventDetail<"hash-failure">).peerId);
        break;
      case "deadline-miss":
        this.deadlineMisses++;
        break;
      case "lane-open":
        this.laneRuns++;
        break;
      case "upload":
        this.uploaded += (detail as SwarmEventDetail<"upload">).bytes;
        break;
    }
  }
}

/** Per-content numbers of {@link PeerStats}. */
export interface ContentStats {
  size: number;
  /** Bytes of distinct chunks obtained (from peers, edge or store). */
  received: number;
  fromPeers: number;
  fromEdge: number;
  byPeer: Record<string, number>;
  /** Edge bytes by why the edge served them (`EdgeReason`). */
  edgeWhy: Partial<Record<EdgeReason, number>>;
}

/** What `Swarm.stats()` returns. */
export interface PeerStats {
  /** This peer's id; `""` until `Swarm.ready` resolved. */
  peerId: string;
  fromPeers: number;
  fromEdge: number;
  uploaded: number;
  peersConnected: number;
  hashFailures: number;
  /** Bytes peers sent that failed verification. */
  hashRefusedBytes: number;
  deadlineMisses: number;
  bannedPeers: string[];
  /** Keyed by absolute edge content URL (`<edge>/c/…`). */
  contents: Record<string, ContentStats>;
}

/** The per-content view of a tally. */
export function contentStats(t: ByteTally, size: number): ContentStats {
  return { size, received: t.received, fromPeers: t.fromPeers, fromEdge: t.fromEdge, byPeer: { ...t.byPeer }, edgeWhy: { ...t.edgeWhy } };
}
