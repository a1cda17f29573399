/**
 * The swarm wire protocol: JSON text frames between a peer (browser SDK or Node supernode) and its
 * swarm coordinator (one Durable Object per content item and region shard). Imported by both
 * `durable/` and `client/`; every frame from the network is validated here into a new typed value
 * (never the parsed object itself), so neither side trusts shapes it did not check.
 *
 * Peer ↔ peer data-channel frames are a different, binary format: see `peer-frames.ts`.
 */
import type { Bitfield } from "./chunk-bitfield";
import { MAX_CHUNKS } from "./manifest";
import { PEER_ID } from "./peer-id";
import { isItemRoot } from "./collection";

export { type Bitfield, encodeBitfield, decodeBitfield } from "./chunk-bitfield";

/**
 * Request header by which a configured supernode shows the edge's `SUPERNODE_KEY` to `/m/`; the
 * join token then allows `hello {kind: "supernode"}`.
 */
export const SUPERNODE_KEY_HEADER = "X-Edgeswarm-Supernode-Key";

/**
 * Protocol version, sent in `hello` and echoed in `welcome`. 2: collection swarms — `have`, `want`,
 * `peers` and `peer-have` may name an `item` (docs/streams.md).
 */
export const PROTOCOL_VERSION = 2;

/** Largest `signal` frame, bytes of JSON (SDP offers with many candidates stay well below). */
export const MAX_SIGNAL_BYTES = 16 * 1024;
/** Largest frame of any other type, bytes of JSON. */
export const MAX_FRAME_BYTES = 12 * 1024;
/** Most peers in one `peers` answer. */
export const MAX_PEERS_PER_ANSWER = 32;
/** Peer ids: 8–64 characters of URL-safe base64 / hex alphabet (`peer-id.ts`). */
export { PEER_ID };
/** Most chunk indices one `have`/`want` may list. */
export const MAX_INDICES = 4096;
/** Most upload slots a peer may announce (`hello`/`have`). */
export const MAX_UPLOAD_SLOTS = 64;
/** Largest frame from the coordinator the client parses, bytes of JSON. */
export const MAX_SERVER_FRAME_BYTES = 64 * 1024;
/**
 * Largest `peers` answer the coordinator builds, bytes of JSON: the client's parse limit
 * ({@link MAX_SERVER_FRAME_BYTES}) less 4 KiB of headroom for the frame's envelope.
 */
export const MAX_ANSWER_BYTES = MAX_SERVER_FRAME_BYTES - 4 * 1024;
/** Longest base64 bitfield: {@link MAX_CHUNKS} bits, 4 characters per 3 bytes, padded. */
export const MAX_BITFIELD_CHARS = Math.ceil(MAX_CHUNKS / 8 / 3) * 4;

/** Keep-alive: a client sends this exact text; the coordinator answers {@link PONG} without waking. */
export const PING = "ping";
/** The auto-response to {@link PING} (Durable Object `setWebSocketAutoResponse`). */
export const PONG = "pong";

/** What kind of peer this is. Supernodes are always-on seeders, ranked below nearby browsers. */
export type PeerKind = "browser" | "supernode";

/** Where a peer is, from the edge's `request.cf` (every field optional: local dev has no `cf`). */
export interface PeerLocation {
  asn?: number;
  colo?: string;
  country?: string;
  continent?: string;
  latitude?: number;
  longitude?: number;
}

// ---- client → coordinator ----

/** First frame after connecting: who I am, what I hold, how much I can upload. */
export interface HelloMessage {
  type: "hello";
  version: number;
  /** Must equal the peer id the join token was issued for. */
  peerId: string;
  kind: PeerKind;
  /** Chunks held, as a bitfield over the manifest's chunks. */
  have: Bitfield;
  /** Free upload slots (concurrent chunk uploads this peer accepts); 0 = leech only. */
  uploadSlots: number;
}
/**
 * Chunks completed since the last `hello`/`have` (incremental). In a collection swarm `item` names
 * the item (its manifest root) the chunks belong to; without it they are chunks of the swarm's own
 * item (an item-scope swarm, whose id is the root).
 */
export interface HaveMessage { type: "have"; item?: string; chunks: number[]; uploadSlots?: number }
/**
 * Ask for peers that hold any of `chunks` (all chunks when omitted) — of `item` in a collection
 * swarm. Answered with `peers` (naming the same `item`).
 */
