/**
 * The edge Worker: content through the edge cache (`/c/`), content manifests (`/m/`), the swarm
 * endpoint (`/swarm/`), and the SDK bundle. Reads top-down: each route lives in its own module.
 */
import { Hono } from "hono";
import { swarmRoutes } from "./swarm-route";

export { Swarm } from "../durable/swarm";

const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ ok: true }));
app.route("/swarm", swarmRoutes);

export default app;
