/** Minimal typings of the bittorrent-tracker server (the package ships none). */
declare module "bittorrent-tracker/server" {
  import type { EventEmitter } from "node:events";
  import type { Server as HttpServer } from "node:http";
  interface ServerOptions {
    udp?: boolean;
    http?: boolean;
    ws?: boolean | object;
    stats?: boolean;
    trustProxy?: boolean;
    interval?: number;
    /** Most peers per swarm (LRU; default 1000). */
    peersCacheLength?: number;
    /** Peer TTL in the LRU, ms (default 20 minutes). */
    peersCacheTtl?: number;
  }
  export default class Server extends EventEmitter {
    constructor(opts?: ServerOptions);
    http: HttpServer | null;
    torrents: Record<string, unknown>;
    listen(port: number, hostname: string, onlistening?: () => void): void;
    close(cb?: () => void): void;
  }
}
