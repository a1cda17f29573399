/**
 * The lead: the item's first bytes, sent by the edge after the manifest's JSON in the same answer
 * (`/m/?lead=<n>`, protocol/manifest.ts `MANIFEST_LEAD_PARAM`). They are the bytes the download's
 * first edge runs would ask for one round trip after the manifest, so a download that has a lead
 * serves those runs from it ({@link leadEdgeFetch}) and the visitor's link is busy from the first
 * round trip on, as with a plain GET. Lead bytes are edge bytes like any other: each chunk is
 * verified against the manifest by the run that reads it (`edge-runs.ts`).
 */
import { MANIFEST_LEAD_MAX_CHUNKS } from "../protocol/manifest";
import type { EdgeFetch } from "./chunk-sources";
import { DEFAULTS } from "./defaults";

/** The item's bytes `[0, bytes)` as they arrive after the manifest; one reader. */
export interface EdgeLead {
  bytes: number;
  body: ReadableStream<Uint8Array>;
}

/**
 * Reads the first `head` bytes of `body`; resolves with them and a stream of the rest (which must
 * be read or cancelled). Rejects when the body ends or fails before `head` bytes.
 */
export async function splitHead(body: ReadableStream<Uint8Array>, head: number): Promise<{ head: Uint8Array; rest: ReadableStream<Uint8Array> }> {
  const reader = body.getReader();
  const out = new Uint8Array(head);
  let filled = 0;
  let spill: Uint8Array = new Uint8Array(0);
  try {
    while (filled < head) {
      const { value, done } = await reader.read();
      if (done) throw new Error("manifest answer ended inside its JSON");
      const n = Math.min(value.length, head - filled);
      out.set(value.subarray(0, n), filled);
      filled += n;
      spill = value.subarray(n);
    }
  } catch (e) {
    reader.cancel(e).catch(() => {});
    throw e;
  }
  const rest = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (spill.length) {
        c.enqueue(spill);
        spill = new Uint8Array(0);
        return;
      }
      const { value, done } = await reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
    cancel: (r) => reader.cancel(r),
  });
  return { head: out, rest };
}

/** An {@link EdgeFetch} that serves what it can from a lead; {@link LeadFetch.cancel} drops the rest. */
export interface LeadFetch extends EdgeFetch {
  /** Drops what is left of the lead (the download ended). Idempotent. */
  cancel(): void;
}

/**
 * Serves edge requests from `lead` while they ask for its bytes in order — a request starting where
 * the previous one's lead part ended — and everything else (and what lies past the lead) with
 * `range`. One request's lead part is read only after the previous one's is finished, so the lead
 * is one byte stream. A request cut short leaves its unread lead bytes to be skipped by the next
 * one, or, with none after it, ends the lead; a lead that fails or ends early is replaced by a
 * `range` request for the bytes its request has not got yet. No byte is fetched twice except what
 * was in flight when the lead ended.
 *
 * @example
 * const edge = leadEdgeFetch(lead, edgeRangeFetch(fetch, url));
 * new Download({ manifest, edge, ... }); // its first runs read the lead
 */
export function leadEdgeFetch(lead: EdgeLead, range: EdgeFetch): LeadFetch {
  const reader = lead.body.getReader();
  let dead = false;
  /** Item offset of `pending[0]` (or of the next read when it is empty). */
  let at = 0;
  let pending: Uint8Array = new Uint8Array(0);
  /** Where the next request must start to be served from the lead. */
  let handed = 0;
  /** Resolves when the last request handed a lead part is done with it. */
  let previous: Promise<void> = Promise.resolve();
  const end = () => {
    if (dead) return;
    dead = true;
    pending = new Uint8Array(0);
    reader.cancel().catch(() => {});
  };

  const serve = async (start: number, stop: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> => {
    if (dead || start !== handed || start >= lead.bytes) return range(start, stop, signal);
    const leadEnd = Math.min(stop, lead.bytes);
    handed = leadEnd;
    let finish!: () => void;
    const before = previous;
    previous = new Promise<void>((r) => (finish = r));
    // What lies past the lead is asked at once: its round trip overlaps the lead's bytes.
    const beyond = stop > leadEnd ? range(leadEnd, stop, signal) : null;
    beyond?.catch(() => {});
    await before;
    let pos = start;
    let source: ReadableStreamDefaultReader<Uint8Array> | null = null;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      finish();
      // Cut short with no request after it: nobody reads the rest of the lead.
      if (pos < leadEnd && handed === leadEnd) end();
    };
    let beyondTaken = false;
    const dropBeyond = () => void (beyondTaken || beyond?.then((b) => b.cancel().catch(() => {}), () => {}));
    signal.addEventListener("abort", () => {
      release();
      void source?.cancel().catch(() => {});
      dropBeyond();
    }, { once: true });
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        try {
          if (pos < leadEnd && !dead && !source) {
            while (at < pos || !pending.length) {
              if (!pending.length) {
                const { value, done } = await reader.read();
                if (done) throw new Error("the lead ended early");
                pending = value;
              }
              const skip = Math.min(pending.length, pos - at);
              pending = pending.subarray(skip);
              at += skip;
            }
            const n = Math.min(pending.length, leadEnd - pos);
            c.enqueue(pending.subarray(0, n));
            pending = pending.subarray(n);
            at += n;
            pos += n;
            if (pos >= leadEnd) {
              release();
              if (!beyond) c.close();
            }
            return;
          }
          if (!source) {
            // The lead is gone (it failed, or was cut for another request): the rest by Range.
            if (pos < leadEnd) dropBeyond();
            beyondTaken = true;
            source = (await (pos < leadEnd ? range(pos, stop, signal) : beyond!)).getReader();
            release();
          }
          const { value, done } = await source.read();
          if (done) c.close();
          else c.enqueue(value);
        } catch (e) {
          if (pos < leadEnd && !source) end();
          release();
          if (source || pos >= leadEnd || signal.aborted) throw e;
          // The lead failed under this request: fetch what it has not got yet instead.
          dropBeyond();
          beyondTaken = true;
          source = (await range(pos, stop, signal)).getReader();
          const { value, done } = await source.read();
          if (done) c.close();
          else c.enqueue(value);
        }
      },
      cancel(r) {
        release();
        dropBeyond();
        void source?.cancel(r).catch(() => {});
      },
    });
  };
  return Object.assign(serve, { cancel: end });
}

/**
 * How many chunks to ask `/m/` to send after a whole item's manifest: the fast-start chunk and the
 * edge lane's first run with no peer linked (the window) — what the download asks the edge for at
 * its start. None while peer links are up (`linked`: peers may hold them) or when the store holds
 * some of the item (`stored`: they would come twice).
 *
 * @example
 * leadChunks({}, false, false); // 33 with the defaults
 */
export function leadChunks(t: { edgeStartChunks?: number; window?: number } | undefined, linked: boolean, stored: boolean | undefined): number {
  if (linked || stored) return 0;
  return Math.min(MANIFEST_LEAD_MAX_CHUNKS, (t?.edgeStartChunks ?? DEFAULTS.edgeStartChunks) + (t?.window ?? DEFAULTS.window));
}
