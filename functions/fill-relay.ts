/**
 * The framing of a fill's bytes between the Worker and the fill lock (functions/fill-lock.ts), both
 * ways: the leader's `feed` body and a joiner's body. Each piece is prefixed by its length (u32,
 * big-endian), then an end frame says whether the fill ended cleanly. The stream that crosses the
 * Durable Object boundary always closes cleanly.
 *
 * Platform quirk this exists for: a request or response body that *errors* on its way to or from
 * a Durable Object (the fill failed) makes workerd log an "uncaught exception" (once per joiner,
 * twice per feed), although every promise is observed — noise in which a real error hides; and an
 * aborted feed body could reach the object as a clean end. So the failure travels in-band and the
 * reader turns it back into an errored stream; a relay that stops without its end frame (the
 * object was evicted, the connection dropped) counts as failed too — never a clean short end.
 */

import { bulkReader } from "./bulk-reader";

/** Length field of the end frame of a fill that ended cleanly. */
const END_CLEAN = 0;
/** Length field of the end frame of a fill that failed. */
const END_FAILED = 0xffff_ffff;

const header = (n: number): Uint8Array => {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, n);
  return h;
};

/** Enqueues one piece of the fill (non-empty), framed. */
export function relayPiece(c: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array): void {
  if (bytes.byteLength === 0) return;
  c.enqueue(header(bytes.byteLength));
  c.enqueue(bytes);
}

/** Enqueues the end frame and closes the relay: `clean` only when the joiner got the whole fill. */
export function relayEnd(c: ReadableStreamDefaultController<Uint8Array>, clean: boolean): void {
  c.enqueue(header(clean ? END_CLEAN : END_FAILED));
  c.close();
}

/**
 * `body` framed: its pieces, then a clean end frame at its end, or a failed one at its error. The
 * result never errors (a cancel reaches `body`).
 * @example
 * stub.fetch(url, { method: "POST", body: nativeStream(frameRelay(branch)) });
 */
export function frameRelay(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        try {
          const { done, value } = await reader.read();
          if (done) return relayEnd(c, true);
          relayPiece(c, value);
        } catch {
          relayEnd(c, false);
        }
      },
      cancel(reason) {
        reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/** Error of a relayed body whose fill failed (or whose relay stopped without its end frame). */
export class FillRelayError extends Error {
  override readonly name = "FillRelayError";
}

/**
 * The fill's bytes from a framed relay: ends cleanly only at a clean end frame, errors at a failed
 * one, at a relay that stops early, or at bytes after the end.
 * @example
 * const body = unframeRelay(res.body); // res: the lock's answer to a joining `acquire`
 */
export function unframeRelay(relay: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  // A hand-written pull, not pipeThrough: the pipe's own promise would reject unobserved when the
  // relay's sender goes away ("Uncaught (in promise)"); here every read is awaited.
  const reader = bulkReader(relay);
  const head = new Uint8Array(4);
  let have = 0;
  let left = 0;
  let ended = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        for (;;) {
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } catch (e) {
            return c.error(e ?? new FillRelayError("fill relay failed"));
          }
          if (r.done) {
            if (ended) return c.close();
            return c.error(new FillRelayError("fill relay stopped before the end of the fill"));
          }
          const chunk = r.value;
          let off = 0;
          let out = 0;
          while (off < chunk.byteLength) {
            if (ended) return fail(c, "fill relay sent bytes after its end");
            if (left > 0) {
              const n = Math.min(left, chunk.byteLength - off);
              c.enqueue(chunk.subarray(off, off + n));
              off += n;
              left -= n;
              out += n;
              continue;
            }
            head[have++] = chunk[off++]!;
            if (have < 4) continue;
            have = 0;
            const n = new DataView(head.buffer).getUint32(0);
            if (n === END_FAILED) return fail(c, "the relayed fill failed");
            if (n === END_CLEAN) ended = true;
            else left = n;
          }
          if (out > 0) return;
        }
      },
      cancel(reason) {
        reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );

  function fail(c: ReadableStreamDefaultController<Uint8Array>, message: string): void {
    c.error(new FillRelayError(message));
    reader.cancel(message).catch(() => {});
  }
}
