/**
 * The runtime floor for the coordinator bench: the least a Worker + Durable Object can do per peer
 * and per message in the same workerd — accept a hibernatable WebSocket, answer `hello` and `want`
 * with fixed frames, store nothing, verify nothing. Measured beside our SwarmCoordinator object, it separates
 * what the runtime costs (per-socket buffers, message dispatch) from what our code adds.
 */

/** ES-module Worker source (written to a file and loaded by Miniflare like the real bundle). */
export const FLOOR_WORKER_SOURCE = `
import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { DurableObject } from "cloudflare:workers";
const WELCOME = JSON.stringify({ type: "welcome", version: PROTOCOL_VERSION, peerId: "floor-peer", root: "", shard: "", peers: 1 });
const PEERS = JSON.stringify({ type: "peers", peers: [] });
export class SwarmCoordinator extends DurableObject {
  async fetch(request) {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  async webSocketMessage(ws, message) {
    ws.send(typeof message === "string" && message.startsWith('{"type":"hello"') ? WELCOME : PEERS);
  }
  async webSocketClose(ws, code) {
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
