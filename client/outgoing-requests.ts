/**
 * The chunk requests we have in flight on one link, and the assembly of their answers: one REQUEST
 * names a run of chunks (protocol/peer-frames.ts), answered by DATA frames of those chunks in
 * order, each chunk's frames in offset order. Anything else is a protocol error of that request.
 */
import { encodeFrame, type Frame } from "../protocol/peer-frames";
import { PeerRequestError, type ChunkArrival, type ChunkWant, type PeerRequest } from "./chunk-sources";

/** One request in flight: its chunks, the one being assembled, and where finished chunks go. */
interface Pending {
  chunks: readonly ChunkWant[];
  /** Position in `chunks` of the chunk being received. */
  k: number;
  /** That chunk's bytes so far (allocated at its first DATA frame). */
  buf: Uint8Array | null;
  /** That chunk's DATA payloads so far: views of the channel's messages, which nothing else holds. */
  parts: Uint8Array[];
  got: number;
  onChunk: ChunkArrival;
  resolve(): void;
  reject(e: PeerRequestError): void;
}

/** The frames that answer a request. */
export type AnswerFrame = Frame & { type: "data" | "busy" | "error" };

/** The requests in flight on one link. */
export interface OutgoingRequests {
  /** Requests in flight. */
  readonly size: number;
  /**
   * Sends request `reqId` for `chunks` of `root` (strictly increasing); `onChunk` gets each whole
   * chunk (unverified) as it completes, in that order, with its DATA payloads. Fails with `gone`
   * when the link cannot send.
   */
  request(reqId: number, root: string, chunks: readonly ChunkWant[], onChunk: ChunkArrival): PeerRequest;
  /** A DATA, BUSY or ERROR frame from the remote. */
  answer(f: AnswerFrame): void;
  /** Fails every request in flight with `gone` (the link closed: `message` says why). */
  failAll(message: string): void;
}

/**
 * The requests of one link; `send` sends a frame now, false when the link cannot (not open).
 *
 * @example
 * const out = outgoingRequests((bytes) => link.sendNow(bytes));
 * const { done, cancel } = out.request(reqId, root, [{ index: 0, length: 262144 }], store);
 * link.onFrame = (f) => f.type === "data" && out.answer(f);
 */
export function outgoingRequests(send: (frame: Uint8Array) => boolean): OutgoingRequests {
  const pending = new Map<number, Pending>();
  /** Drops request `reqId` with `e`; false when it was not in flight. */
  const fail = (reqId: number, e: PeerRequestError): boolean => {
    const p = pending.get(reqId);
    if (!p) return false;
    pending.delete(reqId);
    p.reject(e);
    return true;
  };
  return {
    get size() {
      return pending.size;
    },
    request(reqId, root, chunks, onChunk) {
      const done = new Promise<void>((resolve, reject) => {
        pending.set(reqId, { chunks, k: 0, buf: null, parts: [], got: 0, onChunk, resolve, reject });
      });
      if (!send(encodeFrame({ type: "request", reqId, root, indices: chunks.map((c) => c.index) }))) fail(reqId, new PeerRequestError("gone"));
      return {
        done,
        cancel: () => void (fail(reqId, new PeerRequestError("cancelled")) && send(encodeFrame({ type: "cancel", reqId }))),
        trim: (keep) => {
          const p = pending.get(reqId);
          if (!p || keep <= p.k || keep >= p.chunks.length) return;
          // DATA of a dropped chunk the peer had started is ignored: the request ends with chunk `keep`.
          p.chunks = p.chunks.slice(0, keep);
          send(encodeFrame({ type: "cancel", reqId, keep }));
        },
      };
    },
    answer(f) {
      const p = pending.get(f.reqId);
      if (!p) return; // the answer to a request we cancelled: in flight when we said so
      if (f.type !== "data") {
        fail(f.reqId, new PeerRequestError(f.type === "busy" ? "busy" : f.code === "bad-request" ? "internal" : f.code));
        return;
      }
      const want = p.chunks[p.k]!;
      const buf = (p.buf ??= new Uint8Array(want.length));
      if (f.index !== want.index || f.offset !== p.got || p.got + f.bytes.length > buf.length) {
        fail(f.reqId, new PeerRequestError("protocol", "data out of order or out of bounds"));
        return;
      }
      buf.set(f.bytes, p.got);
      p.parts.push(f.bytes);
      p.got += f.bytes.length;
      if (p.got < buf.length) return;
      const parts = p.parts;
      p.buf = null;
      p.parts = [];
      p.got = 0;
      if (++p.k === p.chunks.length) {
        pending.delete(f.reqId);
        p.resolve();
      }
      p.onChunk(want.index, buf, parts);
    },
    failAll(message) {
      const all = [...pending.values()];
      pending.clear();
      for (const p of all) p.reject(new PeerRequestError("gone", message));
    },
  };
}
