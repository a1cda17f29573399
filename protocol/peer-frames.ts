/**
 * Peer ↔ peer data-channel frames: a compact binary format (big-endian), one frame per
 * data-channel message, every message ≤ {@link MAX_MESSAGE_BYTES} (16 KiB — the size every WebRTC
 * stack delivers unfragmented; RFC 8831 §6.6 recommends staying below it for interoperability).
 *
 * ```
 * HELLO    07 | version u8                               first frame on a link, both ways
 * REQUEST  01 | reqId u32 | root[32] | n u8 | index u32×n  ask for n whole chunks of `root`, sent in this order
 * DATA     02 | reqId u32 | index u32 | offset u32 | bytes   a slice of a requested chunk, in order
 * CANCEL   03 | reqId u32 [| keep u8]                        requester no longer wants (the rest of) it;
 *                                                             with `keep`: only the run's first `keep` chunks
 * BUSY     04 | reqId u32                                    no upload slot free, ask someone else
 * ERROR    05 | reqId u32 | code u8                          see {@link PeerErrorCode}
 * HAVE     06 | root[32] | count u32 | bitfield              full bitfield (BEP 3 bit order)
 * ```
 *
 * Version {@link PEER_FRAMES_VERSION} (3). A REQUEST names a run of 1–{@link MAX_REQUEST_CHUNKS}
 * chunks, strictly increasing (version 1 asked for one chunk per request: a 256 KiB chunk cost a
 * request round trip and a blocking `send` on the requester — docs/client-core.md, "Peer path").
 * The answer is the DATA of each chunk in turn, under one `reqId`. A peer requests only after the
 * other side's HELLO named this version; a HELLO of another version ends the link ("version", not
 * a ban), and a version-1 REQUEST (41 bytes) decodes as {@link Frame} `outdated`, answered with
 * `ERROR bad-request` — the refusal a version-1 peer understands.
 *
 * Requests name content by its 32-byte swarm root, so one link serves any number of contents;
 * responses echo the requester's `reqId`. Decoding never throws: malformed input yields a
 * {@link FrameError} value, which the link treats as a protocol violation by the remote peer.
 */
import { fromHex, toHex, MAX_CHUNKS } from "./manifest";

/**
 * Version of this frame format, sent in HELLO; peers of another version do not exchange chunks.
 * 3 added CANCEL's `keep` (a 6-byte CANCEL is a length error to a version-2 decoder).
 */
export const PEER_FRAMES_VERSION = 3;
/**
 * Most chunks one REQUEST may name. Bounds what one request commits a seeder to (with
 * `MAX_QUEUED_CHUNKS_PER_PEER`, `client/seeder.ts`) and the decoder's work per frame.
 */
export const MAX_REQUEST_CHUNKS = 16;
/** Length of a version-1 REQUEST (`01 | reqId | index | root`), recognised only to refuse it. */
const V1_REQUEST_LENGTH = 41;
/** REQUEST header before its indices. */
const REQUEST_HEADER = 38;

/** Largest data-channel message we send or accept. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
/** DATA header size; the payload of one DATA frame is at most `MAX_MESSAGE_BYTES - DATA_HEADER`. */
export const DATA_HEADER = 13;
/** Largest DATA payload. */
export const MAX_DATA_PAYLOAD = MAX_MESSAGE_BYTES - DATA_HEADER;

/** Frame type bytes. */
export const FrameType = { request: 1, data: 2, cancel: 3, busy: 4, error: 5, have: 6, hello: 7 } as const;

/** Why a peer refused a request. */
export type PeerErrorCode = "not-found" | "bad-request" | "unavailable" | "internal";
const ERROR_CODES: readonly PeerErrorCode[] = ["not-found", "bad-request", "unavailable", "internal"];

export type Frame =
  | { type: "hello"; version: number }
  | { type: "request"; reqId: number; root: string; indices: readonly number[] }
  /** A version-1 single-chunk REQUEST: decoded only so it can be refused in a way that peer understands. */
  | { type: "outdated"; reqId: number }
  | { type: "data"; reqId: number; index: number; offset: number; bytes: Uint8Array }
  /**
   * Without `keep`, the whole request; with it (1–`MAX_REQUEST_CHUNKS` − 1), the chunks after the
   * run's first `keep`: the requester takes back the tail of a run queued at a slow peer.
   */
  | { type: "cancel"; reqId: number; keep?: number }
  | { type: "busy"; reqId: number }
  | { type: "error"; reqId: number; code: PeerErrorCode }
  | { type: "have"; root: string; count: number; bits: Uint8Array };

