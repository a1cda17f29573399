/**
 * The seeder: answers other peers' chunk requests from the local store, within the upload slot
 * limit and the upload rate cap. Off when the user opts out or the connection asks to save data
 * (`navigator.connection.saveData`, a metered or constrained link): requests are then refused with
 * an `unavailable` error so requesters move on at once.
 */
import type { ChunkStoreLike } from "./chunk-store";
import { encodeFrame, MAX_DATA_PAYLOAD, type Frame } from "./peer-frames";
import type { UploadLimiter } from "./upload-limiter";

/** Where the seeder writes frames for one requesting peer. */
export interface UploadChannel {
  /** Sends with backpressure; rejects when the link is gone. */
  send(bytes: Uint8Array): Promise<void>;
  /** Sends at once (small control frames). */
  sendNow(bytes: Uint8Array): boolean;
}

export interface SeederOptions {
  store: ChunkStoreLike;
  limiter: UploadLimiter;
  /** Whether uploading is allowed right now. */
  enabled(): boolean;
  /** Test hook: flip bytes in every upload (a poisoned peer). */
  corrupt?(): boolean;
  /** Bytes of `root` sent to `peerId`. */
  onUploaded?(root: string, peerId: string, bytes: number): void;
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
  private readonly active = new Map<string, { cancelled: boolean }>();

  constructor(private readonly o: SeederOptions) {}

  /** Uploads in progress. */
  get activeUploads(): number {
    return this.active.size;
  }

  /** Serves one request; never throws. */
  handle(peerId: string, f: Frame & { type: "request" }, ch: UploadChannel): void {
    const reply = (frame: Frame) => ch.sendNow(encodeFrame(frame));
    if (!this.o.enabled()) return void reply({ type: "error", reqId: f.reqId, code: "unavailable" });
    if (!this.o.store.has(f.root, f.index)) return void reply({ type: "error", reqId: f.reqId, code: "not-found" });
    const release = this.o.limiter.acquireSlot();
    if (!release) return void reply({ type: "busy", reqId: f.reqId });
    const key = `${peerId}/${f.reqId}`;
    const job = { cancelled: false };
    this.active.set(key, job);
    void this.upload(peerId, f, ch, job)
      .catch(() => reply({ type: "error", reqId: f.reqId, code: "internal" }))
      .finally(() => {
        release();
        if (this.active.get(key) === job) this.active.delete(key);
      });
  }

  private async upload(peerId: string, f: Frame & { type: "request" }, ch: UploadChannel, job: { cancelled: boolean }): Promise<void> {
    const bytes = await this.o.store.get(f.root, f.index);
    if (!bytes) return void ch.sendNow(encodeFrame({ type: "error", reqId: f.reqId, code: "not-found" }));
    const corrupt = this.o.corrupt?.() ?? false;
    for (let offset = 0; offset < bytes.length && !job.cancelled; offset += MAX_DATA_PAYLOAD) {
      let piece = bytes.subarray(offset, Math.min(bytes.length, offset + MAX_DATA_PAYLOAD));
      await this.o.limiter.take(piece.length);
      if (job.cancelled) return;
      if (corrupt) {
        piece = piece.slice();
        piece[0]! ^= 0xff;
      }
      await ch.send(encodeFrame({ type: "data", reqId: f.reqId, index: f.index, offset, bytes: piece }));
      this.uploaded += piece.length;
      this.o.onUploaded?.(f.root, peerId, piece.length);
    }
  }

  /** The requester no longer wants it. */
  cancel(peerId: string, reqId: number): void {
    const job = this.active.get(`${peerId}/${reqId}`);
    if (job) job.cancelled = true;
  }

  /** A peer's link closed: stop its uploads. */
  dropPeer(peerId: string): void {
    for (const [k, job] of this.active) if (k.startsWith(`${peerId}/`)) job.cancelled = true;
  }
}
