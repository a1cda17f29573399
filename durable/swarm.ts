import { DurableObject } from "cloudflare:workers";

/** Swarm coordinator: one Durable Object per content item and region shard. (Being built.) */
export class Swarm extends DurableObject<Env> {
  /** Stats of this swarm shard. */
  async stats(): Promise<{ peers: number }> {
    return { peers: this.ctx.getWebSockets().length };
  }
}
