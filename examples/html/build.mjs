// Copies the prebuilt SDK and service worker out of the installed package: a plain HTML page needs
// no bundler. `node build.mjs` → vendor/edgeswarm.js, vendor/edgeswarm-sw.js.
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

mkdirSync(new URL("./vendor/", import.meta.url), { recursive: true });
copyFileSync(fileURLToPath(import.meta.resolve("edgeswarm/edgeswarm.js")), new URL("./vendor/edgeswarm.js", import.meta.url));
copyFileSync(fileURLToPath(import.meta.resolve("edgeswarm/sw.js")), new URL("./vendor/edgeswarm-sw.js", import.meta.url));
console.log("vendor/edgeswarm.js, vendor/edgeswarm-sw.js");
