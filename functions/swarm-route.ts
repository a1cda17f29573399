/** `GET /swarm/<root>` (WebSocket) and `GET /swarm/<root>/stats`. (Being built.) */
import { Hono } from "hono";

export const swarmRoutes = new Hono<{ Bindings: Env }>();
