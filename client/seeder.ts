/**
 * The seeder: answers other peers' chunk requests from the local store, within the upload slot
 * limit and the upload rate cap. Off when the user opts out or the connection asks to save data
 * (`navigator.connection.saveData`, a metered or constrained link): requests are then refused with
 * an `unavailable` error so requesters move on at once.
 *
 * Requests of one peer are served one after the other, in the order they came (a FIFO per peer,
 * holding one upload slot while it is not empty), each request's chunks in the order it names
 * them. Serving a peer's requests interleaved would finish them all at about the same instant, so
 * the requester could only ask for more once the link had drained; one at a time, the first
 * finishes early and the requester's next request arrives while the others are still being sent —
 * the link stays busy (request pipelining).
 *
 * Bounds (a requester is remote input): a request names ≤ `MAX_REQUEST_CHUNKS` chunks (the frame
 * decoder's rule); a request naming any chunk we do not hold is refused whole (`not-found`) before a
 * byte is read; one peer may have ≤ {@link MAX_QUEUED_CHUNKS_PER_PEER} chunks accepted and unsent
 * (beyond: `busy`), so a flood of requests costs a bounded queue of indices, never bytes read ahead.
 */
import type { ChunkStoreLike } from "./chunk-store";
import { encodeDataInto, encodeFrame, MAX_DATA_PAYLOAD, MAX_MESSAGE_BYTES, type Frame } from "../protocol/peer-frames";
import { SEND_HIGH_WATER } from "./peer-link";
import type { UploadLimiter } from "./upload-limiter";

/** Where the seeder writes frames for one requesting peer. */
export interface UploadChannel {
  /**
   * Sends once the buffer drained below its low-water mark; rejects when the link is gone. The
   * bytes are taken (copied) before the promise settles, as `RTCDataChannel.send` does: the seeder
   * reuses its frame buffer after.
   */
  send(bytes: Uint8Array): Promise<void>;
  /** Sends at once; false when the link is gone. */
  sendNow(bytes: Uint8Array): boolean;
  /** Bytes queued in the channel (`RTCDataChannel.bufferedAmount`). */
  readonly buffered: number;
}

export interface SeederOptions {
  store: ChunkStoreLike;
  limiter: UploadLimiter;
  /** Whether uploading is allowed right now. */
  enabled(): boolean;
  /** Bytes of `root` sent to `peerId`. */
  onUploaded?(root: string, peerId: string, bytes: number): void;
}

/**
 * Chunks one peer may have accepted and not yet sent with us (beyond it: `busy`) — the version-1
 * bound of 32 one-chunk requests, kept in chunks now that a request names several. Only indices
 * are queued, no bytes.
 */
export const MAX_QUEUED_CHUNKS_PER_PEER = 32;

interface Job {
  f: Frame & { type: "request" };
  /** Chunks of `f` not sent yet (counted against {@link MAX_QUEUED_CHUNKS_PER_PEER}). */
  left: number;
  /** Chunks of `f` to send: its length, or fewer after a partial CANCEL. */
  keep: number;
  /** Chunks of `f` sent whole, or being sent. */
  started: number;
  cancelled: boolean;
}

/** The requests of one peer, served in order while holding one upload slot. */
interface PeerQueue {
  jobs: Job[];
  release: () => void;
  /** The link it sends on: a peer that reconnects gets a new queue, its old one drains cancelled. */
  ch: UploadChannel;
}

/** Chunks accepted from a peer and not sent yet. */
function queuedChunks(q: PeerQueue): number {
  let n = 0;
  for (const j of q.jobs) if (!j.cancelled) n += j.left;
  return n;
}

/** True when the user agent asks us to save data (Network Information API; absent = false). */
export function saveDataRequested(nav: unknown = globalThis.navigator): boolean {
  return !!(nav as { connection?: { saveData?: boolean } } | undefined)?.connection?.saveData;
}

/**
 * @example
 * const seeder = new Seeder({ store, limiter, enabled: () => !saveDataRequested() });
 * mesh.onRequest = (peerId, frame, link) => seeder.handle(peerId, frame, link);
 */
export class Seeder {
  /** Bytes uploaded in total. */
  uploaded = 0;
  /** Accepted requests not yet finished (queued or being sent), by `peerId/reqId`. */
  private readonly active = new Map<string, Job>();
  private readonly queues = new Map<string, PeerQueue>();

  constructor(private readonly o: SeederOptions) {}

  /** Requests accepted and not finished yet (being sent or queued behind one of the same peer). */
  get activeUploads(): number {
    return this.active.size;
  }

