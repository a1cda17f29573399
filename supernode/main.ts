/** Entry point of the `edgeswarm-seed` bundle (scripts/build-supernode.mjs → dist/supernode/cli.mjs). */
import { main } from "./cli";

process.exitCode = await main(process.argv.slice(2));
