/**
 * What every edge handler finds on its Hono context: the parsed configuration (`c.var.config`), the
 * path the edge app is mounted under (`c.var.mount`, "" at the root) and the swarm coordinator
 * namespace (`c.var.swarm`). One middleware sets them, so no handler reads `c.env` itself.
 */
import type { Context, MiddlewareHandler } from "hono";
import { basePath } from "hono/route";
import { checkSettingNames, edgeConfig, type EdgeConfig, type EdgeSettings } from "./edge-config";
import { HttpError } from "./http-error";

/** Variables the edge middleware sets. */
export interface EdgeVars {
  config: EdgeConfig;
  /** Mount path of the edge app without a trailing slash: "" at the root, "/cdn" under `/cdn/`. */
  mount: string;
  /** The swarm coordinator Durable Object namespace. */
  swarm: Env["SWARM"];
  /**
   * Bytes this request made the edge read from the origin, when the route knows better than its
   * response headers say (a miss that joined another's fill: 0; a resumed fill: the rest) — for the
   * dashboard's counters (functions/dashboard-edge-counters.ts).
   */
  originBytes?: number;
}

/** The Hono environment of every edge sub-app. */
export type EdgeEnv = { Bindings: Env; Variables: EdgeVars };

/** A handler's context. */
export type EdgeContext = Context<EdgeEnv>;

/** Options of the edge app (see `edgeswarm()` in functions/worker.ts). */
export interface EdgeswarmOptions {
  /**
   * The settings, by their wrangler.toml names (`ROUTES`, `TOKEN_SECRET`, …; README
   * "Configuration"). An object is used as is (unknown keys are an error); a function receives the
   * Worker's env, e.g. to take a secret from it. Absent: read from the env itself.
   */
  settings?: EdgeSettings | ((env: Record<string, unknown>) => EdgeSettings);
  /** Name of the env binding of the `SwarmCoordinator` Durable Object namespace (default `SWARM`). */
  binding?: string;
}

/**
 * The middleware that parses the configuration (once per distinct value, edge-config.ts) and finds
 * the coordinator binding. A bad configuration throws `bad-config` here, before any handler runs.
 * @example
 * app.use("*", configure({ settings: { ROUTES: { "/demo/": "https://origin.example/" }, TOKEN_SECRET: "…" } }));
 */
export function configure(options: EdgeswarmOptions = {}): MiddlewareHandler<EdgeEnv> {
  const { settings, binding = "SWARM" } = options;
  if (settings !== undefined && typeof settings === "object") checkSettingNames(settings);
  return async function edgeConfigMiddleware(c, next) {
    const env = (c.env ?? {}) as unknown as Record<string, unknown>;
    const given = settings === undefined ? env : typeof settings === "function" ? settings(env) : settings;
    if (typeof settings === "function") checkSettingNames(given);
    c.set("config", edgeConfig(given as EdgeSettings));
    const ns = env[binding];
    if (typeof ns !== "object" || ns === null || typeof (ns as { idFromName?: unknown }).idFromName !== "function")
      throw new HttpError(500, "bad-config", `no Durable Object namespace bound as ${binding} (wrangler.toml [[durable_objects.bindings]])`);
    c.set("swarm", ns as Env["SWARM"]);
    const base = basePath(c);
    c.set("mount", base === "/" ? "" : base.replace(/\/+$/, ""));
    await next();
  };
}

/**
 * The request path below the mount point, raw (still percent-encoded).
 * @example
 * localPath(c); // "/c/demo/a.bin" for https://edge.example/cdn/c/demo/a.bin mounted at /cdn
 */
export function localPath(c: EdgeContext): string {
  return new URL(c.req.url).pathname.slice(c.var.mount.length);
}
