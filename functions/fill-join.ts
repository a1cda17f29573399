/**
 * The Worker's side of the fill lock (`functions/fill-lock.ts`): ask the object's lock whether to
 * lead a fill, join one in progress, or fetch alone; as a leader, feed it and say how the fill ended.
 * Any failure to reach the lock degrades to `solo` — the lock saves origin fetches, it is never
 * needed for a correct answer.
 */
import { frameRelay, unframeRelay } from "./fill-relay";
import { nativeStream } from "./native-stream";
import { FILL_CHUNKED, FILL_HEADERS, FILL_LEASE, FILL_LENGTH, FILL_ROLE } from "./fill-lock";

/** A fill this request leads: feed it, then report its clean end or its failure. */
export interface FillLead {
  role: "lead";
  /**
   * Hands the stored headers, the announced length and a branch of the body to the lock. A chunked
   * fill (`chunked`) hands its chunk count and one byte per chunk stored instead (functions/chunked-storage.ts).
   */
  feed(headers: Headers, length: number | null, body: ReadableStream<Uint8Array>, chunked?: boolean): Promise<void>;
  /**
   * The fill ended cleanly with `size` bytes. Resolves once the lock knows it: the leader's client
   * sees the end of its body only after that, so its next request finds the fill ended.
   */
  end(size: number): Promise<void>;
  /** The fill failed, or the origin's answer is not shareable: joiners fetch for themselves. */
  abandon(reason: string): Promise<void>;
  /** The fill's copy is committed to the cache (or failed to be): new misses stop joining it. */
  release(): Promise<void>;
}

/** A fill in progress this request joins: its stored headers and its body from the first byte. */
export interface FillJoin {
  role: "join";
  headers: Headers;
  length: number | null;
  body: ReadableStream<Uint8Array>;
}

/**
 * What {@link FillLockClient.acquire} hands out. `cached`: a fill of this object ended cleanly and
 * its copy was committed just now — read the cache rather than the origin.
 */
export type Acquired = FillLead | FillJoin | { role: "solo" } | { role: "cached" };

/** The lock of one object. */
export interface FillLockClient {
  acquire(): Promise<Acquired>;
}

/** Settings of the lock: how long a joiner waits for the leader's headers, and the relay cap. */
export interface FillLockSettings {
  waitMs: number;
  relayMaxBytes: number;
}

/** Creates the lock client of the object stored under `key`. */
export type FillLockFactory = (key: string, settings: FillLockSettings) => FillLockClient;

const INTERNAL = "https://fill.internal";

/**
 * The lock factory for a request: one object per cache key and colo (the Cache API is per colo, so
 * one fill per colo fills it), or null without a `FILL_LOCK` binding (then every miss fetches alone).
 * @example
 * const lock = fillLockFor(env, request)?.(contentKey(url), { waitMs: 15_000, relayMaxBytes: 32 << 20 });
 */
export function fillLockFor(env: Pick<Env, "FILL_LOCK">, request: Request): FillLockFactory | null {
  const ns = env.FILL_LOCK;
  if (!ns) return null;
  const colo = String((request as { cf?: { colo?: unknown } }).cf?.colo ?? "local");
  return (key, settings) => {
    const stub = ns.get(ns.idFromName(`fill:${colo}:${key}`));
    return { acquire: () => acquire(stub, settings) };
  };
}

async function acquire(stub: DurableObjectStub, settings: FillLockSettings): Promise<Acquired> {
  let res: Response;
  try {
    res = await stub.fetch(`${INTERNAL}/acquire?waitMs=${settings.waitMs}&relayMaxBytes=${settings.relayMaxBytes}`, { method: "POST" });
  } catch (e) {
    console.warn("edge:fill-lock", e);
    return { role: "solo" };
  }
  const role = res.headers.get(FILL_ROLE);
  if (role === "join" && res.body) {
    let entries: [string, string][] = [];
    try {
      entries = JSON.parse(res.headers.get(FILL_HEADERS) ?? "[]") as [string, string][];
    } catch {
      res.body.cancel().catch(() => {});
      return { role: "solo" };
    }
    const raw = res.headers.get(FILL_LENGTH);
    return { role: "join", headers: new Headers(entries), length: raw ? Number(raw) : null, body: unframeRelay(res.body) };
  }
  res.body?.cancel().catch(() => {});
  if (role === "cached") return { role: "cached" };
  const lease = res.headers.get(FILL_LEASE);
  if (role !== "lead" || !lease) return { role: "solo" };
  const call = (path: string, init?: RequestInit) =>
    stub.fetch(`${INTERNAL}${path}${path.includes("?") ? "&" : "?"}lease=${encodeURIComponent(lease)}`, { method: "POST", ...init }).then(
      (r) => void r.body?.cancel().catch(() => {}),
      (e) => console.warn("edge:fill-lock", path, e),
    );
  return {
    role: "lead",
    feed: (headers, length, body, chunked = false) =>
      call("/feed", { body: nativeStream(frameRelay(body)), headers: { [FILL_HEADERS]: JSON.stringify([...headers]), [FILL_LENGTH]: length === null ? "" : String(length), ...(chunked ? { [FILL_CHUNKED]: "1" } : {}) } }),
    end: (size) => call(`/end?size=${size}`),
    abandon: (reason) => call(`/abandon?reason=${encodeURIComponent(reason.slice(0, 200))}`),
    release: () => call("/release"),
  };
}
