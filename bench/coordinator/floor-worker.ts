/**
 * The runtime floor for the coordinator bench: the least a Worker + Durable Object can do per peer
 * and per message in the same workerd while still doing each message's job — accept a hibernatable
 * WebSocket; `hello`: parse, remember the peer (memory and a one-field attachment, the least a
 * hibernation-safe server keeps), answer a `welcome`; `want` (with or without chunks): parse, answer
 * `peers` naming up to `max` random other members (pre-encoded entries of the same shape and size
 * as ours, so the frame costs what ours costs to send); `signal`: parse, relay `{type, from, data}`
 * to the target's socket, or answer `peer-gone` when it is not a member (as ours does); `have`:
 * parse, set the bits in memory; `stats`: parse. No ranking, no token check, no limits, no storage.
 * Hibernation-safe as far as the floor must be: an instance woken after eviction (workerd evicts an
 * object whose hibernatable sockets were idle ~10 s — in the bench, a floor object of one of 50
 * swarms while ours runs its phases) rebuilds its member list from the sockets' attachments, or it
 * would answer empty `peers` and do less than the message's job (docs/coordinator.md, "Costs").
 * Measured beside our SwarmCoordinator object, it separates what
 * the runtime costs (per-socket buffers, message dispatch, JSON) from what our code adds.
 */

import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";

// The source below is a separate Worker: the protocol version is interpolated into it (a bare
// identifier there would be a ReferenceError inside workerd, and no floor peer would ever join).
/** ES-module Worker source (written to a file and loaded by Miniflare like the real bundle). */
export const FLOOR_WORKER_SOURCE = `
import { DurableObject } from "cloudflare:workers";
const HAVE = "/////////w=="; // a 64-chunk bitfield's base64 length
const entryOf = (peerId) => JSON.stringify({ peerId, kind: "browser", have: HAVE, proximity: "asn", distanceKm: 0 });
export class SwarmCoordinator extends DurableObject {
  members = new Map();
  list = [];
  ids = new WeakMap(); // socket → peer id (the attachment after a wake)
  loaded = false;
  // After a wake: the members are the sockets whose attachment names a peer.
  load() {
    this.loaded = true;
    for (const ws of this.ctx.getWebSockets()) {
      const id = this.idOf(ws);
      if (id === undefined || this.members.has(id)) continue;
      const p = { id, ws, entry: entryOf(id), bits: new Uint8Array(8) };
      this.members.set(id, p);
      this.list.push(p);
    }
  }
  idOf(ws) {
    let id = this.ids.get(ws);
    if (id === undefined) this.ids.set(ws, (id = ws.deserializeAttachment()?.peerId));
    return id;
  }
  async fetch(request) {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  async webSocketMessage(ws, message) {
    if (!this.loaded) this.load();
    const m = JSON.parse(message);
    if (m.type === "hello") {
      ws.serializeAttachment({ peerId: m.peerId });
      this.ids.set(ws, m.peerId);
      const p = { id: m.peerId, ws, entry: entryOf(m.peerId), bits: new Uint8Array(8) };
      this.members.set(m.peerId, p);
      this.list.push(p);
      ws.send(JSON.stringify({ type: "welcome", version: ${PROTOCOL_VERSION}, peerId: m.peerId, root: "", shard: "", peers: this.list.length }));
    } else if (m.type === "want") {
      const out = [], n = this.list.length, max = Math.min(m.max ?? 32, n - 1);
      for (let k = 0, i = Math.floor(Math.random() * n); out.length < max && k < n; k++, i = (i + 1) % n)
        if (this.list[i].ws !== ws) out.push(this.list[i].entry);
      ws.send('{"type":"peers","peers":[' + out.join(",") + "]}");
    } else if (m.type === "signal") {
      const to = this.members.get(m.to);
      const from = this.idOf(ws);
      if (to) to.ws.send(JSON.stringify({ type: "signal", from, data: m.data }));
      else ws.send(JSON.stringify({ type: "error", code: "peer-gone", message: "peer " + m.to + " is not in this swarm", ref: "signal" }));
    } else if (m.type === "have") {
      const p = this.members.get(this.idOf(ws));
      for (const i of m.chunks) if (p && i < 64) p.bits[i >> 3] |= 0x80 >> (i & 7);
    }
  }
  async webSocketClose(ws, code) {
    if (!this.loaded) this.load();
    const id = this.idOf(ws);
    const p = id && this.members.get(id);
    if (p) {
      this.members.delete(id);
      this.list.splice(this.list.indexOf(p), 1);
    }
    try { ws.close(code === 1005 || code === 1006 ? 1000 : code); } catch {}
  }
}
export default {
  fetch(request, env) {
    const root = new URL(request.url).pathname.split("/")[2] ?? "";
    return env.SWARM.get(env.SWARM.idFromName(root)).fetch(request);
  },
};
`;
