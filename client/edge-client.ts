/**
 * Talking to the edge Worker over HTTP: where a URL's content lives (`/c/…`), its manifest
 * (`/m/…?key=`, or legacy `?peer=`), and byte ranges of it. Every answer is validated; anything unexpected is `null`,
 * which sends the caller down the plain-fetch path.
 */
import {
  isManifestPending, isSha256Hex, MANIFEST_INLINE_PARAM, MANIFEST_LEAD_HEADER, MANIFEST_LEAD_PARAM, MANIFEST_PENDING_HEADER, MANIFEST_PENDING_STATUS,
  parseManifest, parseManifestLead, type ManifestPending, type ManifestResponse,
} from "../protocol/manifest";
import { PEER_ID } from "../protocol/peer-id";
import type { EdgeFetch } from "./chunk-sources";
import { splitHead, type EdgeLead } from "./edge-lead";

export type FetchFn = typeof fetch;

/**
 * The edge content URL (`<edge>/c/<path>`) a request maps to, or `null` when it is not edge content.
 * Accepted: URLs on the edge origin under `/c/`, and other paths on the edge origin (`/demo/a.bin`
 * is taken as `/c/demo/a.bin`, for pages served by the edge itself). Other origins: `null`.
 *
 * @example
 * contentUrl("/c/demo/a.bin", "https://edge.example"); // "https://edge.example/c/demo/a.bin"
 */
export function contentUrl(input: string, edge: string, base?: string): URL | null {
  let u: URL;
  try {
    u = new URL(input, base ?? edge);
  } catch {
    return null;
  }
  const e = new URL(edge);
  if (u.origin !== e.origin) return null;
  if (u.pathname.startsWith("/c/")) return u;
  if (/^\/(m|swarm|sdk)\//.test(u.pathname) || u.pathname === "/edgeswarm-sw.js" || u.pathname === "/") return null;
  u.pathname = "/c" + u.pathname;
  return u;
}

/**
 * How a client names itself to `/m/`: with a peer `key` (sent as `?key=`; `peerId` is derived from
 * it, see `peerIdFromKey` in protocol/peer-id.ts) or, legacy, with a chosen `peerId` alone (sent as `?peer=`).
 */
export interface PeerIdentity {
  peerId: string;
  key?: string;
}

/**
 * The manifest URL of a content URL, naming `who` by key (`?key=`) or, legacy, by id (`?peer=`);
 * `inline`: a cold item may be answered with the item itself (protocol/manifest.ts `MANIFEST_INLINE_PARAM`);
 * `lead`: a manifest answer may carry the item's first `lead` chunks (`MANIFEST_LEAD_PARAM`).
 */
export function manifestUrl(content: URL, who: PeerIdentity, inline?: boolean, lead = 0): string {
  const m = new URL(content.href);
  m.pathname = "/m/" + m.pathname.slice(3);
  // The content's own query stays: it names the content (the edge keys and forwards it, issue 13
  // item 3) and strips only its own parameters from it.
  if (who.key !== undefined) m.searchParams.set("key", who.key);
  else m.searchParams.set("peer", who.peerId);
  if (inline) m.searchParams.set(MANIFEST_INLINE_PARAM, "1");
  if (lead > 0) m.searchParams.set(MANIFEST_LEAD_PARAM, String(lead));
  return m.href;
}

/**
 * What `/m/` said: a manifest (with `lead`, the item's first bytes that came with it, for one
 * reader: whoever uses it clears the field), `"ineligible"` (409), not ready yet (202; with `item`,
 * the item's own response the edge sent instead, likewise for one reader), or nothing usable (`null`).
 */
export type ManifestAnswer = (ManifestResponse & { lead?: EdgeLead }) | "ineligible" | { pending: ManifestPending; item?: Response } | null;

/**
 * Fetches and validates a manifest response. `"ineligible"` for a 409 (content that must not be
 * shared), `{ pending }` for a 202 with a valid `ManifestPending` body (a cold item: stream `/c/`
 * now, ask again after `retryAfter`), `null` for anything else that is not a valid manifest — including a join token for
 * another peer id than `who.peerId` (an edge deriving ids differently: joining under an id we do not
 * know would break our own bookkeeping, so the caller takes the plain edge path instead).
 */
export async function fetchManifest(fetchFn: FetchFn, content: URL, who: PeerIdentity, signal?: AbortSignal, inline?: boolean, lead = 0): Promise<ManifestAnswer> {
  let res: Response;
  try {
    res = await fetchFn(manifestUrl(content, who, inline, lead), signal ? { signal } : {});
  } catch {
    return null;
  }
  const split = res.status === 200 && res.body ? parseManifestLead(res.headers.get(MANIFEST_LEAD_HEADER)) : null;
  if (split) {
    // The JSON, then the item's first bytes: those stay unread until a download takes them.
    let parts: Awaited<ReturnType<typeof splitHead>>;
    try {
      parts = await splitHead(res.body!, split.json);
    } catch {
      return null;
    }
    let answer: ManifestAnswer = null;
    try {
      answer = manifestAnswer(JSON.parse(new TextDecoder().decode(parts.head)), who);
    } catch {
      // not JSON: nothing usable
    }
    if (!answer || typeof answer !== "object" || !("manifest" in answer) || split.lead > answer.manifest.size) {
      await parts.rest.cancel().catch(() => {});
      return null;
    }
    return split.lead > 0 ? { ...answer, lead: { bytes: split.lead, body: parts.rest } } : (await parts.rest.cancel().catch(() => {}), answer);
  }
  const retry = res.headers.get(MANIFEST_PENDING_HEADER);
  // The item itself (its length is the response's own Content-Length).
  if (retry !== null && res.status === 200) return { pending: { status: "pending", url: content.pathname, size: null, retryAfter: +retry >= 0 ? +retry : 2 }, item: res };
  if (res.status === 409) return res.body?.cancel().then(() => "ineligible" as const) ?? "ineligible";
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    return null;
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return null;
  }
  if (res.status === MANIFEST_PENDING_STATUS) return isManifestPending(body) ? { pending: body } : null;
  return manifestAnswer(body, who);
}

