/**
 * The baseline coordinator: bittorrent-tracker's WebSocket tracker (the signalling server WebTorrent
 * uses), alone in its own Node process so that its RSS growth per connected peer can be read from
 * /proc without the load generator's memory mixed in. Listens on 127.0.0.1, reports its port.
 */
import Server from "bittorrent-tracker/server";
import type { ServerCommand, ServerReport } from "./load-protocol";

const send = (r: ServerReport) => process.send!(r);
const peers = Number(process.argv[2] ?? 10_000);

const server = new Server({
  udp: false,
  http: false,
  ws: true,
  stats: false,
  // The per-swarm peer LRU defaults to 1,000 entries and would silently evict the bench's peers.
  peersCacheLength: peers + 1000,
});
server.on("error", (e: Error) => send({ type: "fatal", message: e.message }));
server.on("warning", () => undefined); // bad client input is a warning; the bench counts error replies itself
server.listen(0, "127.0.0.1", () => {
  const addr = server.http!.address();
  send({ type: "listening", port: typeof addr === "object" && addr ? addr.port : 0 });
});
process.on("message", (m: ServerCommand) => {
  if (m.cmd === "stop") server.close(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
