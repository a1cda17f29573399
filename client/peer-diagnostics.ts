/**
 * What `swarm.diagnose()` reports: every link the SDK tried, its state, the ICE candidate pair it
 * settled on and — for a link that never opened or died — why. Lives on the peer side of the split
 * build (imported by `peer-mesh.ts`), so the first load does not carry it; `swarm.ts` imports only
 * its types.
 *
 * The candidate pair is read with `RTCPeerConnection.getStats()` (W3C webrtc-stats): the
 * `transport` entry's `selectedCandidatePairId`, else the `candidate-pair` that is `nominated` and
 * `succeeded`; its `localCandidateId`/`remoteCandidateId` name the `local-candidate` and
 * `remote-candidate` entries (`candidateType`, `protocol`, `address` — `ip` in older engines and in
 * node-datachannel's polyfill). `currentRoundTripTime` is in seconds (§ RTCIceCandidatePairStats).
 */

/** ICE candidate types (RFC 8445 §5.1.1): `srflx` is a NAT's public mapping, `relay` a TURN server. */
export type CandidateType = "host" | "srflx" | "prflx" | "relay";

/** A link's state: `failed` never opened or died of an error; `closed` ended normally. */
export type LinkState = "connecting" | "connected" | "failed" | "closed";

/**
 * Why a link ended (or was never made).
 * - `connect-timeout`: the data channel did not open in time (no answer, or ICE checks never finished).
 * - `ice-failed`: ICE found no working candidate pair (both sides behind NATs, no TURN), or lost it.
 * - `relay-policy`: `iceTransportPolicy: "relay"` and no TURN relay candidate was gathered, so no
 *   direct link is allowed and none through a relay is possible.
 * - `no-remote-candidates`: the remote peer sent no ICE candidate it could be reached on (it is
 *   relay-only without TURN, or its candidates were lost).
 * - `signal-refused`: the coordinator refused to relay our signal (`detail`: `peer-gone` — the peer
 *   left before our offer reached it —, or `target-busy`), or the peer declined our offer
 *   (`detail`: `link-limit` — it holds all the links it accepts, none idle).
 * - `signal-unsent`: no swarm socket could carry the signal (disconnected, or its join token expired).
 * - `signal-error`: an offer, answer or candidate could not be applied (`detail` has the message).
 * - `channel-closed`: the data channel closed (before opening: a failure; after: the remote left).
 * - `send-failed`: the browser refused a send on an open channel.
 * - `banned`: the peer sent a chunk that failed its SHA-256 check; it is never linked again.
 * - `protocol`: the peer sent a malformed frame (banned as well).
 * - `link-limit`: at `maxPeers` with no idle link to make room; not tried.
 * - `peer-left`: the peer left the swarm before the link opened.
 * - `idle`: closed to make room for a peer of a new item. `local`: this swarm closed.
 */
export type LinkEndReason =
  | "connect-timeout" | "ice-failed" | "relay-policy" | "no-remote-candidates" | "signal-refused" | "signal-unsent"
  | "signal-error" | "channel-closed" | "send-failed" | "banned" | "protocol" | "link-limit" | "peer-left" | "idle" | "local";

/** One end of the selected candidate pair. */
export interface CandidateInfo {
  type: CandidateType | string;
  /** `udp` or `tcp`. */
  protocol?: string;
  address?: string;
  port?: number;
  /** For a `relay` candidate: how it reaches the TURN server (`udp`, `tcp`, `tls`). */
  relayProtocol?: string;
}

/** The candidate pair a link uses, from `getStats()`. */
export interface CandidatePairInfo {
  local: CandidateInfo;
  remote: CandidateInfo;
  /** Bytes through this pair (data-channel payload with its SCTP/DTLS framing). */
  bytesSent: number;
  bytesReceived: number;
  /** Latest STUN round trip, ms; absent where the engine does not measure it. */
  rttMs?: number;
}

/** One link, as `diagnose()` reports it. JSON-serialisable. */
export interface PeerDiagnosis {
  peerId: string;
  /** Swarms (content roots) through which the link was made or used. */
  roots: string[];
  state: LinkState;
  /** Which side sent the offer that the link settled on. */
  offeredBy: "local" | "remote";
  /** `RTCPeerConnection.iceConnectionState` when last seen (`"new"` if never changed). */
  iceConnectionState: string;
  /** Wall-clock ms. */
  startedAt: number;
  openedAt?: number;
  /**
   * When the remote's peer-frame HELLO arrived (wall-clock ms): a link is asked for chunks only
   * after it, so a connected link without it carries nothing.
   */
  helloAt?: number;
  endedAt?: number;
  /** Why it failed or closed (absent while connecting or connected). */
  reason?: LinkEndReason;
  /** The raw message behind `reason`, where there is one (a signalling error's text). */
  detail?: string;
  /** Attempts in a row that never opened and ended the same way (a retry, repeated refusals). */
  attempts?: number;
  /** Local ICE candidates gathered, by type; remote candidates received. */
  candidates: { local: Partial<Record<CandidateType, number>>; remote: number };
  /** The selected pair: live for a connected link, the last reading for an ended one. */
  pair?: CandidatePairInfo;
}

