/**
 * Who must hear `peer-left` for a member: the members that were told about it — in a `peers` answer,
 * a `peer-have`, or a relayed `signal` (either side) — since they joined. A member that never heard
 * of X cannot act on X, so it gains nothing from X's `peer-left`; broadcasting every leave to every
 * member was O(members) frames per leave (4,000 members × ~17 leaves/s ≈ 70,000 frames/s).
 *
 * Memory bound: each recipient keeps the subjects of its last `cap` tells in a ring (being told
 * again keeps a subject); each subject keeps an append-only list of the records that were told of
 * it, checked against their rings only when it leaves (and when the list outgrows twice its live
 * size, compacted). So a tell is a ring write and an array push — no hash-set insert and delete per
 * tell, which cost 0.5–1.3 µs of CPU each at K = 4,000 in a first version, i.e. up to a tenth of a
 * `want`. Bound: ≤ cap ring slots per member, and per subject a list ≤ 2 × max(cap, its live
 * audience) — in total ≤ ~4·cap entries per member, whatever the churn. A subject pushed out of a recipient's
 * record is one it was told of `cap` tells ago; should it act on it after it left, its signal gets
 * the explicit `peer-gone` error and its dial times out — the safety net a lost `peer-left` always
 * had. Why not "hear every leave past the
 * cap" (the first version): under the bench's churn model nearly every member passes any cap that
 * fits in memory within its session (uniform answers in a big swarm barely repeat), and that
 * kept ~75–90 % of the broadcast (bench/coordinator/leave-fanout.ts).
 *
 * Wake: the record is memory only (persisting a row per told pair would cost SQLite writes on every
 * `want`). After hibernation or eviction the new instance does not know who heard of the members it
 * inherited, so a member that did not join in this instance is broadcast on leave, as before. A
 * same-id reconnect keeps a member's standing (inherited stays inherited; its audience is kept).
 */

/** One membership of a peer id (a rejoin after a leave is a new one: old ring slots never match it). */
interface Subject {
  /** Records told of it, possibly stale (evicted from their ring, gone) or repeated. */
  heard: Told[];
  /** Compact `heard` when it grows past this. */
  limit: number;
}

/** One recipient's record: its last `cap` tells (a ring; `next` = the slot to overwrite). */
interface Told {
  readonly id: string;
  ring: Subject[];
  next: number;
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

  /** `cap`: tells remembered per recipient (read per use, so a live instance's limits can change). */
  constructor(readonly cap: () => number) {}

  /** A `hello` was accepted; `replaced` = the id was already a member (a same-id reconnect). */
  joined(peerId: string, replaced: boolean): void {
    if (!replaced) this.#joinedHere.add(peerId);
  }

  /** Records that `recipient` now knows `subject`; past the cap its oldest tell is forgotten. O(1) amortised. */
  tell(recipient: string, subject: string): void {
    if (recipient === subject) return;
    const cap = Math.max(1, this.cap());
    let sub = this.#subjects.get(subject);
    if (sub === undefined) this.#subjects.set(subject, (sub = { heard: [], limit: 2 * cap }));
    let told = this.#told.get(recipient);
    if (told === undefined) this.#told.set(recipient, (told = { id: recipient, ring: [], next: 0, alive: true, mark: 0 }));
    const ring = told.ring;
    if (ring.length > cap) {
      // The cap was lowered on a live instance: keep the newest `cap` tells.
      told.ring = ring.slice(told.next).concat(ring.slice(0, told.next)).slice(-cap);
      told.next = 0;
    }
    if (told.ring.length === cap) {
      told.ring[told.next] = sub;
      told.next = (told.next + 1) % cap;
    } else told.ring.push(sub);
    sub.heard.push(told);
    if (sub.heard.length > sub.limit) {
      sub.heard = this.#live(sub);
      sub.limit = 2 * Math.max(cap, sub.heard.length);
    }
  }

  /**
   * `peerId` left: forgets it both as subject and as recipient, and returns who must hear
   * `peer-left` — "all" when its audience is unknown (it joined before this instance). The caller
   * sends only to current members.
   */
  leave(peerId: string): Iterable<string> | "all" {
    const inherited = !this.#joinedHere.delete(peerId);
    const told = this.#told.get(peerId);
    if (told !== undefined) told.alive = false;
    this.#told.delete(peerId);
    const sub = this.#subjects.get(peerId);
    this.#subjects.delete(peerId);
    if (inherited) return "all";
    return sub === undefined ? [] : this.#live(sub).map((t) => t.id);
  }

  /** Ring slots plus audience entries, recipients with a record, subjects: for tests and the bench (O(entries)). */
  size(): { entries: number; recipients: number; subjects: number } {
    let entries = 0;
    for (const t of this.#told.values()) entries += t.ring.length;
    for (const s of this.#subjects.values()) entries += s.heard.length;
    return { entries, recipients: this.#told.size, subjects: this.#subjects.size };
  }

  /** The distinct live records whose ring still holds `sub` (O(heard × cap), ≤ cap compares each). */
  #live(sub: Subject): Told[] {
    const stamp = ++this.#stamp;
    const out: Told[] = [];
    for (const t of sub.heard) {
      if (!t.alive || t.mark === stamp || !t.ring.includes(sub)) continue;
      t.mark = stamp;
      out.push(t);
    }
    return out;
  }
}
