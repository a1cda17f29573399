/**
 * Who must hear `peer-left` for a member: the members that were told about it — in a `peers` answer,
 * a `peer-have`, or a relayed `signal` (either side) — since they joined. A member that never heard
 * of X cannot act on X, so it gains nothing from X's `peer-left`; broadcasting every leave to every
 * member was O(members) frames per leave (4,000 members × ~17 leaves/s ≈ 70,000 frames/s).
 *
 * Memory bound: each recipient numbers its tells and keeps, in a ring of `cap` slots, the number
 * of the tell held by each slot (tell n in slot (n − 1) mod cap); each subject keeps an
 * append-only list of (recipient, tell number). An entry is live while that slot still holds that tell and the recipient is a member —
 * O(1) to check, so a tell is a ring write and an array push, no hash-set insert or delete (a first
 * version with sets in both directions, then one checking rings by scan, made a bench `want` of 10
 * peers 10–15 % dearer). Lists are checked only when their subject leaves, and compacted when
 * one outgrows 2 × max(cap, its live entries). So ≤ cap ring slots per member and lists of ≤ ~4·cap
 * entries per member in total, whatever the churn. A subject pushed out of a recipient's ring is
 * one it was told of `cap` tells ago; should it act on it after it left, its signal gets the
 * explicit `peer-gone` error and its dial times out — the safety net a lost `peer-left` always had.
 * Why not "hear every leave past the cap" (a first version): under the bench's churn model nearly
 * every member passes any cap that fits in memory within its session (uniform answers in a big
 * swarm barely repeat), and that kept ~75–90 % of the broadcast (bench/coordinator/leave-fanout.ts).
 *
 * Wake: the record is memory only (persisting a row per told pair would cost SQLite writes on every
 * `want`). After hibernation or eviction the new instance does not know who heard of the members it
 * inherited, so a member that did not join in this instance is broadcast on leave, as before. A
 * same-id reconnect keeps a member's standing (inherited stays inherited; its audience is kept).
 */

/** One membership of a peer id as subject (a rejoin after a leave is a new one). Opaque to callers. */
export interface Subject {
  /**
   * Two slots per tell, interleaved in one backing store (one cache miss less per tell than two
   * arrays): who was told, then as which tell number (its ring slot is (n − 1) mod cap).
   */
  log: (Told | number)[];
  /** Compact the arrays when they grow past this. */
  limit: number;
}

/** One membership of a peer id as recipient: which tell each ring slot holds now. */
interface Told {
  readonly id: string;
  /** Tell number held by each slot (length ≤ cap; 0 = none). */
  seqs: number[];
  /** Slot count this ring was made for (a changed cap starts a new ring). */
  cap: number;
  /** Last tell number. */
  seq: number;
  alive: boolean;
  /** Dedupe stamp for one leave / compaction. */
  mark: number;
}

/**
 * The told-about record of one object instance.
 * @example
 * const aud = new LeaveAudience(() => 128);
 * aud.joined("b", false);
 * aud.tell("a", "b"); // a got b in a peers answer
 * aud.leave("b"); // → ["a"]
 */
export class LeaveAudience {
  /** Current members' subject records, by id (created on the first tell). */
  readonly #subjects = new Map<string, Subject>();
  /** Current members' recipient records, by id (created on the first tell). */
  readonly #told = new Map<string, Told>();
  /** Members that joined in this instance; any other member's audience is unknown (wake). */
  readonly #joinedHere = new Set<string>();
  #stamp = 0;

  /**
   * `cap`: tells remembered per recipient (read per use; changing it on a live instance — tests do
   * — starts each recipient's ring afresh at its next tell).
   */
  constructor(readonly cap: () => number) {}

  /** A `hello` was accepted; `replaced` = the id was already a member (a same-id reconnect). */
  joined(peerId: string, replaced: boolean): void {
    if (!replaced) this.#joinedHere.add(peerId);
  }