  /** Serves one request; never throws. */
  handle(peerId: string, f: Frame & { type: "request" }, ch: UploadChannel): void {
    const reply = (frame: Frame) => ch.sendNow(encodeFrame(frame));
    if (!this.o.enabled()) return void reply({ type: "error", reqId: f.reqId, code: "unavailable" });
    // A run naming a chunk we do not hold is refused whole: the requester's view of us is stale.
    for (const i of f.indices) if (!this.o.store.has(f.root, i)) return void reply({ type: "error", reqId: f.reqId, code: "not-found" });
    let q = this.queues.get(peerId);
    if (q && q.ch !== ch) q = undefined;
    if (q && queuedChunks(q) + f.indices.length > MAX_QUEUED_CHUNKS_PER_PEER) return void reply({ type: "busy", reqId: f.reqId });
    const job: Job = { f, left: f.indices.length, keep: f.indices.length, started: 0, cancelled: false };
    this.active.set(`${peerId}/${f.reqId}`, job);
    if (q) return void q.jobs.push(job);
    const release = this.o.limiter.acquireSlot();
    if (!release) {
      this.active.delete(`${peerId}/${f.reqId}`);
      return void reply({ type: "busy", reqId: f.reqId });
    }
    q = { jobs: [job], release, ch };
    this.queues.set(peerId, q);
    void this.drain(peerId, q, ch);
  }

  /** Serves `q` until it is empty, then gives its slot back. */
  private async drain(peerId: string, q: PeerQueue, ch: UploadChannel): Promise<void> {
    // One frame buffer per peer being served, reused for every DATA frame it is sent.
    const scratch = new Uint8Array(MAX_MESSAGE_BYTES);
    try {
      for (let job = q.jobs[0]; job; job = q.jobs[0]) {
        if (!job.cancelled) {
          await this.upload(peerId, job, ch, scratch).catch(() => {
            if (!job.cancelled) ch.sendNow(encodeFrame({ type: "error", reqId: job.f.reqId, code: "internal" }));
          });
        }
        q.jobs.shift();
        const key = `${peerId}/${job.f.reqId}`;
        if (this.active.get(key) === job) this.active.delete(key);
      }
    } finally {
      if (this.queues.get(peerId) === q) this.queues.delete(peerId);
      q.release();
    }
  }

  /**
   * Sends the chunks of one request in order. The next chunk is read from the store while this one
   * is sent; frames go out without a promise each while the channel is below its high-water mark
   * (W3C WebRTC `bufferedAmount`), and wait for `bufferedamountlow` above it, so the pipe stays full.
   */
  private async upload(peerId: string, job: Job, ch: UploadChannel, scratch: Uint8Array): Promise<void> {
    const { root, reqId, indices } = job.f;
    // The stored bytes themselves where the store can (no 256 KiB copy per chunk sent: the
    // frames copy each piece into `scratch`, and nothing keeps the chunk after).
    const store = this.o.store;
    const read = (k: number) => (k < job.keep ? (store.view ?? store.get).call(store, root, indices[k]!) : Promise.resolve(undefined));
    let next = read(0);
    for (let k = 0; k < job.keep; k++) {
      const bytes = await next;
      if (job.cancelled || k >= job.keep) return;
      job.started = k + 1;
      // Evicted since the request was accepted: the rest of the run is refused.
      if (!bytes) return void ch.sendNow(encodeFrame({ type: "error", reqId, code: "not-found" }));
      next = read(k + 1);
      const index = indices[k]!;
      // Counted once per chunk (or the part sent when it stops): an event per 16 KiB frame cost
      // the seeder more than the frames' own encoding (bench §2).
      let sent = 0;
      try {
        for (let offset = 0; offset < bytes.length; offset += MAX_DATA_PAYLOAD) {
          const piece = bytes.subarray(offset, Math.min(bytes.length, offset + MAX_DATA_PAYLOAD));
          const wait = this.o.limiter.reserve(piece.length);
          if (wait > 0) await this.o.limiter.delay(wait);
          if (job.cancelled) return;
          const frame = encodeDataInto(scratch, reqId, index, offset, piece);
          if (ch.buffered > SEND_HIGH_WATER) await ch.send(frame);
          else if (!ch.sendNow(frame)) throw new Error("link closed");
          sent += piece.length;
          if (job.cancelled) return;
        }
      } finally {
        this.uploaded += sent;
        if (sent) this.o.onUploaded?.(root, peerId, sent);
      }
      job.left--;
    }
  }

  /**
   * The requester no longer wants it (queued or being sent) — or, with `keep`, only the request's
   * first `keep` chunks: the ones not started yet beyond them are dropped (a chunk being sent is
   * finished: the requester is assembling it).
   */
  cancel(peerId: string, reqId: number, keep?: number): void {
    const job = this.active.get(`${peerId}/${reqId}`);
    if (!job) return;
    if (keep === undefined) return void (job.cancelled = true);
    const to = Math.max(job.started, Math.min(job.keep, keep));
    job.left -= job.keep - to;
    job.keep = to;
  }

  /** A peer's link closed: stop its uploads and drop its queue. */
  dropPeer(peerId: string): void {
    for (const [k, job] of this.active) if (k.startsWith(`${peerId}/`)) job.cancelled = true;
  }
}
