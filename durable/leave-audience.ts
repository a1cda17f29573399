/**
 * Who must hear `peer-left` for a member: the members that were told about it — in a `peers` answer,
 * a `peer-have`, or a relayed `signal` (either side) — since they joined. A member that never heard
 * of X cannot act on X, so it gains nothing from X's `peer-left`; broadcasting every leave to every
 * member was O(members) frames per leave (4,000 members × ~17 leaves/s ≈ 70,000 frames/s).
 *
 * Memory bound: both directions are indexed (subject → recipients for the leave, recipient →
 * subjects to clean up when the recipient leaves), and each recipient holds at most `cap` subjects.
 * A recipient that would exceed it is "flooded": its record is dropped and it hears every leave
 * (the old rule, for that one member only). So ≤ 2·cap set entries per member, whatever the churn.
 *
 * Wake: the record is memory only (persisting a row per told pair would cost SQLite writes on every
 * `want`). After hibernation or eviction the new instance does not know who heard of the members it
 * inherited, so a member that did not join in this instance is broadcast on leave, as before. A
 * same-id reconnect keeps a member's standing (inherited stays inherited; its audience is kept).
 */

/**
 * The told-about record of one object instance.
 * @example
 * const aud = new LeaveAudience(() => 128);
 * aud.joined("b", false);
 * aud.tell("a", "b"); // a got b in a peers answer
 * aud.leave("b"); // → ["a"]
 */
export class LeaveAudience {
  /** subject → recipients told about it. */
  readonly #audience = new Map<string, Set<string>>();
  /** recipient → subjects it was told about (≤ cap). */
  readonly #told = new Map<string, Set<string>>();
  /** Recipients past the cap: they hear every leave. */
  readonly #flooded = new Set<string>();
  /** Members that joined in this instance; any other member's audience is unknown (wake). */
  readonly #joinedHere = new Set<string>();

  /** `cap`: subjects per recipient (read per use, so a live instance's limits can change). */
  constructor(readonly cap: () => number) {}

  /** A `hello` was accepted; `replaced` = the id was already a member (a same-id reconnect). */
  joined(peerId: string, replaced: boolean): void {
    if (!replaced) this.#joinedHere.add(peerId);
  }

  /** Records that `recipient` now knows `subject` (idempotent; O(1)). */
  tell(recipient: string, subject: string): void {
    if (recipient === subject || this.#flooded.has(recipient)) return;
    let told = this.#told.get(recipient);
    if (told === undefined) this.#told.set(recipient, (told = new Set()));
    else if (told.has(subject)) return;
    if (told.size >= this.cap()) return this.#flood(recipient, told);
    told.add(subject);
    let aud = this.#audience.get(subject);
    if (aud === undefined) this.#audience.set(subject, (aud = new Set()));
    aud.add(recipient);
  }

  /**
   * `peerId` left: forgets it both as subject and as recipient, and returns who must hear
   * `peer-left` — "all" when its audience is unknown (it joined before this instance). The caller
   * sends only to current members (recipients may have left since; ids are removed as they leave).
   */
  leave(peerId: string): Iterable<string> | "all" {
    const inherited = !this.#joinedHere.delete(peerId);
    const told = this.#told.get(peerId);
    if (told !== undefined) {
      for (const s of told) this.#audience.get(s)?.delete(peerId);
      this.#told.delete(peerId);
    }
    this.#flooded.delete(peerId);
    const aud = this.#audience.get(peerId);
    this.#audience.delete(peerId);
    if (inherited) {
      for (const r of aud ?? []) this.#told.get(r)?.delete(peerId);
      return "all";
    }
    const out: string[] = [];
    for (const r of aud ?? []) {
      this.#told.get(r)?.delete(peerId);
      out.push(r);
    }
    for (const r of this.#flooded) out.push(r);
    return out;
  }

  /** Set entries held (both directions) and flooded recipients: for tests and the bench. */
  size(): { entries: number; flooded: number; recipients: number } {
    let entries = 0;
    for (const t of this.#told.values()) entries += t.size;
    for (const a of this.#audience.values()) entries += a.size;
    return { entries, flooded: this.#flooded.size, recipients: this.#told.size };
  }

  #flood(recipient: string, told: Set<string>): void {
    for (const s of told) this.#audience.get(s)?.delete(recipient);
    this.#told.delete(recipient);
    this.#flooded.add(recipient);
  }
}