/** What was wrong with a frame that failed to decode. */
export type FrameErrorCode = "empty" | "too-large" | "unknown-type" | "bad-length" | "bad-field";

/** A malformed frame (returned by {@link decodeFrame}, never thrown). */
export class FrameError extends Error {
  override readonly name = "FrameError";
  constructor(readonly code: FrameErrorCode, message: string) {
    super(message);
  }
}

const u32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/**
 * Encodes a frame. Throws `RangeError` for values the format cannot carry (a bug on our side,
 * not remote input).
 *
 * @example
 * channel.send(encodeFrame({ type: "request", reqId: 7, index: 3, root }));
 */
export function encodeFrame(f: Frame): Uint8Array {
  let out: Uint8Array;
  switch (f.type) {
    case "hello":
      check(Number.isInteger(f.version) && f.version >= 1 && f.version <= 255, "hello");
      out = Uint8Array.of(0, f.version);
      break;
    case "request": {
      const n = f.indices.length;
      check(u32(f.reqId) && f.root.length === 64 && n >= 1 && n <= MAX_REQUEST_CHUNKS && increasing(f.indices), "request");
      out = new Uint8Array(REQUEST_HEADER + 4 * n);
      const dv = view(out);
      dv.setUint32(1, f.reqId);
      out.set(fromHex(f.root), 5);
      out[37] = n;
      for (let k = 0; k < n; k++) dv.setUint32(REQUEST_HEADER + 4 * k, f.indices[k]!);
      break;
    }
    case "outdated":
      check(u32(f.reqId), "outdated");
      out = new Uint8Array(V1_REQUEST_LENGTH);
      view(out).setUint32(1, f.reqId);
      out[0] = FrameType.request;
      return out;
    case "data": {
      check(u32(f.reqId) && u32(f.index) && u32(f.offset) && f.bytes.length > 0 && f.bytes.length <= MAX_DATA_PAYLOAD, "data");
      out = new Uint8Array(DATA_HEADER + f.bytes.length);
      const dv = view(out);
      dv.setUint32(1, f.reqId);
      dv.setUint32(5, f.index);
      dv.setUint32(9, f.offset);
      out.set(f.bytes, DATA_HEADER);
      break;
    }
    case "cancel":
    case "busy": {
      const keep = f.type === "cancel" ? f.keep : undefined;
      check(u32(f.reqId) && (keep === undefined || (Number.isInteger(keep) && keep >= 1 && keep < MAX_REQUEST_CHUNKS)), f.type);
      out = new Uint8Array(keep === undefined ? 5 : 6);
      view(out).setUint32(1, f.reqId);
      if (keep !== undefined) out[5] = keep;
      break;
    }
    case "error":
      check(u32(f.reqId) && ERROR_CODES.includes(f.code), "error");
      out = new Uint8Array(6);
      view(out).setUint32(1, f.reqId);
      out[5] = ERROR_CODES.indexOf(f.code) + 1;
      break;
    case "have": {
      const n = Math.ceil(f.count / 8);
      check(f.root.length === 64 && u32(f.count) && f.count <= MAX_CHUNKS && f.bits.length >= n, "have");
      out = new Uint8Array(37 + n);
      out.set(fromHex(f.root), 1);
      view(out).setUint32(33, f.count);
      out.set(f.bits.subarray(0, n), 37);
      // Bits past `count` must be zero (BEP 3): clear them so the receiver's strict check passes.
      if (f.count % 8) out[out.length - 1]! &= (0xff << (8 - (f.count % 8))) & 0xff;
      break;
    }
  }
  out[0] = FrameType[f.type];
  return out;
}

/**
 * Encodes a DATA frame into `out` (at least `DATA_HEADER + bytes.length` long) and returns the
 * frame as a view of it: an uploader reuses one buffer for every frame instead of allocating 16 KiB
 * per message (`RTCDataChannel.send` copies the bytes before it returns, W3C WebRTC §6.2).
 *
 * @example
 * const scratch = new Uint8Array(MAX_MESSAGE_BYTES);
 * link.sendNow(encodeDataInto(scratch, reqId, index, offset, piece));
 */
export function encodeDataInto(out: Uint8Array, reqId: number, index: number, offset: number, bytes: Uint8Array): Uint8Array {
  check(u32(reqId) && u32(index) && u32(offset) && bytes.length > 0 && bytes.length <= MAX_DATA_PAYLOAD && out.length >= DATA_HEADER + bytes.length, "data");
  const dv = view(out);
  out[0] = FrameType.data;
  dv.setUint32(1, reqId);
  dv.setUint32(5, index);
  dv.setUint32(9, offset);
  out.set(bytes, DATA_HEADER);
  return out.subarray(0, DATA_HEADER + bytes.length);
}

