/**
 * `GET /m/<route prefix><path>?key=<peer key>` (or legacy `?peer=<id>`) — the content manifest plus a signed swarm join token.
 * The manifest comes from the Cache API when this object version was hashed before (the hash is
 * computed while a `/c/` or `/m/` miss streams into the cache). When it is not ready — a cold item
 * being filled, or a cached body whose manifest is gone and is being hashed again in the
 * background — the answer is `202` + `Retry-After` with a `ManifestPending` body
 * (protocol/manifest.ts): the client streams `/c/` at once and asks again later. `/m/` never waits
 * for a whole-object hash. With `?inline=1` (the SDK's request for a whole item), a cold item whose
 * body this request holds (the fill it leads or joined) is answered with that body itself, marked
 * `X-Edgeswarm-Manifest-Pending`: the first visitor's bytes start one edge round trip sooner, with
 * no second read of the fill. With `?lead=<n>` (the SDK's request for a whole item), a manifest
 * answer carries the item's first `n` chunks after its JSON (protocol/manifest.ts
 * `MANIFEST_LEAD_PARAM`): the bytes the download's first edge run would ask one round trip later.
 */
import { Hono } from "hono";
import {
  MANIFEST_INLINE_PARAM, MANIFEST_LEAD_HEADER, MANIFEST_LEAD_MAX_CHUNKS, MANIFEST_LEAD_PARAM, MANIFEST_PENDING_HEADER, MANIFEST_PENDING_STATUS, MAX_CHUNKS,
  formatManifestLead, parseManifest, type Manifest, type ManifestPending, type ManifestResponse,
} from "../protocol/manifest";
import { sliceStream } from "./byte-range";
import { withLength } from "./native-stream";
import { PEER_ID } from "../protocol/swarm-protocol";
import { hashStream } from "./chunk-hasher";
import { contentLength, loadContent, manifestResponse, type LoaderDeps } from "./content-loader";
import { loaderDeps, resolveRequest } from "./content-route";
import { EXPOSED_HEADERS, withCors } from "./cors";
import type { EdgeEnv } from "./edge-context";
import { INELIGIBLE_MEMO_SECONDS, contentKey, ineligibleKey, manifestKey, versionOf } from "./edge-cache";
import type { Loaded } from "./content-loader";
import { requestEligibility } from "./eligibility";
import { HttpError } from "./http-error";
import { DERIVED_PEER_ID, PEER_KEY, peerIdFromKey } from "../protocol/peer-id";
import { iceServersFor } from "./ice-servers";
import { isSupernodeKey, signJoinToken, SUPERNODE_KEY_HEADER } from "./join-token";
import { swarmOf } from "./swarm-scope";
import type { ResolvedPath } from "./route-table";
import { TruncatedBodyError } from "./stream-fanout";

const notPublic = () => new HttpError(409, "ineligible", "content is not publicly cacheable, so it cannot be delivered by peers");

/**
 * The origin answered something other than 200 (and not 5xx/304, which the loader maps itself):
 * an origin state, not a property of the content, so it is reported as such and never memoised —
 * a fixed origin is seen on the next request. 404/410 keep their meaning; anything else (a redirect,
 * 403, 429 …) cannot be described by a manifest: 502.
 */
const originStatus = (status: number) =>
  status >= 500
    ? new HttpError(502, "origin-error", `origin answered ${status}`)
    : status === 404 || status === 410
    ? new HttpError(404, "origin-not-found", `origin answered ${status}`)
    : new HttpError(502, "origin-status", `origin answered ${status}; a manifest needs a 200`);

/**
 * What `/m/` answers: a manifest, or "not yet" (the fill or the hash is still running) — with the
 * item's body when the loader produced one that nothing else reads (`item`: a fill this request
 * leads or joined, or a stored copy already being hashed), for the `?inline=1` answer.
 */
type ManifestAnswer = { manifest: Manifest; cache: string; lead?: Lead } | { pending: ManifestPending; cache: string; item?: Response; originBytes?: number };

/** The item's first bytes `[0, bytes)`, sent after a manifest's JSON. */
interface Lead {
  body: ReadableStream<Uint8Array>;
  bytes: number;
}

