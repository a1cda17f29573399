/**
 * An in-process swarm coordinator speaking protocol/swarm-protocol.ts over a fake WebSocket, for
 * driving whole SDK instances in Node. The "token" is the peer id itself.
 */
import { PROTOCOL_VERSION } from "../../../protocol/swarm-protocol";
import { MAX_ITEMS_PER_MEMBER } from "../../../protocol/collection";
import { bitfieldToBytes, bytesToBitfield } from "../../../protocol/chunk-bitfield";
import { encodeMessage, parseClientMessage, type ServerMessage } from "../../../protocol/swarm-protocol";

interface Member { ws: FakeWebSocket; bits: Uint8Array; hello: boolean; /** Collection swarms: item root → bits. */ items?: Map<string, Uint8Array> }

export class FakeHub {
  readonly swarms = new Map<string, Map<string, Member>>();
  readonly log: { root: string; peerId: string; type: string; raw: string }[] = [];
  /** Frames the coordinator sent, per peer id. */
  readonly sent = new Map<string, number>();
  /** Sockets opened, per peer id. */
  readonly opened = new Map<string, number>();
  /** Sockets not closed yet. */
  readonly live = new Set<FakeWebSocket>();

  /** Open sockets of `peerId` now. */
  liveCount(peerId: string): number {
    return [...this.live].filter((s) => s.peerId === peerId).length;
  }

  /** How many chunks `peerId` announced (its hello bitfields and `have` frames, per the log). */
  announced(peerId: string): number {
    const held = new Set<number>();
    for (const l of this.log) {
      if (l.peerId !== peerId) continue;
      const m = JSON.parse(l.raw) as { type: string; chunks?: number[]; have?: string };
      if (m.type === "have") for (const i of m.chunks ?? []) held.add(i);
      if (m.type === "hello" && m.have) {
        const bits = Buffer.from(m.have, "base64");
        for (let i = 0; i < bits.length * 8; i++) if (bits[i >> 3]! & (0x80 >> (i & 7))) held.add(i);
      }
    }
    return held.size;
  }

  members(root: string): Map<string, Member> {
    let m = this.swarms.get(root);
    if (!m) this.swarms.set(root, (m = new Map()));
    return m;
  }

  /** A WebSocket class bound to this hub. */
  socketClass(): new (url: string) => FakeWebSocket {
    const hub = this;
    return class extends FakeWebSocket {
      constructor(url: string) {
        super(url, hub);
      }
    };
  }
}


export class FakeWebSocket {
  readyState = 0;
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  readonly root: string;
  readonly peerId: string;

  constructor(url: string, private readonly hub: FakeHub) {
    const u = new URL(url);
    this.root = u.pathname.split("/")[2] ?? "";
    this.peerId = u.searchParams.get("token") ?? "";
    hub.opened.set(this.peerId, (hub.opened.get(this.peerId) ?? 0) + 1);
    hub.live.add(this);
    setImmediate(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  private deliver(msg: ServerMessage | string): void {
    const data = typeof msg === "string" ? msg : encodeMessage(msg);
    if (typeof msg !== "string") this.hub.sent.set(this.peerId, (this.hub.sent.get(this.peerId) ?? 0) + 1);
    setImmediate(() => this.readyState === 1 && this.onmessage?.({ data }));
  }

  send(raw: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    if (raw === "ping") return this.deliver("pong");
    const r = parseClientMessage(raw);
    if (!r.ok) return this.deliver({ type: "error", code: r.code, message: r.message });
    const msg = r.value;
    this.hub.log.push({ root: this.root, peerId: this.peerId, type: msg.type, raw });
    const members = this.hub.members(this.root);
    const me = members.get(this.peerId);
    switch (msg.type) {
      case "hello":
        members.set(this.peerId, { ws: this, bits: bitfieldToBytes(msg.have), hello: true, items: new Map() });
        return this.deliver({ type: "welcome", version: PROTOCOL_VERSION, peerId: this.peerId, root: this.root, shard: "test", peers: members.size });
      case "want": {
        const item = msg.item;
        const peers = [...members.entries()].filter(([id, m]) => id !== this.peerId && (item === undefined || !!m.items?.has(item)))
          .map(([peerId, m]) => ({ peerId, kind: "browser" as const, have: bytesToBitfield(item === undefined ? m.bits : m.items!.get(item)!), proximity: "unknown" as const }));
        return this.deliver({ type: "peers", ...(item ? { item } : {}), peers: peers.slice(0, msg.max ?? 32) });
      }
      case "have": {
        if (!me) return;
        const items = (me.items ??= new Map());
        let bits = msg.item === undefined ? me.bits : items.get(msg.item) ?? new Uint8Array(0);
        for (const i of msg.chunks) {
          if (i >> 3 >= bits.length) {
            const grown = new Uint8Array((i >> 3) + 1);
            grown.set(bits);
            bits = grown;
          }
          bits[i >> 3]! |= 0x80 >> (i & 7);
        }
        if (msg.item === undefined) me.bits = bits;
        else {
          items.delete(msg.item);
          items.set(msg.item, bits);
          if (items.size > MAX_ITEMS_PER_MEMBER) items.delete(items.keys().next().value!); // as the coordinator's bound
        }
        for (const [id, m] of members) if (id !== this.peerId) m.ws.deliver({ type: "peer-have", peerId: this.peerId, ...(msg.item ? { item: msg.item } : {}), chunks: msg.chunks });
        return;
      }
      case "signal": {
        const target = members.get(msg.to);
        if (!target) return this.deliver({ type: "error", code: "peer-gone", message: `peer ${msg.to} is not in this swarm`, ref: "signal" }); // as durable/swarm-coordinator.ts words it
        return target.ws.deliver({ type: "signal", from: this.peerId, data: msg.data });
      }
      case "bye":
        return this.leave();
      default:
        return;
    }
  }

  private leave(): void {
    const members = this.hub.members(this.root);
    if (members.get(this.peerId)?.ws !== this) return;
    members.delete(this.peerId);
    for (const m of members.values()) m.ws.deliver({ type: "peer-left", peerId: this.peerId });
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.hub.live.delete(this);
    this.leave();
    setImmediate(() => this.onclose?.({ code, reason }));
  }
}
