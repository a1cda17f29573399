/**
 * The edge as a library (`edgeswarm/worker`): {@link edgeswarm} builds the whole edge — content
 * (`/c/`), manifests (`/m/`), swarms (`/swarm/`), the SDK (`/sdk/`), purge (`POST /purge`),
 * `/health` — as one Hono app
 * with its own configuration, to serve as a Worker on its own or mounted under a prefix of an
 * existing Worker; {@link SwarmCoordinator} is the Durable Object class that Worker must export.
 * The repository's own Worker (functions/index.ts) is one user of it.
 */
import { Hono } from "hono";
import { contentRoutes } from "./content-route";
import { preflight, withCors } from "./cors";
import { dashboardCounters } from "./dashboard-edge-counters";
import { dashboardRoutes } from "./dashboard-route";
import { configure, localPath, type EdgeEnv, type EdgeswarmOptions } from "./edge-context";
import { HttpError, renderError } from "./http-error";
import { manifestRoutes } from "./manifest-route";
import { purgeRoutes } from "./purge";
import { requestLimits } from "./request-limits";
import { sdkRoutes } from "./sdk-route";
import { swarmRoutes } from "./swarm-route";

export { SwarmCoordinator } from "../durable/swarm-coordinator";
export { SiteStats } from "../durable/site-stats";
export { FillLock } from "./fill-lock";
export type { EdgeswarmOptions, EdgeEnv, EdgeVars } from "./edge-context";
export type { EdgeConfig, EdgeSettings, SettingName } from "./edge-config";
export { HttpError, type ErrorCode } from "./http-error";

/** `/c/` and `/m/` answers, errors included, stay readable cross-origin so the SDK can act on their codes. */
const isContent = (path: string) => path.startsWith("/c/") || path.startsWith("/m/");

/**
 * The edge app. Mount it at the root (`export default edgeswarm()`) or under a prefix of another
 * Hono app (`app.route("/cdn", edgeswarm({ … }))`); every URL it hands out (manifest URLs, swarm
 * URLs) carries that prefix. Everything under the prefix belongs to the edge: unknown paths get its
 * JSON 404, failures its JSON error shape.
 * @example
 * import { Hono } from "hono";
 * import { edgeswarm, SwarmCoordinator } from "edgeswarm/worker";
 * export { SwarmCoordinator };
 * const app = new Hono<{ Bindings: { CDN_SECRET: string } }>();
 * app.route("/cdn", edgeswarm({ settings: (env) => ({ ROUTES: { "/img/": "https://origin.example/img/" }, TOKEN_SECRET: env.CDN_SECRET }) }));
 * export default app;
 */
export function edgeswarm(options: EdgeswarmOptions = {}): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use("*", requestLimits());
  app.use("*", configure(options));
  app.use("*", dashboardCounters());
  app.get("/health", (c) => c.json({ ok: true }));
  app.options("/c/*", () => preflight());
  app.options("/m/*", () => preflight());
  app.route("/c", contentRoutes);
  app.route("/m", manifestRoutes);
  app.route("/", sdkRoutes);
  app.route("/swarm", swarmRoutes);
  app.route("/purge", purgeRoutes);
  app.route("/dashboard", dashboardRoutes);
  // A route, not `notFound`: a parent app's notFound would answer for a mounted sub-app.
  app.all("*", (c) => {
    const path = localPath(c);
    const m = c.req.method;
    if (isContent(path) && m !== "GET" && m !== "HEAD")
      throw new HttpError(405, "method-not-allowed", `${m} not allowed`, { allow: path.startsWith("/c/") ? "GET, HEAD, OPTIONS" : "GET, OPTIONS" });
    throw new HttpError(404, "not-found", "no such endpoint");
  });
  app.onError((err, c) => {
    const res = renderError(err);
    // `c.var.mount` is unset when the config itself failed: the raw path decides then.
    const path = new URL(c.req.url).pathname.slice(c.var.mount?.length ?? 0);
    if (isContent(path)) withCors(res.headers);
    return res;
  });
  return app;
}