/** Bytes per second the edge is assumed to fill and hash at, for `Retry-After` (a hint, not a promise). */
const PENDING_BYTES_PER_SECOND = 32 * 1024 * 1024;
/** Object ids this isolate is hashing now: concurrent `/m/` of one cached object start one hash. */
const hashing = new Set<string>();

async function manifestFor(deps: LoaderDeps, target: ResolvedPath, req: Headers, mount: string, inline: boolean, leadChunks: number): Promise<ManifestAnswer> {
  const pending = (size: number | null, cache: string, item?: Response): ManifestAnswer => {
    const retryAfter = size === null ? 2 : Math.min(30, Math.max(1, Math.ceil(size / PENDING_BYTES_PER_SECOND)));
    return { pending: { status: "pending", url: `${mount}/c${target.path}`, size, retryAfter }, cache, ...(item ? { item } : {}) };
  };
  // The body the loader handed us, for the inline answer (else dropped: the fill goes on without it).
  const spare = (r: Response): Response | undefined => {
    if (inline && r.body) return r;
    r.body?.cancel().catch(() => {});
    return undefined;
  };
  const memo = ineligibleKey(target.originUrl);
  // The memo is consulted only when nothing is stored (a stored object was public when stored, and
  // a stale one is revalidated with the origin anyway), so manifest hits pay no extra cache lookup.
  const beforeOrigin = async () => {
    const marked = await deps.cache.match(memo);
    if (marked) {
      marked.body?.cancel().catch(() => {});
      throw notPublic();
    }
  };
  const loaded = await loadContent(deps, target, req, { beforeOrigin });
  const body = loaded.response.body;
  if (!loaded.eligible) {
    body?.cancel().catch(() => {});
    if (loaded.reason === "status") throw originStatus(loaded.response.status);
    // A verdict about the content itself (private, no-store, Set-Cookie, Vary: *). Only the verdict
    // is stored (no body, no origin headers): it names a URL, not a user.
    const marker = new Response(null, { headers: { "cache-control": `public, s-maxage=${INELIGIBLE_MEMO_SECONDS}` } });
    deps.waitUntil(deps.cache.put(memo, marker).catch(() => {}));
    throw notPublic();
  }
  const tooLarge = () => new HttpError(409, "ineligible", `content larger than ${MAX_CHUNKS} chunks of ${deps.cfg.chunkSize} bytes`);
  const size = contentLength(loaded.response.headers);
  if (size !== null && size > MAX_CHUNKS * deps.cfg.chunkSize) {
    body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (loaded.cache === "MISS") {
    // A fill this request leads or joined: its hash lands in the cache when the fill ends cleanly
    // (the loader's commit, under waitUntil). The first visitor never waits for a whole-object
    // hash: "pending" sends the client to /c/ at once — or, asked `?inline=1`, this very answer
    // carries the item (one round trip and one read of the fill fewer). Else the client branch is
    // not needed.
    // The loader says how much this request fetched from the origin (0 when it joined another's fill): the dashboard counts it.
    return { ...pending(size, loaded.cache, spare(loaded.response)), ...(loaded.originBytes !== undefined ? { originBytes: loaded.originBytes } : {}) };
  }
  const key = manifestKey(loaded.objectId ?? "", deps.cfg.chunkSize);
  const stored = loaded.objectId ? await deps.cache.match(key) : undefined;
  if (stored) {
    const parsed = parseManifest(await stored.json().catch(() => null));
    if (parsed.ok) {
      const lead = leadChunks > 0 ? await leadOf(deps, loaded, target, Math.min(parsed.manifest.size, leadChunks * parsed.manifest.chunkSize)) : undefined;
      if (!lead) body?.cancel().catch(() => {});
      return { manifest: parsed.manifest, cache: loaded.cache, ...(lead ? { lead } : {}) };
    }
  }
  // Cached, but its manifest is not (evicted, or stored by an older edge): hash the cached body in
  // the background, checked against its stored length (a short copy is deleted, never certified).
  const id = loaded.objectId ?? "";
  if (!id || hashing.has(id)) return pending(size, loaded.cache, spare(loaded.response));
  hashing.add(id);
  const h = loaded.response.headers;
  const meta = { url: `/c${target.path}`, version: versionOf(h), type: h.get("content-type") ?? "application/octet-stream" };
  deps.waitUntil(
    hashStream(body!, meta, deps.cfg.chunkSize, size)
      .then((m) => deps.cache.put(key, manifestResponse(m, deps.cfg.staleKeepSeconds)))
      .catch(async (e) => {
        console.warn("edge:hash", target.path, String(e));
        if (e instanceof TruncatedBodyError) await deps.cache.delete(contentKey(target.originUrl));
      })
      .finally(() => hashing.delete(id)),
  );
  return pending(size, loaded.cache);
}

/**
 * The stored item's bytes `[0, bytes)` for a lead: the whole body when that is all of it, else only
 * the chunks they lie in (chunked storage), the Cache API's own 206, or (the entry gone meanwhile)
 * the head of the body. The body is cancelled when the lead does not read it.
 */
async function leadOf(deps: LoaderDeps, loaded: Loaded, target: ResolvedPath, bytes: number): Promise<Lead | undefined> {
  const body = loaded.response.body;
  if (bytes <= 0 || !body) return undefined;
  if (bytes === contentLength(loaded.response.headers)) return { body, bytes };
  const drop = () => void body.cancel().catch(() => {});
  if (loaded.ranged) return drop(), { body: loaded.ranged(0, bytes - 1), bytes };
  const range = `bytes 0-${bytes - 1}/`;
  const ranged = await deps.cache.match(new Request(loaded.key ?? contentKey(target.originUrl), { headers: { range: `bytes=0-${bytes - 1}` } }));
  if (ranged?.status === 206 && ranged.body && ranged.headers.get("content-range")?.startsWith(range)) return drop(), { body: ranged.body, bytes };
  ranged?.body?.cancel().catch(() => {});
  return { body: sliceStream(body, 0, bytes - 1), bytes };
}

/** The `?lead=` chunk count: 0 when absent; a bad value is the client's error. */
function leadParam(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MANIFEST_LEAD_MAX_CHUNKS)) throw new HttpError(400, "bad-request", `${MANIFEST_LEAD_PARAM} must be a chunk count from 1 to ${MANIFEST_LEAD_MAX_CHUNKS}`);
  return n;
}

