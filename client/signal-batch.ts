/**
 * Signal batching per link: a WebRTC link's offer (or answer) and the ICE candidates the browser
 * gathers right after it (host candidates: a few ms) go to the coordinator as ONE `signal` frame
 * instead of one frame each. Each relayed frame is an inbound request on the coordinator's Durable
 * Object; in the viral-item simulation signalling was 2/3 of a requester's frames (6 per link).
 * A batch goes when the browser signals the end of gathering (the null candidate, RFC 8838 §4.4 /
 * `icegatheringstate` "complete"), an answer's once its candidates pause ({@link ANSWER_QUIET_MS};
 * with STUN/TURN servers configured, only after its first server-reflexive or relayed candidate),
 * or after at most {@link SIGNAL_BATCH_MS}: host candidates come
 * within milliseconds and server-reflexive ones one STUN round trip later, so most links cost one
 * frame per side instead of two (an early one and a late one). A slow or unreachable STUN/TURN
 * server only delays the frame by the bound; what it gathers later follows in later batches.
 * A second description for the same peer (an ICE restart) flushes the first batch so the order is
 * kept. The receiving side unpacks a batch into the single signals the mesh expects
 * ({@link unpackSignal}). A lone end marker is not sent (receivers ignore it: it is one frame for nothing).
 */
import { MAX_SIGNAL_CANDIDATES, type SignalData } from "../protocol/swarm-protocol";

/**
 * How long a link's signal waits at most for the candidates that follow it, ms: one STUN round trip
 * to a nearby server fits; a link takes that much longer to start when gathering is slower.
 */
export const SIGNAL_BATCH_MS = 200;

/**
 * How long an answer's batch waits for more candidates after the last one, ms: a browser or
 * libdatachannel gathers its host candidates in one burst right after `setLocalDescription`.
 */
export const ANSWER_QUIET_MS = 10;

type Candidate = NonNullable<SignalData["candidate"]>;

interface Pending {
  description?: SignalData["description"];
  candidates: Candidate[];
  /** An end-of-candidates marker (null candidate) was signalled: it goes last. */
  end: boolean;
  /** When the batch began (the bound counts from here), ms since the epoch. */
  at: number;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Batches outgoing signals per target peer.
 * @example
 * const b = new SignalBatcher((to, data) => client.signal(to, data));
 * b.signal(peerId, { description: offer }); b.signal(peerId, { candidate }); // one frame, 60 ms later
 */
export class SignalBatcher {
  readonly #send: (to: string, data: SignalData) => boolean;
  readonly #pending = new Map<string, Pending>();
  readonly #delayMs: number;
  readonly #servers: () => boolean;

  /**
   * @param servers whether STUN/TURN servers are configured: then gathering goes on past the host
   *   candidates, and an answer waits for the first candidate a server gave (one frame per side,
   *   not a host-only frame and a late one).
   */
  constructor(send: (to: string, data: SignalData) => boolean, delayMs = SIGNAL_BATCH_MS, servers: () => boolean = () => false) {
    this.#send = send;
    this.#delayMs = delayMs;
    this.#servers = servers;
  }

  /** Queues `data` for `to`; false when nothing can be sent now (the socket is down). */
  signal(to: string, data: SignalData, up: boolean): boolean {
    if (!up) return false;
    // A refusal ends the link: it goes alone, now (nothing queued for `to` matters any more).
    if (data.refused !== undefined) {
      clearTimeout(this.#pending.get(to)?.timer);
      this.#pending.delete(to);
      return this.#send(to, { refused: data.refused });
    }
    let p = this.#pending.get(to);
    // Candidates queued before a description go with it (applied after it: a link's candidates can
    // be gathered before its offer is signalled); a second description flushes the first batch.
    if (p && data.description !== undefined && p.description !== undefined) {
      this.flush(to);
      p = undefined;
    }
    if (!p) {
      p = { candidates: [], end: false, at: Date.now(), timer: setTimeout(() => this.flush(to), this.#delayMs) };
      this.#pending.set(to, p);
    }
    if (data.description !== undefined) p.description = data.description;
    for (const c of data.candidates ?? []) p.candidates.push(c);
    if (data.candidate === null) p.end = true;
    else if (data.candidate !== undefined) p.candidates.push(data.candidate);
    // Gathering is complete: nothing more is coming, so nothing to wait for.
    if (p.end || p.candidates.length >= MAX_SIGNAL_CANDIDATES) this.flush(to);
    // An answer goes once its candidates stop coming for ANSWER_QUIET_MS (within the bound): the
    // link waits for it, and libdatachannel signals the end of gathering late (it held every answer
    // the whole bound). Without its host candidates the offerer cannot check until the answerer's
    // checks reach it, the answerer's check succeeds first and its DTLS ClientHello meets no server
    // (peer-link.ts `held`): a 1 s retransmission in 3 of 4 links on node-datachannel.
    else if (p.description?.type === "answer" && p.candidates.length > 0 && (!this.#servers() || p.candidates.some(fromServer))) {
      clearTimeout(p.timer);
      p.timer = setTimeout(() => this.flush(to), Math.max(0, Math.min(p.at + this.#delayMs, Date.now() + ANSWER_QUIET_MS) - Date.now()));
    }
    return true;
  }

  /** Sends what is queued for `to` now. */
  flush(to: string): void {
    const p = this.#pending.get(to);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(to);
    const data: SignalData = {};
    if (p.description !== undefined) data.description = p.description;
    // One candidate travels as `candidate` (what every receiver reads); several as `candidates`.
    if (p.candidates.length === 1 && !p.end) data.candidate = p.candidates[0] as Candidate;
    else if (p.candidates.length > 0) data.candidates = p.candidates.slice(0, MAX_SIGNAL_CANDIDATES);
    if (data.description === undefined && data.candidate === undefined && data.candidates === undefined) return; // a lone end marker
    if (p.end) data.candidate = null;
    this.#send(to, data);
  }

  /** Drops everything queued (the socket closed: its links are gone too). */
  clear(): void {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
  }
}

/** A candidate a STUN or TURN server gave (`typ srflx` / `typ relay`, RFC 8839 §5.1), not a host one. */
function fromServer(c: Candidate): boolean {
  return / typ (srflx|relay)\b/.test(c.candidate ?? "");
}

/** A relayed signal as the single signals a link applies in order: description, candidates, candidate. */
export function unpackSignal(data: SignalData): SignalData[] {
  if (data.candidates === undefined) return [data];
  const out: SignalData[] = [];
  if (data.description !== undefined) out.push({ description: data.description });
  for (const c of data.candidates) out.push({ candidate: c });
  if (data.candidate !== undefined) out.push({ candidate: data.candidate });
  return out;
}