/** What `swarm.diagnose()` returns. JSON-serialisable; never contains ICE credentials. */
export interface SwarmDiagnosis {
  peerId: string;
  /** `on` once the peer side runs; else why not (`unsupported`: no WebRTC or WebSocket). */
  p2p: "on" | "starting" | "unsupported" | "no-consent";
  iceTransportPolicy: RTCIceTransportPolicy;
  /** ICE server URLs in use (usernames and credentials left out). */
  iceServers: string[];
  /** Open and connecting links, then the most recent ended ones (at most {@link HISTORY_SIZE}). */
  peers: PeerDiagnosis[];
}

/** Ended links (failed, closed, refused) kept for `diagnose()`: the most recent win. */
export const HISTORY_SIZE = 64;

/** ICE server URLs only: a TURN entry's username and credential never leave the SDK. */
export function iceServerUrls(servers: readonly RTCIceServer[]): string[] {
  return servers.flatMap((s) => (typeof s.urls === "string" ? [s.urls] : [...s.urls]));
}

/** The candidate type named in an SDP candidate line (`… typ srflx raddr …`, RFC 8839 §5.1). */
export function candidateTypeOf(line: string): CandidateType | undefined {
  return / typ (host|srflx|prflx|relay)\b/.exec(line)?.[1] as CandidateType | undefined;
}

type StatsEntry = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

function candidate(e: StatsEntry | undefined): CandidateInfo {
  const out: CandidateInfo = { type: str(e?.candidateType) ?? "unknown" };
  const protocol = str(e?.protocol);
  const address = str(e?.address) ?? str(e?.ip);
  const port = num(e?.port);
  const relayProtocol = str(e?.relayProtocol);
  if (protocol) out.protocol = protocol;
  if (address) out.address = address;
  if (port !== undefined) out.port = port;
  if (relayProtocol) out.relayProtocol = relayProtocol;
  return out;
}

/**
 * The selected candidate pair of a `getStats()` report, or undefined before ICE picked one.
 *
 * @example
 * const pair = selectedPair(await pc.getStats()); // { local: { type: "host", … }, remote: …, bytesSent, … }
 */
export function selectedPair(report: { forEach(cb: (v: unknown, k: string) => void): void }): CandidatePairInfo | undefined {
  const byId = new Map<string, StatsEntry>();
  report.forEach((v, k) => {
    if (v && typeof v === "object") byId.set(str((v as StatsEntry).id) ?? k, v as StatsEntry);
  });
  let pair: StatsEntry | undefined;
  for (const e of byId.values()) {
    const id = e.type === "transport" ? str(e.selectedCandidatePairId) : undefined;
    if (id && byId.get(id)) pair = byId.get(id);
  }
  // Without a transport entry (Firefox), the nominated, succeeded pair is the selected one
  // (webrtc-stats §7.13); Firefox also marks it with its own `selected: true`.
  pair ??= [...byId.values()].find((e) => e.type === "candidate-pair" && (e.selected === true || (e.nominated === true && e.state === "succeeded")));
  if (!pair) return undefined;
  const local = byId.get(str(pair.localCandidateId) ?? "");
  const out: CandidatePairInfo = {
    local: candidate(local),
    remote: candidate(byId.get(str(pair.remoteCandidateId) ?? "")),
    bytesSent: num(pair.bytesSent) ?? 0,
    bytesReceived: num(pair.bytesReceived) ?? 0,
  };
  // node-datachannel's polyfill (0.33) names candidates' address `ip` only and reports libdatachannel's
  // RTT in ms (-1: none yet); browsers report seconds (webrtc-stats §7.13 currentRoundTripTime).
  const ms = local !== undefined && local.address === undefined && local.ip !== undefined;
  const rtt = num(pair.currentRoundTripTime);
  if (rtt !== undefined && rtt >= 0) out.rttMs = ms ? rtt : Math.round(rtt * 1e4) / 10;
  return out;
}

/** What a link knows of itself when it ends, for {@link endReason}. */
export interface LinkFacts {
  opened: boolean;
  /** Local candidates gathered, by type. */
  local: Partial<Record<CandidateType, number>>;
  /** Remote candidates received. */
  remote: number;
  /** The coordinator's error code for our last refused signal, or `unsent` when no socket took it. */
  signalError?: string | undefined;
  iceTransportPolicy: RTCIceTransportPolicy;
}

/** How a link ended, as {@link endReason} names it. */
export type LinkEnd = { state: "failed" | "closed"; reason: LinkEndReason; detail?: string };

/**
 * Turns a link's raw close reason (`peer-link.ts`) into a {@link LinkEndReason} and its state,
 * naming the most specific cause the link's facts support: a timeout of a relay-only link that
 * gathered no relay candidate is the policy's doing, not the network's.
 *
 * @example
 * endReason("timeout", { opened: false, local: {}, remote: 0, iceTransportPolicy: "relay" }); // { state: "failed", reason: "relay-policy" }
 */