/**
 * `head` then `tail` (`tailBytes` long) as one body with a Content-Length, through a native stream
 * (functions/native-stream.ts says why): a tail that ends short or errors errors the body.
 */
function withHead(head: Uint8Array, tail: ReadableStream<Uint8Array>, tailBytes: number): ReadableStream<Uint8Array> {
  return withLength(tail, head.byteLength + tailBytes, head);
}

/**
 * The peer id a join token is issued to: derived from `?key=` (a secret only its owner holds, so
 * nobody else can get a token for that id), else `?peer=` as given (unless `PEER_KEY_REQUIRED = "1"`,
 * or it has the shape of a derived id), else a fresh UUID.
 */
async function peerIdOf(peer: string | undefined, peerKey: string | undefined, keyRequired: boolean): Promise<string> {
  if (peerKey !== undefined) {
    if (peer !== undefined) throw new HttpError(400, "bad-peer-key", "give ?key= or ?peer=, not both");
    if (!PEER_KEY.test(peerKey)) throw new HttpError(400, "bad-peer-key", `key must match ${PEER_KEY}`);
    return peerIdFromKey(peerKey);
  }
  if (peer === undefined) return crypto.randomUUID();
  if (keyRequired)
    throw new HttpError(400, "bad-peer-id", "this edge derives peer ids from ?key=<peer key>; ?peer= is not accepted");
  if (!PEER_ID.test(peer)) throw new HttpError(400, "bad-peer-id", `peer must match ${PEER_ID}`);
  if (DERIVED_PEER_ID.test(peer)) throw new HttpError(400, "bad-peer-id", "peer ids of the form pk_<29 characters> are derived from ?key=");
  return peer;
}