/** A validated manifest response for `who`, or `null`. */
function manifestAnswer(body: unknown, who: PeerIdentity): ManifestResponse | null {
  const v = body as Partial<ManifestResponse> | null;
  const m = parseManifest(v?.manifest);
  const j = v?.join;
  if (!m.ok || !j || typeof j.token !== "string" || typeof j.url !== "string" || typeof j.peerId !== "string" || !PEER_ID.test(j.peerId) || j.peerId !== who.peerId) return null;
  if (typeof j.expires !== "number") return null;
  const ice = Array.isArray(v.iceServers) ? v.iceServers.filter((s) => s && (typeof s.urls === "string" || Array.isArray(s.urls))) : [];
  // The swarm id (a collection's, or the root) keys the SDK's shared coordinator socket.
  const swarm = isSha256Hex(j.swarm) ? j.swarm : m.manifest.root;
  return { manifest: m.manifest, join: { peerId: j.peerId, token: j.token, url: j.url, expires: j.expires, swarm }, iceServers: ice };
}

/**
 * An {@link EdgeFetch} over `Range` requests to one content URL. A 200 (a server ignoring Range)
 * is trimmed to the asked bytes; any other status is an error.
 */
export function edgeRangeFetch(fetchFn: FetchFn, url: string): EdgeFetch {
  return async (start, end, signal) => {
    const res = await fetchFn(url, { headers: { range: `bytes=${start}-${end - 1}` }, signal });
    if (!res.body || (res.status !== 206 && res.status !== 200)) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`edge answered ${res.status} to a range request`);
    }
    const skip = res.status === 200 ? start : Number(/^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1] ?? start) - start;
    if (skip < 0) throw new Error("edge range starts too late");
    return trim(res.body, skip, end - start);
  };
}

/** Skips `skip` bytes and passes on at most `length` bytes of a stream. */
export function trim(body: ReadableStream<Uint8Array>, skip: number, length: number): ReadableStream<Uint8Array> {
  if (skip === 0 && length === Infinity) return body;
  const reader = body.getReader();
  let toSkip = skip;
  let left = length;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      for (;;) {
        if (left <= 0) {
          await reader.cancel().catch(() => {});
          return c.close();
        }
        const { value, done } = await reader.read();
        if (done) return c.close();
        let v = value;
        if (toSkip) {
          const n = Math.min(toSkip, v.length);
          toSkip -= n;
          v = v.subarray(n);
        }
        if (!v.length) continue;
        if (v.length > left) v = v.subarray(0, left);
        left -= v.length;
        return c.enqueue(v);
      }
    },
    cancel: (r) => reader.cancel(r),
  });
}