/** Strictly increasing chunk indices below `MAX_CHUNKS` (no duplicates: one request, one pass). */
function increasing(ix: readonly number[]): boolean {
  for (let k = 0; k < ix.length; k++) {
    const v = ix[k]!;
    if (!Number.isInteger(v) || v < 0 || v >= MAX_CHUNKS || (k > 0 && v <= ix[k - 1]!)) return false;
  }
  return true;
}

/** Big-endian u32 at `at`. */
function u32At(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(`cannot encode ${what} frame`);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Decodes one data-channel message. Returns a {@link FrameError} for anything malformed: wrong
 * length for its type, unknown type, oversized message, out-of-range fields.
 *
 * @example
 * const f = decodeFrame(new Uint8Array(event.data));
 * if (f instanceof FrameError) link.close("protocol");
 */
export function decodeFrame(input: ArrayBuffer | Uint8Array): Frame | FrameError {
  const b = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (b.length === 0) return new FrameError("empty", "empty frame");
  if (b.length > MAX_MESSAGE_BYTES) return new FrameError("too-large", `frame of ${b.length} bytes`);
  // DATA is 64 frames per MiB received: decoded without a DataView (one allocation less each).
  if (b[0] === FrameType.data && b.length > DATA_HEADER) {
    return { type: "data", reqId: u32At(b, 1), index: u32At(b, 5), offset: u32At(b, 9), bytes: b.subarray(DATA_HEADER) };
  }
  const dv = view(b);
  const len = (n: number) => new FrameError("bad-length", `${n === b.length ? "" : "wrong "}length ${b.length} for type ${b[0]}`);
  switch (b[0]) {
    case FrameType.hello:
      if (b.length !== 2) return len(2);
      if (b[1] === 0) return new FrameError("bad-field", "hello version 0");
      return { type: "hello", version: b[1]! };
    case FrameType.request: {
      if (b.length === V1_REQUEST_LENGTH) return { type: "outdated", reqId: dv.getUint32(1) };
      if (b.length < REQUEST_HEADER + 4) return len(REQUEST_HEADER + 4);
      const n = b[37]!;
      if (n < 1 || n > MAX_REQUEST_CHUNKS) return new FrameError("bad-field", `request of ${n} chunks`);
      if (b.length !== REQUEST_HEADER + 4 * n) return len(REQUEST_HEADER + 4 * n);
      const indices: number[] = [];
      for (let k = 0; k < n; k++) indices.push(dv.getUint32(REQUEST_HEADER + 4 * k));
      if (!increasing(indices)) return new FrameError("bad-field", "request indices not strictly increasing below MAX_CHUNKS");
      return { type: "request", reqId: dv.getUint32(1), root: toHex(b.subarray(5, 37)), indices };
    }
    case FrameType.data:
      if (b.length <= DATA_HEADER) return len(DATA_HEADER + 1);
      return { type: "data", reqId: dv.getUint32(1), index: dv.getUint32(5), offset: dv.getUint32(9), bytes: b.subarray(DATA_HEADER) };
    case FrameType.cancel:
    case FrameType.busy:
      if (b[0] === FrameType.cancel && b.length === 6) {
        if (b[5]! < 1 || b[5]! >= MAX_REQUEST_CHUNKS) return new FrameError("bad-field", `cancel keeping ${b[5]} chunks`);
        return { type: "cancel", reqId: dv.getUint32(1), keep: b[5]! };
      }
      if (b.length !== 5) return len(5);
      return { type: b[0] === FrameType.cancel ? "cancel" : "busy", reqId: dv.getUint32(1) };
    case FrameType.error: {
      if (b.length !== 6) return len(6);
      const code = ERROR_CODES[b[5]! - 1];
      if (!code) return new FrameError("bad-field", `unknown error code ${b[5]}`);
      return { type: "error", reqId: dv.getUint32(1), code };
    }
    case FrameType.have: {
      if (b.length < 37) return len(37);
      const count = dv.getUint32(33);
      if (count > MAX_CHUNKS) return new FrameError("bad-field", `have count ${count} over ${MAX_CHUNKS}`);
      if (b.length !== 37 + Math.ceil(count / 8)) return len(37 + Math.ceil(count / 8));
      const bits = b.slice(37);
      if (count % 8 && bits[bits.length - 1]! & (0xff >> (count % 8))) return new FrameError("bad-field", "bits set past count");
      return { type: "have", root: toHex(b.subarray(1, 33)), count, bits };
    }
    default:
      return new FrameError("unknown-type", `unknown frame type ${b[0]}`);
  }
}
