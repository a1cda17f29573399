/**
 * `peer-left` frames per leave under churn, before (broadcast to every member) vs after (only the
 * members told of the leaver: durable/leave-audience.ts, the object's own class), at K members in
 * steady state. A model, not workerd: the frame count is decided by who was told whom, which the
 * model drives through the real record; the object's per-frame costs are the other section's job.
 *
 * Model (per member; SDK figures from client/swarm-client.ts): sessions exponential with mean
 * `sessionS` (240 s: browser sessions < 4 min); a `want` on join and then one every `wantEveryS`
 * (the SDK's floor is 2 s, while it has orphan chunks), each answered by `answer` members drawn
 * uniformly (a one-ASN swarm: the nearby sampler's case, and the least overlap between answers);
 * the member signals `dials` of each answer (the callee learns the caller); a `have` every
 * `haveEveryS` tells 8 recent (30 s) wanters (`peer-have`). Leaving members are replaced at once.
 */
import { LeaveAudience } from "../../durable/leave-audience";
import { DEFAULT_LIMITS } from "../../durable/swarm-limits";

/** One scenario. */
export interface FanoutModel {
  members: number;
  sessionS: number;
  wantEveryS: number;
  answer: number;
  dials: number;
  haveEveryS: number;
  cap?: number;
  seed?: number;
}

/** What one run measured over its measuring window (after a warm-up of two mean sessions). */
export interface FanoutResult {
  leaves: number;
  /** Mean frames per leave: before = members − 1; after = recipients that are members. */
  framesBefore: number;
  framesAfter: number;
  /** Record size at the end, set entries per member (both directions). */
  entriesPerMember: number;
  /** Wall time of one `tell` on the final record, ns (a `want` answered with N peers pays N). */
  nsPerTell: number;
}

/**
 * Runs the model for one K.
 * @example
 * measureLeaveFanout({ members: 4000, sessionS: 240, wantEveryS: 20, answer: 8, dials: 2, haveEveryS: 5 }).framesAfter;
 */
export function measureLeaveFanout(m: FanoutModel): FanoutResult {
  let seed = m.seed ?? 1;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const aud = new LeaveAudience(() => m.cap ?? DEFAULT_LIMITS.leaveAudienceCap);
  const ids: string[] = [];
  const pos = new Map<string, number>();
  /** Wants in time order (id, time); trimmed to the 30 s `peer-have` window. */
  let recent: [string, number][] = [];
  let next = 0;
  const add = () => {
    const id = `p${next++}`;
    pos.set(id, ids.length);
    ids.push(id);
    aud.joined(id, false);
    return id;
  };
  const remove = (id: string) => {
    const at = pos.get(id)!;
    const last = ids.pop()!;
    if (at < ids.length) {
      ids[at] = last;
      pos.set(last, at);
    }
    pos.delete(id);
  };
  const tell = (r: string, s: string) => aud.tell(r, s);
  const want = (id: string, now: number) => {
    recent.push([id, now]);
    const answer: string[] = [];
    for (let k = 0; k < m.answer * 3 && answer.length < Math.min(m.answer, ids.length - 1); k++) {
      const p = ids[Math.floor(rnd() * ids.length)]!;
      if (p !== id && !answer.includes(p)) answer.push(p);
    }
    for (const p of answer) tell(id, p);
    for (const p of answer.slice(0, m.dials)) tell(p, id);
  };
  for (let i = 0; i < m.members; i++) want(add(), 0);
  const warmS = 2 * m.sessionS, endS = warmS + m.sessionS;
  let leaves = 0, before = 0, after = 0;
  // 1 s steps: each member leaves with p = 1/session, wants / haves at their rates (Bernoulli).
  for (let t = 1; t <= endS; t++) {
    const measuring = t > warmS;
    let cut = 0;
    while (cut < recent.length && recent[cut]![1] < t - 30) cut++;
    if (cut > 0) recent = recent.slice(cut);
    for (const id of [...ids]) {
      if (rnd() < 1 / m.sessionS) {
        const to = aud.leave(id);
        remove(id);
        if (measuring) {
          leaves++;
          before += ids.length; // every other member (the leaver is already removed)
          if (to === "all") after += ids.length;
          else for (const r of to) if (pos.has(r)) after++;
        }
        want(add(), t);
        continue;
      }
      if (rnd() < 1 / m.wantEveryS) want(id, t);
      if (rnd() < 1 / m.haveEveryS) {
        // 8 recent wanters that are still members (the object picks the nearest; here: random).
        for (let k = 0; k < 8 && recent.length > 0; k++) {
          const w = recent[Math.floor(rnd() * recent.length)]![0];
          if (w !== id && pos.has(w)) tell(w, id);
        }
      }
    }
  }
  const end = aud.size();
  // Cost of one tell on the record as it stands (full rings): a want of `answer` peers pays that many.
  const n = 200_000, t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) aud.tell(ids[i % ids.length]!, ids[(i * 7919 + 13) % ids.length]!);
  const nsPerTell = Number(process.hrtime.bigint() - t0) / n;
  return {
    leaves, framesBefore: before / Math.max(1, leaves), framesAfter: after / Math.max(1, leaves),
    entriesPerMember: end.entries / ids.length, nsPerTell,
  };
}