export interface WantMessage { type: "want"; item?: string; chunks?: number[]; max?: number }
/** WebRTC signalling (SDP or ICE candidate) for one other peer of this swarm; relayed with `from`. */
export interface SignalMessage { type: "signal"; to: string; data: SignalData }
/**
 * Cumulative counters of this peer for this content (idempotent: the coordinator keeps the max per
 * field). The health counters are optional: clients older than them send bytes only.
 */
export interface StatsMessage extends Partial<HealthCounters> { type: "stats"; fromPeers: number; fromEdge: number; uploaded: number }

/**
 * A peer's swarm-health counters for one content (cumulative), carried in `stats` frames, summed by
 * the coordinator and reported to the site's dashboard.
 */
export interface HealthCounters {
  /** Chunks peers sent that failed their SHA-256 check. */
  hashFailures: number;
  /** Distinct peers this peer banned (for bad bytes). */
  bannedPeers: number;
  /** Bytes the edge lane delivered (the edge racing slower peers; `EdgeReason` "lane"). */
  edgeLaneBytes: number;
  /** Bytes the edge delivered because a peer missed a chunk's deadline (`EdgeReason` "deadline"). */
  deadlineFallbackBytes: number;
}

/** The {@link HealthCounters} field names, in wire order. */
export const HEALTH_COUNTERS = ["hashFailures", "bannedPeers", "edgeLaneBytes", "deadlineFallbackBytes"] as const satisfies readonly (keyof HealthCounters)[];
/** Leaving the swarm on purpose. */
export interface ByeMessage { type: "bye" }

export type ClientMessage = HelloMessage | HaveMessage | WantMessage | SignalMessage | StatsMessage | ByeMessage;

/** Opaque-to-the-coordinator WebRTC signal payload. */
export interface SignalData {
  /**
   * RTCSessionDescriptionInit, and `epoch`: the sender's number for the connection it describes,
   * larger for a connection created later (a safe integer). A receiver ignores an offer older than
   * a description it already has from that peer: the sender replaced that connection (glare) and
   * the offer was relayed late (client/peer-link.ts). Absent from older SDKs.
   */
  description?: { type: "offer" | "answer" | "pranswer" | "rollback"; sdp?: string; epoch?: number };
  /** RTCIceCandidateInit (null candidate = end of candidates). */
  candidate?: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null } | null;
  /**
   * Several candidates in one frame, applied after `description` and before `candidate` (at most
   * {@link MAX_SIGNAL_CANDIDATES}): the SDK gathers a link's early candidates for a few ms and sends
   * them with its offer or answer — 2 coordinator frames per link instead of ~6 (docs/streams.md).
   */
  candidates?: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }[];
  /**
   * The answer to an offer the receiver declines: `link-limit` — it holds as many links as it
   * accepts and none is idle. The offerer frees its link slot at once instead of waiting out its
   * connect timeout (15 s), and tries that peer again only later (client/peer-mesh.ts).
   */
  refused?: "link-limit";
}

/** Most ICE candidates in one `signal` frame's `candidates`. */
export const MAX_SIGNAL_CANDIDATES = 16;

// ---- coordinator → client ----

/** One peer in a `peers` answer. */
export interface PeerEntry {
  peerId: string;
  kind: PeerKind;
  have: Bitfield;
  /** Why it ranked where it did: "asn" | "colo" | "country" | "distance" | "unknown". */
  proximity: Proximity;
  /** Great-circle distance in km when both locations are known. */
  distanceKm?: number;
}
export type Proximity = "asn" | "colo" | "country" | "distance" | "unknown";
/**
 * Proximity classes, best first: the one place the order asn > colo > country > distance > unknown
 * lives (the coordinator's ranking numbers classes by their index here).
 */
export const PROXIMITY_ORDER = ["asn", "colo", "country", "distance", "unknown"] as const satisfies readonly Proximity[];

export interface WelcomeMessage {
  type: "welcome";
  version: number;
  peerId: string;
  root: string;
  shard: string;
  /** Peers online in this shard, including this one. */
  peers: number;
}
/** Ranked peers; with `item`, each entry's `have` is over that item's chunks. */
export interface PeersMessage { type: "peers"; item?: string; peers: PeerEntry[] }
export interface RelayedSignalMessage { type: "signal"; from: string; data: SignalData }
export interface PeerLeftMessage { type: "peer-left"; peerId: string }
/** Another peer of the swarm completed chunks (sent to peers that asked about them recently). */
export interface PeerHaveMessage { type: "peer-have"; peerId: string; item?: string; chunks: number[] }
export interface ErrorMessage { type: "error"; code: ErrorCode; message: string; /** The offending frame's type, if known. */ ref?: string }

