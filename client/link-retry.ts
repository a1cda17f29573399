/**
 * The retry policy of links we offered: an attempt that failed before its channel opened gets one
 * more try after a short delay. ICE or DTLS can fail once and succeed at once on a fresh connection
 * (seen with libdatachannel under load: a DTLS handshake refused with "unknown CA" between two
 * healthy peers); a holder we failed to reach is otherwise never tried again during the download,
 * whose bytes then all come from the edge.
 */

/** Close reasons of an attempt that failed before opening and is worth one more try. */
const RETRYABLE = /^(ice-|timeout|signal-error|channel-closed)/;
/** Attempts after the first, per peer, while the mesh lives. */
const MAX_RETRIES = 1;
/** Delay before the retry: lets the remote drop its half of the failed connection. */
const RETRY_DELAY_MS = 200;
/** Peers whose retry count is remembered (oldest forgotten first): bounds the map. */
const MAX_RETRY_MEMORY = 256;
/**
 * How long a peer that declined our offer at its link limit is not offered again, ms: its links
 * free up as they go idle (`peer-mesh.ts` IDLE_MS, 2 s) or its visitors leave; the swarm names it
 * again on the next `want`, and each declined offer costs two coordinator frames.
 */
export const DECLINED_MS = 5_000;

/** Retries due, per peer: while one waits for its timer it counts as a connecting link. */
export interface LinkRetry {
  /**
   * A link we offered to `peerId` closed with `reason` before its channel opened: schedules one
   * more attempt through the swarms `via` if the reason is worth it and the peer was not retried.
   */
  failed(peerId: string, via: ReadonlySet<string>, reason: string): void;
  /** True while a retry through the swarm of `root` waits for its timer. */
  waitingVia(root: string): boolean;
  /** `peerId` left the swarm of `root`: its retry no longer goes through it (none left: dropped). */
  peerLeft(root: string, peerId: string): void;
  /** `peerId` declined our offer at its link limit, at `now` (ms): not offered again for {@link DECLINED_MS}. */
  declined(peerId: string, now: number): void;
  /** Whether `peerId` declined an offer less than {@link DECLINED_MS} before `now`. */
  declinedRecently(peerId: string, now: number): boolean;
  /** Drops every waiting retry. */
  close(): void;
}

/**
 * The retry policy; `retry` makes the new attempt, through the swarms (roots) `via`.
 *
 * @example
 * const retries = linkRetry((peerId, via) => reconnect(peerId, via));
 * link.onClose = (reason) => retries.failed(peerId, via, reason);
 */
export function linkRetry(retry: (peerId: string, via: ReadonlySet<string>) => void): LinkRetry {
  /** peerId → attempts retried; insertion order is age. */
  const retried = new Map<string, number>();
  /** peerId → the roots of a retry waiting for its timer. */
  const waiting = new Map<string, { via: Set<string>; timer: ReturnType<typeof setTimeout> }>();
  /** peerId → when it declined; insertion order is age. */
  const declinedAt = new Map<string, number>();
  return {
    declined(peerId, now) {
      declinedAt.delete(peerId);
      declinedAt.set(peerId, now);
      if (declinedAt.size > MAX_RETRY_MEMORY) declinedAt.delete(declinedAt.keys().next().value!);
    },
    declinedRecently(peerId, now) {
      const at = declinedAt.get(peerId);
      if (at === undefined) return false;
      if (now - at < DECLINED_MS) return true;
      declinedAt.delete(peerId);
      return false;
    },
    failed(peerId, via, reason) {
      const n = retried.get(peerId) ?? 0;
      if (!RETRYABLE.test(reason) || n >= MAX_RETRIES || waiting.has(peerId)) return;
      retried.delete(peerId); // re-insert: the map's order is its age
      retried.set(peerId, n + 1);
      if (retried.size > MAX_RETRY_MEMORY) retried.delete(retried.keys().next().value!);
      const w = { via: new Set(via), timer: setTimeout(() => waiting.delete(peerId) && retry(peerId, w.via), RETRY_DELAY_MS) };
      waiting.set(peerId, w);
    },
    waitingVia(root) {
      for (const w of waiting.values()) if (w.via.has(root)) return true;
      return false;
    },
    peerLeft(root, peerId) {
      const w = waiting.get(peerId);
      if (w?.via.delete(root) && w.via.size === 0) {
        clearTimeout(w.timer);
        waiting.delete(peerId);
      }
    },
    close() {
      for (const w of waiting.values()) clearTimeout(w.timer);
      waiting.clear();
    },
  };
}