export function endReason(raw: string, f: LinkFacts): LinkEnd {
  if (raw.startsWith("signal-error")) return { state: "failed", reason: "signal-error", detail: raw.replace(/^signal-error:\s*/, "") };
  const known: Record<string, LinkEndReason> = {
    timeout: "connect-timeout", "signal-refused": "signal-refused", "ice-failed": "ice-failed", "ice-closed": "ice-failed", "channel-closed": "channel-closed",
    "send-failed": "send-failed", banned: "banned", protocol: "protocol", "peer-left": "peer-left", idle: "idle", local: "local",
  };
  let reason = known[raw] ?? "channel-closed";
  if (!f.opened && (reason === "connect-timeout" || reason === "ice-failed")) {
    if (f.iceTransportPolicy === "relay" && !f.local.relay) reason = "relay-policy";
    else if (f.signalError === "unsent") reason = "signal-unsent";
    else if (f.signalError) reason = "signal-refused";
    else if (!f.remote) reason = "no-remote-candidates";
  }
  const benign = reason === "idle" || reason === "local" || (f.opened && (reason === "channel-closed" || reason === "peer-left"));
  const out: LinkEnd = { state: benign ? "closed" : "failed", reason };
  if (reason === "signal-refused" || reason === "signal-unsent") out.detail = f.signalError!;
  return out;
}

/** What a link (`peer-link.ts`) shows of itself. */
export interface DiagnosableLink {
  readonly remoteId: string;
  readonly state: "connecting" | "open" | "closed";
  readonly offeredBy: "local" | "remote";
  readonly iceState: string;
  readonly facts: LinkFacts;
  stats(): Promise<{ forEach(cb: (v: unknown, k: string) => void): void } | undefined>;
}

/** What the mesh keeps per link for `diagnose()`. */
export interface TrackedLink {
  link: DiagnosableLink;
  /** Swarms (roots) the link was made or used through. */
  via: Set<string>;
  /** Wall-clock ms. */
  startedAt: number;
  openedAt?: number;
  /** When the remote's HELLO arrived. */
  helloAt?: number;
  /** The selected candidate pair when last read. */
  pair?: CandidatePairInfo;
}

/** Reads the link's selected candidate pair into `t.pair` (kept once the link has closed). */
export async function readPair(t: TrackedLink): Promise<void> {
  const report = await t.link.stats();
  const pair = report && selectedPair(report);
  if (pair) t.pair = pair;
}

/** A live link, as `diagnose()` reports it. */
export function describeLink(t: TrackedLink): PeerDiagnosis {
  const { link } = t;
  const d: PeerDiagnosis = {
    peerId: link.remoteId,
    roots: [...t.via],
    state: link.state === "open" ? "connected" : "connecting",
    offeredBy: link.offeredBy,
    iceConnectionState: link.iceState,
    startedAt: t.startedAt,
    candidates: { local: { ...link.facts.local }, remote: link.facts.remote },
  };
  if (t.openedAt !== undefined) d.openedAt = t.openedAt;
  if (t.helloAt !== undefined) d.helloAt = t.helloAt;
  if (t.pair) d.pair = t.pair;
  return d;
}

/**
 * The links part of `swarm.diagnose()`: live links (open ones' pairs read now), then the history;
 * ICE servers by URL.
 */
export async function diagnoseLinks(live: TrackedLink[], history: LinkHistory, iceServers: readonly RTCIceServer[]): Promise<{ iceServers: string[]; peers: PeerDiagnosis[] }> {
  await Promise.all(live.map((t) => t.link.state === "open" && readPair(t)));
  return { iceServers: iceServerUrls(iceServers), peers: [...live.map(describeLink), ...history.list()] };
}

/**
 * The last {@link HISTORY_SIZE} ended links. A refusal repeated for the same peer and reason
 * (the coordinator names the same holders again and again at the link limit) updates its entry
 * instead of pushing out older ones.
 */
export class LinkHistory {
  private readonly items: PeerDiagnosis[] = [];

  constructor(private readonly size = HISTORY_SIZE) {}

  /** Records an ended link. */
  add(d: PeerDiagnosis): void {
    const i = d.openedAt === undefined ? this.items.findIndex((x) => x.peerId === d.peerId && x.reason === d.reason && x.openedAt === undefined) : -1;
    if (i >= 0) {
      const [prev] = this.items.splice(i, 1);
      d.attempts = (prev!.attempts ?? 1) + 1;
    }
    this.items.push(d);
    if (this.items.length > this.size) this.items.splice(0, this.items.length - this.size);
  }

  /** Records a link that closed with the raw reason `raw` (`peer-link.ts`). */
  ended(t: TrackedLink, raw: string, now: number): void {
    this.add({ ...describeLink(t), ...endReason(raw, t.link.facts), endedAt: now });
  }

  /** Records a link not even tried (`link-limit`, `banned`). */
  refused(peerId: string, root: string, reason: LinkEndReason, offeredBy: "local" | "remote", now: number): void {
    this.add({ peerId, roots: [root], state: "failed", offeredBy, iceConnectionState: "new", startedAt: now, endedAt: now, reason, candidates: { local: {}, remote: 0 } });
  }

  /** Newest first. */
  list(): PeerDiagnosis[] {
    return this.items.slice().reverse();
  }
}