export type ServerMessage =
  | WelcomeMessage | PeersMessage | RelayedSignalMessage | PeerLeftMessage | PeerHaveMessage | ErrorMessage;

/** Stable error codes of `error` frames. */
export type ErrorCode =
  | "bad-json"          // not JSON
  | "bad-message"       // JSON, but a field is missing / of the wrong type / out of range
  | "unknown-type"      // unknown `type`
  | "too-large"         // frame over its size limit
  | "rate-limited"      // too many frames per second
  | "not-joined"        // a frame other than hello before hello
  | "already-joined"    // a second hello
  | "peer-mismatch"     // hello.peerId differs from the token's peer id
  | "duplicate-peer"    // the same peer id connected again (the older socket is closed)
  | "swarm-full"        // shard at its peer limit
  | "peer-gone"         // signal target is not (or no longer) in this swarm
  | "target-busy"       // signal target got too many signals lately; the signal was dropped (retry later)
  | "not-supernode"     // hello said kind supernode, but the join token was not issued to a supernode
  | "internal";         // a bug on our side; the frame was dropped, the socket lives on

/** WebSocket close codes used by the coordinator (RFC 6455 §7.4). */
export const CLOSE = {
  normal: 1000,
  /** Policy violation: too many bad frames, or replaced by a newer connection. */
  policy: 1008,
  /** Swarm full. RFC 6455 1013 "Try Again Later". */
  tryAgain: 1013,
} as const;

// ---- validation ----

export type Parsed<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string; ref?: string };

const fail = (code: ErrorCode, message: string, ref?: string): { ok: false; code: ErrorCode; message: string; ref?: string } =>
  ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
/** `bad-message` for frame type `t` (module level: no closure per parsed frame). */
const badField = (t: string, what: string) => fail("bad-message", `${t}: ${what}`, t);