  /** Records that `recipient` now knows `subject`; past the cap its oldest tell is forgotten. O(1) amortised. */
  tell(recipient: string, subject: string): void {
    if (recipient !== subject) this.#tell(this.#recipient(recipient), subject);
  }

  /** {@link tell} for each of `subjects` (a `peers` answer): one recipient lookup for all. */
  tellAll(recipient: string, subjects: readonly { peerId: string }[]): void {
    if (subjects.length === 0) return;
    const t = this.#recipient(recipient);
    for (const s of subjects) if (s.peerId !== recipient) this.#push(t, this.#subject(s.peerId, t.cap));
  }

  #recipient(id: string): Told {
    const cap = Math.max(1, this.cap());
    let t = this.#told.get(id);
    if (t === undefined || t.cap !== cap) {
      // A new recipient, or a changed cap: a fresh ring (entries pointing into the old one are dead).
      if (t !== undefined) t.alive = false;
      this.#told.set(id, (t = { id, seqs: [], cap, seq: 0, alive: true, mark: 0 }));
    }
    return t;
  }

  #tell(t: Told, subject: string): void {
    this.#push(t, this.#subject(subject, t.cap));
  }

  #subject(id: string, cap: number): Subject {
    let sub = this.#subjects.get(id);
    if (sub === undefined) this.#subjects.set(id, (sub = { log: [], limit: 4 * cap }));
    return sub;
  }

  #push(t: Told, sub: Subject): void {
    const cap = t.cap;
    const seq = ++t.seq;
    const slot = (seq - 1) % cap; // tell n goes to slot (n − 1) mod cap: the oldest one's
    if (slot === t.seqs.length) t.seqs.push(seq);
    else t.seqs[slot] = seq;
    sub.log.push(t, seq);
    if (sub.log.length > sub.limit) this.#compact(sub, cap);
  }

  /**
   * `peerId` left: forgets it both as subject and as recipient, and returns who must hear
   * `peer-left` — "all" when its audience is unknown (it joined before this instance). The caller
   * sends only to current members.
   */
  leave(peerId: string): Iterable<string> | "all" {
    const inherited = !this.#joinedHere.delete(peerId);
    const t = this.#told.get(peerId);
    if (t !== undefined) t.alive = false;
    this.#told.delete(peerId);
    const sub = this.#subjects.get(peerId);
    this.#subjects.delete(peerId);
    if (inherited) return "all";
    const out: string[] = [];
    if (sub === undefined) return out;
    const stamp = ++this.#stamp;
    const log = sub.log;
    for (let i = 0; i < log.length; i += 2) {
      const r = log[i] as Told;
      if (r.mark === stamp || !live(r, log[i + 1] as number)) continue;
      r.mark = stamp;
      out.push(r.id);
    }
    return out;
  }

  /** Ring slots plus list entries, recipients with a record, subjects: for tests and the bench (O(members)). */
  size(): { entries: number; recipients: number; subjects: number } {
    let entries = 0;
    for (const t of this.#told.values()) entries += t.seqs.length;
    for (const s of this.#subjects.values()) entries += s.log.length / 2;
    return { entries, recipients: this.#told.size, subjects: this.#subjects.size };
  }

  /** Keeps each recipient's newest live entry only; the next compaction waits for twice as many. */
  #compact(sub: Subject, cap: number): void {
    const stamp = ++this.#stamp;
    const log = sub.log;
    const kept: (Told | number)[] = [];
    // Newest first, so the entry kept per recipient is its latest tell (the one evicted last).
    for (let i = log.length - 2; i >= 0; i -= 2) {
      const r = log[i] as Told;
      const seq = log[i + 1] as number;
      if (r.mark === stamp || !live(r, seq)) continue;
      r.mark = stamp;
      kept.push(seq, r); // reversed below
    }
    kept.reverse();
    sub.log = kept;
    sub.limit = 4 * Math.max(cap, kept.length / 2);
  }
}

/** Whether `r`'s ring still holds its tell `seq` (and `r` is still a member). */
function live(r: Told, seq: number): boolean {
  return r.alive && r.seqs[(seq - 1) % r.cap] === seq;
}
