/**
 * The edge Worker: content through the edge cache (`/c/`), content manifests (`/m/`), the swarm
 * endpoint (`/swarm/`), and the SDK bundle. Reads top-down: each route lives in its own module.
 */
import { Hono } from "hono";
import { contentRoutes } from "./content-route";
import { preflight, withCors } from "./cors";
import { HttpError, errorResponse } from "./http-error";
import { manifestRoutes } from "./manifest-route";
import { requestLimits } from "./request-limits";
import { sdkRoutes } from "./sdk-route";
import { swarmRoutes } from "./swarm-route";

export { Swarm } from "../durable/swarm";
export { FillLock } from "./fill-lock";

const app = new Hono<{ Bindings: Env }>();

app.use("*", requestLimits());
app.get("/health", (c) => c.json({ ok: true }));
app.options("/c/*", () => preflight());
app.options("/m/*", () => preflight());
app.route("/c", contentRoutes);
app.route("/m", manifestRoutes);
app.route("/", sdkRoutes);
app.route("/swarm", swarmRoutes);

/** Errors on `/c/` and `/m/` stay readable cross-origin, so the SDK can act on their codes. */
function cors(path: string, res: Response): Response {
  if (path.startsWith("/c/") || path.startsWith("/m/")) withCors(res.headers);
  return res;
}

app.notFound((c) => {
  const path = new URL(c.req.url).pathname;
  if ((path.startsWith("/c/") || path.startsWith("/m/")) && c.req.method !== "GET" && c.req.method !== "HEAD")
    return cors(path, errorResponse(405, "method-not-allowed", `${c.req.method} not allowed`, { allow: path.startsWith("/c/") ? "GET, HEAD, OPTIONS" : "GET, OPTIONS" }));
  return cors(path, errorResponse(404, "not-found", "no such endpoint"));
});

app.onError((err, c) => {
  const path = new URL(c.req.url).pathname;
  if (err instanceof HttpError) return cors(path, err.toResponse());
  console.error("edge:unhandled", err);
  return cors(path, errorResponse(500, "internal", "internal error"));
});

export default app;