function byteLength(s: string): number {
  // Upper bound without allocating: UTF-16 units × 3 ≥ UTF-8 bytes. Exact only when needed.
  return s.length * 3 <= MAX_FRAME_BYTES ? s.length : new TextEncoder().encode(s).length;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isBitfield = (v: unknown): v is Bitfield =>
  typeof v === "string" && v.length <= MAX_BITFIELD_CHARS && /^[A-Za-z0-9+/]*={0,2}$/.test(v);

function indices(v: unknown): number[] | null {
  if (!Array.isArray(v) || v.length > MAX_INDICES) return null;
  const out: number[] = [];
  for (const x of v) {
    if (!Number.isInteger(x) || x < 0 || x >= MAX_CHUNKS) return null;
    out.push(x);
  }
  return out;
}

function signalData(v: unknown): SignalData | null {
  if (!isObj(v)) return null;
  const out: SignalData = {};
  if (v.description !== undefined) {
    const d = v.description;
    if (!isObj(d) || !["offer", "answer", "pranswer", "rollback"].includes(d.type as string)) return null;
    if (d.sdp !== undefined && typeof d.sdp !== "string") return null;
    if (d.epoch !== undefined && !(Number.isSafeInteger(d.epoch) && (d.epoch as number) >= 0)) return null;
    out.description = { type: d.type as "offer", ...(typeof d.sdp === "string" ? { sdp: d.sdp } : {}), ...(d.epoch !== undefined ? { epoch: d.epoch as number } : {}) };
  }
  if (v.candidate !== undefined) {
    if (v.candidate === null) out.candidate = null;
    else {
      const c = iceCandidate(v.candidate);
      if (!c) return null;
      out.candidate = c;
    }
  }
  if (v.candidates !== undefined) {
    if (!Array.isArray(v.candidates) || v.candidates.length === 0 || v.candidates.length > MAX_SIGNAL_CANDIDATES) return null;
    const list: NonNullable<SignalData["candidates"]> = [];
    for (const x of v.candidates) {
      const c = iceCandidate(x);
      if (!c) return null;
      list.push(c);
    }
    out.candidates = list;
  }
  if (v.refused !== undefined) {
    if (v.refused !== "link-limit") return null;
    out.refused = v.refused;
  }
  if (out.description === undefined && out.candidate === undefined && out.candidates === undefined && out.refused === undefined) return null;
  return out;
}

function iceCandidate(c: unknown): NonNullable<SignalData["candidate"]> | null {
  if (!isObj(c) || typeof c.candidate !== "string") return null;
  if (c.sdpMid !== undefined && c.sdpMid !== null && typeof c.sdpMid !== "string") return null;
  if (c.sdpMLineIndex !== undefined && c.sdpMLineIndex !== null && !isCount(c.sdpMLineIndex)) return null;
  return {
    candidate: c.candidate,
    ...(c.sdpMid !== undefined ? { sdpMid: c.sdpMid as string | null } : {}),
    ...(c.sdpMLineIndex !== undefined ? { sdpMLineIndex: c.sdpMLineIndex as number | null } : {}),
  };
}

function parseJson(raw: string | ArrayBuffer, limit: number): Parsed<Record<string, unknown>> {
  if (typeof raw !== "string") return fail("bad-message", "frames are JSON text, not binary");
  if (byteLength(raw) > limit) return fail("too-large", `frame exceeds ${limit} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return fail("bad-json", "frame is not valid JSON");
  }
  if (!isObj(v) || typeof v.type !== "string") return fail("bad-message", "frame must be an object with a string `type`");
  return { ok: true, value: v };
}

/**
 * Validates one frame from a peer into a {@link ClientMessage}. Signals may be up to
 * {@link MAX_SIGNAL_BYTES}; every other frame up to {@link MAX_FRAME_BYTES}.
 */
export function parseClientMessage(raw: string | ArrayBuffer): Parsed<ClientMessage> {
  const j = parseJson(raw, MAX_SIGNAL_BYTES);
  if (!j.ok) return j;
  const v = j.value;
  const t = v.type as string;
  if (t !== "signal" && typeof raw === "string" && byteLength(raw) > MAX_FRAME_BYTES)
    return fail("too-large", `${t} frame exceeds ${MAX_FRAME_BYTES} bytes`, t);
  switch (t) {
    case "hello": {
      if (v.version !== PROTOCOL_VERSION) return badField(t, `version must be ${PROTOCOL_VERSION}`);
      if (typeof v.peerId !== "string" || !PEER_ID.test(v.peerId)) return badField(t, "peerId must match " + PEER_ID);
      if (v.kind !== "browser" && v.kind !== "supernode") return badField(t, "kind must be browser|supernode");
      if (!isBitfield(v.have)) return badField(t, "have must be a base64 bitfield");
      if (!isCount(v.uploadSlots) || v.uploadSlots > MAX_UPLOAD_SLOTS) return badField(t, `uploadSlots must be an integer 0..${MAX_UPLOAD_SLOTS}`);
      return { ok: true, value: { type: "hello", version: v.version, peerId: v.peerId, kind: v.kind, have: v.have, uploadSlots: v.uploadSlots } };
    }
    case "have": {
      const chunks = indices(v.chunks);
      if (!chunks) return badField(t, `chunks must be ≤ ${MAX_INDICES} non-negative integers`);
      if (v.uploadSlots !== undefined && (!isCount(v.uploadSlots) || v.uploadSlots > MAX_UPLOAD_SLOTS)) return badField(t, `uploadSlots must be 0..${MAX_UPLOAD_SLOTS}`);
      if (v.item !== undefined && !isItemRoot(v.item)) return badField(t, "item must be a lowercase hex SHA-256 root");
      return { ok: true, value: { type: "have", ...(v.item !== undefined ? { item: v.item } : {}), chunks, ...(v.uploadSlots !== undefined ? { uploadSlots: v.uploadSlots as number } : {}) } };
    }
    case "want": {
      const chunks = v.chunks === undefined ? undefined : indices(v.chunks);
      if (chunks === null) return badField(t, `chunks must be ≤ ${MAX_INDICES} non-negative integers`);
      if (v.max !== undefined && (!isCount(v.max) || v.max < 1 || v.max > MAX_PEERS_PER_ANSWER)) return badField(t, `max must be 1..${MAX_PEERS_PER_ANSWER}`);
      if (v.item !== undefined && !isItemRoot(v.item)) return badField(t, "item must be a lowercase hex SHA-256 root");
      return { ok: true, value: { type: "want", ...(v.item !== undefined ? { item: v.item } : {}), ...(chunks ? { chunks } : {}), ...(v.max !== undefined ? { max: v.max as number } : {}) } };
    }
    case "signal": {
      if (typeof v.to !== "string" || !PEER_ID.test(v.to)) return badField(t, "to must be a peer id");
      const data = signalData(v.data);
      if (!data) return badField(t, "data must carry a description and/or candidate");
      return { ok: true, value: { type: "signal", to: v.to, data } };
    }
    case "stats": {
      if (!isCount(v.fromPeers) || !isCount(v.fromEdge) || !isCount(v.uploaded)) return badField(t, "fromPeers, fromEdge, uploaded must be byte counts");
      const health: Partial<HealthCounters> = {};
      for (const k of HEALTH_COUNTERS) {
        if (v[k] === undefined) continue;
        if (!isCount(v[k])) return badField(t, `${k} must be a non-negative integer`);
        health[k] = v[k];
      }
      return { ok: true, value: { type: "stats", fromPeers: v.fromPeers, fromEdge: v.fromEdge, uploaded: v.uploaded, ...health } };
    }
    case "bye":
      return { ok: true, value: { type: "bye" } };
    default:
      return fail("unknown-type", `unknown frame type ${JSON.stringify(t.slice(0, 32))}`, t.slice(0, 32));
  }
}

const ERROR_CODES: readonly ErrorCode[] = [
  "bad-json", "bad-message", "unknown-type", "too-large", "rate-limited", "not-joined", "already-joined",
  "peer-mismatch", "duplicate-peer", "swarm-full", "peer-gone", "target-busy", "not-supernode", "internal",
];

function peerEntry(v: unknown): PeerEntry | null {
  if (!isObj(v) || typeof v.peerId !== "string" || !PEER_ID.test(v.peerId)) return null;
  if (v.kind !== "browser" && v.kind !== "supernode") return null;
  if (!isBitfield(v.have) || !(PROXIMITY_ORDER as readonly string[]).includes(v.proximity as string)) return null;
  if (v.distanceKm !== undefined && typeof v.distanceKm !== "number") return null;
  return {
    peerId: v.peerId, kind: v.kind, have: v.have, proximity: v.proximity as Proximity,
    ...(typeof v.distanceKm === "number" ? { distanceKm: v.distanceKm } : {}),
  };
}

/** Validates one frame from the coordinator into a {@link ServerMessage} (the client trusts nothing either). */
export function parseServerMessage(raw: string | ArrayBuffer): Parsed<ServerMessage> {
  const j = parseJson(raw, MAX_SERVER_FRAME_BYTES);
  if (!j.ok) return j;
  const v = j.value;
  const t = v.type as string;
  const bad = (what: string) => fail("bad-message", `${t}: ${what}`, t);
  switch (t) {
    case "welcome":
      if (!isCount(v.version) || typeof v.peerId !== "string" || typeof v.root !== "string" || typeof v.shard !== "string" || !isCount(v.peers)) return bad("malformed");
      return { ok: true, value: { type: "welcome", version: v.version, peerId: v.peerId, root: v.root, shard: v.shard, peers: v.peers } };
    case "peers": {
      if (!Array.isArray(v.peers) || v.peers.length > MAX_PEERS_PER_ANSWER) return bad("peers must be an array");
      if (v.item !== undefined && !isItemRoot(v.item)) return bad("item must be a root");
      const peers: PeerEntry[] = [];
      for (const p of v.peers) {
        const e = peerEntry(p);
        if (!e) return bad("malformed peer entry");
        peers.push(e);
      }
      return { ok: true, value: { type: "peers", ...(v.item !== undefined ? { item: v.item } : {}), peers } };
    }
    case "signal": {
      if (typeof v.from !== "string" || !PEER_ID.test(v.from)) return bad("from must be a peer id");
      const data = signalData(v.data);
      if (!data) return bad("malformed data");
      return { ok: true, value: { type: "signal", from: v.from, data } };
    }
    case "peer-left":
      if (typeof v.peerId !== "string" || !PEER_ID.test(v.peerId)) return bad("peerId");
      return { ok: true, value: { type: "peer-left", peerId: v.peerId } };
    case "peer-have": {
      const chunks = indices(v.chunks);
      if (typeof v.peerId !== "string" || !PEER_ID.test(v.peerId) || !chunks) return bad("malformed");
      if (v.item !== undefined && !isItemRoot(v.item)) return bad("item must be a root");
      return { ok: true, value: { type: "peer-have", peerId: v.peerId, ...(v.item !== undefined ? { item: v.item } : {}), chunks } };
    }
    case "error":
      if (!ERROR_CODES.includes(v.code as ErrorCode) || typeof v.message !== "string") return bad("malformed");
      return { ok: true, value: { type: "error", code: v.code as ErrorCode, message: v.message.slice(0, 500), ...(typeof v.ref === "string" ? { ref: v.ref.slice(0, 32) } : {}) } };
    default:
      return fail("unknown-type", `unknown frame type ${JSON.stringify(t.slice(0, 32))}`);
  }
}

/** Serialises a frame (one place, so both sides agree on the encoding). */
export function encodeMessage(msg: ClientMessage | ServerMessage): string {
  return JSON.stringify(msg);
}
