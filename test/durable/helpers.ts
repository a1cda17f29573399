/**
 * Test helpers for the swarm coordinator: real WebSockets through the Worker's `/swarm` route, with
 * fake `cf` locations, and a message inbox that waits (with a timeout) for frames matching a test.
 */
import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { env, exports } from "cloudflare:workers";
import type { PeerKind, PeerLocation, ServerMessage } from "../../protocol/swarm-protocol";
import { encodeMessage, encodeBitfield, parseServerMessage } from "../../protocol/swarm-protocol";
import { signJoinToken } from "../../functions/join-token";
import { buildConnectRequest } from "../../durable/connect-request";

/** A fresh random swarm root, so tests never share an object. */
export function randomRoot(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

let peerCounter = 0;
/** A fresh valid peer id. */
export function randomPeerId(prefix = "peer"): string {
  return `${prefix}-${(++peerCounter).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
}

/** The item the test swarms stand for (4,096 chunks of 256 KiB), as the join token says. */
export const TEST_ITEM = { chunks: 4096, size: 4096 * 262_144 } as const;

/** A join token for `root`/`peerId`, valid for 10 minutes unless `expires` is given; item {@link TEST_ITEM} unless `item` is given. */
export function tokenFor(root: string, peerId: string, expires = Date.now() + 600_000, item: { chunks: number; size: number; supernode?: boolean } = TEST_ITEM): Promise<string> {
  return signJoinToken(env.TOKEN_SECRET, { root, peerId, expires, ...item });
}

/** A fake `request.cf` (strings for coordinates, as the platform gives them). */
export function cf(loc: PeerLocation): Record<string, unknown> {
  const o: Record<string, unknown> = { ...loc };
  if (loc.latitude !== undefined) o.latitude = String(loc.latitude);
  if (loc.longitude !== undefined) o.longitude = String(loc.longitude);
  return o;
}

/** Raw upgrade request through the Worker. */
export function upgrade(path: string, location: PeerLocation | null = null, headers: Record<string, string> = { Upgrade: "websocket" }): Promise<Response> {
  const init: RequestInit = { headers };
  if (location) (init as { cf?: unknown }).cf = cf(location);
  return exports.default.fetch(new Request(`https://edge.test${path}`, init));
}

/** One connected test peer. */
export class TestPeer {
  readonly inbox: ServerMessage[] = [];
  readonly raw: string[] = [];
  closed: { code: number; reason: string } | null = null;
  /** The `welcome` that {@link join} waited for. */
  welcome: Extract<ServerMessage, { type: "welcome" }> | null = null;
  #waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket, readonly peerId: string, readonly root: string) {
    ws.addEventListener("message", (e) => {
      const data = typeof e.data === "string" ? e.data : "";
      this.raw.push(data);
      const p = parseServerMessage(data);
      // A frame the client parser refuses is a coordinator bug: keep it visible to the test.
      this.inbox.push(p.ok ? p.value : ({ type: "error", code: "internal", message: `UNPARSEABLE ${data.slice(0, 200)}` } as ServerMessage));
      this.#wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Sends a JSON value (or a raw string/binary as is). */
  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" || msg instanceof ArrayBuffer ? msg : JSON.stringify(msg));
  }

  /** Removes and returns the first inbox frame matching `pred`, waiting up to `timeoutMs`. */
  async take<T extends ServerMessage["type"]>(type: T, pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, timeoutMs = 5000): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type && pred(m as Extract<ServerMessage, { type: T }>));
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) {
        throw new Error(`${this.peerId}: no ${type} frame within ${timeoutMs} ms (closed: ${JSON.stringify(this.closed)}); inbox: ${JSON.stringify(this.inbox).slice(0, 500)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Waits for an `error` frame with `code`. */
  error(code: string, timeoutMs = 5000) {
    return this.take("error", (m) => m.code === code, timeoutMs);
  }

  /** Waits until the socket is closed; returns the close code. */
  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.peerId}: not closed within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.closed;
  }

  /** Sends `want` and returns the `peers` answer. */
  async want(chunks?: number[], max?: number): Promise<Extract<ServerMessage, { type: "peers" }>["peers"]> {
    this.send({ type: "want", ...(chunks ? { chunks } : {}), ...(max ? { max } : {}) });
    return (await this.take("peers")).peers;
  }

  close(): void {
    try {
      this.ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
}

/** What a test peer's join token says about the item and the peer (default: {@link TEST_ITEM}, not a supernode). */
export interface TestGrant {
  chunks?: number;
  size?: number;
  supernode?: boolean;
}

/** Opens a socket for `peerId` (fresh id by default) without saying hello. */
export async function open(root: string, opts: { peerId?: string; location?: PeerLocation | null; grant?: TestGrant } = {}): Promise<TestPeer> {
  const peerId = opts.peerId ?? randomPeerId();
  const token = await tokenFor(root, peerId, undefined, { ...TEST_ITEM, ...opts.grant });
  const res = await upgrade(`/swarm/${root}?token=${encodeURIComponent(token)}`, opts.location ?? null);
  if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  res.webSocket.accept();
  return new TestPeer(res.webSocket, peerId, root);
}

/**
 * Opens a socket and joins with `hello`; resolves after `welcome`. A `kind: "supernode"` peer gets a
 * token with the supernode grant (as `/m/` mints for a request showing `SUPERNODE_KEY`) unless
 * `grant` says otherwise.
 */
export async function join(
  root: string,
  opts: { peerId?: string; location?: PeerLocation | null; kind?: PeerKind; have?: number[]; uploadSlots?: number; grant?: TestGrant } = {},
): Promise<TestPeer> {
  const p = await open(root, { ...opts, grant: { supernode: opts.kind === "supernode", ...opts.grant } });
  p.send(encodeMessage({
    type: "hello", version: PROTOCOL_VERSION, peerId: p.peerId, kind: opts.kind ?? "browser",
    have: encodeBitfield(opts.have ?? [], 64), uploadSlots: opts.uploadSlots ?? 4,
  }));
  p.welcome = await p.take("welcome");
  return p;
}

/** Stub of the shard object a request without `cf` (or with this continent) lands on. */
export function swarmStub(root: string, shard = "XX") {
  return env.SWARM.get(env.SWARM.idFromName(`swarm:${root}:${shard}`));
}

/**
 * Opens a socket on one object directly (as the Worker's last spill hop does: no "spill allowed"),
 * without saying hello. Tests of a single object's limit use it, since the route would spill.
 */
export async function openObject(root: string, shard = "XX", peerId = randomPeerId()): Promise<TestPeer> {
  const res = await swarmStub(root, shard).fetch(buildConnectRequest({ peerId, root, shard, location: {}, grant: { ...TEST_ITEM, supernode: false } }));
  if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  res.webSocket.accept();
  return new TestPeer(res.webSocket, peerId, root);
}