/**
 * The `/m/` routes.
 * @example
 * app.route("/m", manifestRoutes);
 */
export const manifestRoutes = new Hono<EdgeEnv>();

manifestRoutes.get("/*", async function manifest(c) {
  const deps = loaderDeps(c);
  const target = resolveRequest(c, deps);
  if (!deps.cfg.tokenSecret) throw new HttpError(500, "bad-config", "TOKEN_SECRET is not set");
  const peerId = await peerIdOf(c.req.query("peer"), c.req.query("key"), deps.cfg.peerKeyRequired);
  const req = c.req.raw.headers;
  if (!requestEligibility("GET", req).eligible)
    throw new HttpError(409, "ineligible", "requests with credentials cannot join a swarm");
  const leadChunks = leadParam(c.req.query(MANIFEST_LEAD_PARAM));
  const answer = await manifestFor(deps, target, req, c.var.mount, c.req.query(MANIFEST_INLINE_PARAM) === "1", leadChunks);
  if ("originBytes" in answer && answer.originBytes !== undefined) c.set("originBytes", answer.originBytes);
  if ("pending" in answer && answer.item) return inlineItem(answer.item, answer.cache, answer.pending.retryAfter);
  const h = withCors(new Headers({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }));
  h.set("x-edgeswarm-cache", answer.cache);
  h.set("x-edgeswarm-eligible", "1");
  if ("pending" in answer) {
    h.set("retry-after", String(answer.pending.retryAfter));
    return new Response(JSON.stringify(answer.pending), { status: MANIFEST_PENDING_STATUS, headers: h });
  }
  const { manifest } = answer;
  manifest.url = `${c.var.mount}/c${target.path}`;
  const expires = deps.now() + deps.cfg.tokenTtlMs;
  // The item's chunk count and size travel in the token: the coordinator bounds claims with them.
  const supernode = await isSupernodeKey(deps.cfg.supernodeKey, c.req.header(SUPERNODE_KEY_HEADER));
  // Items of a collection (a stream's segments, a route's assets) share one swarm: the token is
  // issued for the collection (functions/swarm-scope.ts).
  const swarm = await swarmOf(target.route, target.path, manifest);
  const token = await signJoinToken(deps.cfg.tokenSecret, { root: swarm.id, peerId, expires, ...swarm.grant, ...(supernode ? { supernode } : {}) });
  const body: ManifestResponse = {
    manifest,
    join: { peerId, token, expires, url: `${c.var.mount}/swarm/${swarm.id}`, swarm: swarm.id },
    // Per-peer: TURN credentials, when configured, are issued to this peer id only (functions/ice-servers.ts).
    iceServers: await iceServersFor(deps.cfg, peerId, { now: deps.now, fetch: (i, init) => fetch(i, init) }),
  };
  if (!answer.lead) return new Response(JSON.stringify(body), { headers: h });
  const json = new TextEncoder().encode(JSON.stringify(body));
  h.set("content-type", "application/octet-stream");
  h.set(MANIFEST_LEAD_HEADER, formatManifestLead(json.byteLength, answer.lead.bytes));
  h.set("access-control-expose-headers", [...EXPOSED_HEADERS, MANIFEST_LEAD_HEADER].join(", "));
  return new Response(withHead(json, answer.lead.body, answer.lead.bytes), { headers: h });
});

/**
 * The `?inline=1` answer for a cold item: the item's own 200 (its headers as `/c/` sends them) with
 * {@link MANIFEST_PENDING_HEADER}. `no-store`: the URL names a peer key, and the page gets the
 * bytes through the SDK, which keeps its own copy to seed.
 */
function inlineItem(item: Response, cache: string, retryAfter: number): Response {
  const h = withCors(new Headers(item.headers));
  h.set("access-control-expose-headers", [...EXPOSED_HEADERS, MANIFEST_PENDING_HEADER].join(", "));
  h.set("cache-control", "no-store");
  h.set("x-edgeswarm-cache", cache);
  h.set("x-edgeswarm-eligible", "1");
  h.set(MANIFEST_PENDING_HEADER, String(retryAfter));
  return new Response(item.body, { status: 200, headers: h });
}
