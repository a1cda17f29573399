/**
 * An in-process swarm coordinator speaking protocol/swarm-protocol.ts over a fake WebSocket, for
 * driving whole SDK instances in Node. The "token" is the peer id itself.
 */
import { bitfieldToBytes, bytesToBitfield } from "../../../protocol/chunk-bitfield";
import { encodeMessage, parseClientMessage, type ServerMessage } from "../../../protocol/swarm-protocol";

interface Member { ws: FakeWebSocket; bits: Uint8Array; hello: boolean }

export class FakeHub {
  readonly swarms = new Map<string, Map<string, Member>>();
  readonly log: { root: string; peerId: string; type: string; raw: string }[] = [];

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
    setImmediate(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  private deliver(msg: ServerMessage | string): void {
    const data = typeof msg === "string" ? msg : encodeMessage(msg);
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
        members.set(this.peerId, { ws: this, bits: bitfieldToBytes(msg.have), hello: true });
        return this.deliver({ type: "welcome", version: 1, peerId: this.peerId, root: this.root, shard: "test", peers: members.size });
      case "want": {
        const peers = [...members.entries()].filter(([id]) => id !== this.peerId)
          .map(([peerId, m]) => ({ peerId, kind: "browser" as const, have: bytesToBitfield(m.bits), proximity: "unknown" as const }));
        return this.deliver({ type: "peers", peers: peers.slice(0, msg.max ?? 32) });
      }
      case "have": {
        if (!me) return;
        for (const i of msg.chunks) {
          if (i >> 3 >= me.bits.length) {
            const grown = new Uint8Array((i >> 3) + 1);
            grown.set(me.bits);
            me.bits = grown;
          }
          me.bits[i >> 3]! |= 0x80 >> (i & 7);
        }
        for (const [id, m] of members) if (id !== this.peerId) m.ws.deliver({ type: "peer-have", peerId: this.peerId, chunks: msg.chunks });
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
    this.leave();
    setImmediate(() => this.onclose?.({ code, reason }));
  }
}
