/**
 * The repository's own edge Worker: the edge app of functions/worker.ts at the root, configured
 * from wrangler.toml `[vars]` and secrets, plus the coordinator Durable Object class its
 * `[[durable_objects.bindings]]` names.
 */
import { edgeswarm } from "./worker";

export { SwarmCoordinator } from "../durable/swarm-coordinator";
export { SiteStats } from "../durable/site-stats";
export { FillLock } from "./fill-lock";

export default edgeswarm();
