/**
 * The npm package as a consumer meets it: what the tarball holds, installing it offline into an
 * empty project, bundling the SDK with esbuild (the peer side split into its own chunk), every
 * entry's declarations and the README's code blocks type-checked under `strict`, `npx
 * edgeswarm-seed` from the installed package, and the examples (plain HTML, React + Vite, Next.js)
 * built against the tarball.
 */
import { build } from "esbuild";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packOnce, REPO, run, type Packed } from "./packed";

let p: Packed;
beforeAll(() => {
  p = packOnce();
});
// The scratch folder holds the examples' installs (~0.5 GB with Next.js): gone after the run unless
// EDGESWARM_KEEP_SCRATCH=1 (to look into a failure).
afterAll(() => {
  if (p && process.env.EDGESWARM_KEEP_SCRATCH !== "1") rmSync(p.scratch, { recursive: true, force: true });
});

const TSC = join(REPO, "node_modules/typescript/bin/tsc");
const pkgJson = () => JSON.parse(readFileSync(join(p.consumer, "node_modules/edgeswarm/package.json"), "utf8"));
const gz = (s: string | Uint8Array) => gzipSync(s, { level: 9 }).length;

/**
 * The README's size figures are measurements of this build: each must be within 10 % of what this
 * run measures (when one fails, re-measure and update the README; small drift passes). `re` finds
 * the figure (its first group) in the README's prose.
 */
function expectReadmeFigure(re: RegExp, measured: number, what: string): void {
  const m = re.exec(readFileSync(join(REPO, "README.md"), "utf8"));
  expect(m, `README states ${what} (${re})`).toBeTruthy();
  const stated = Number(m![1]);
  expect(Math.abs(stated - measured) / measured, `${what}: README says ${stated}, this build measures ${measured.toFixed(1)}`).toBeLessThanOrEqual(0.1);
}
const KiB = (n: number) => n / 1024;

/**
 * TypeScript and JavaScript in README code blocks, and `<script type="module">` bodies of html
 * blocks. `worker` in the info string (```ts worker) marks Worker code: checked with Workers types.
 */
export function readmeBlocks(markdown: string): { line: number; lang: string; worker: boolean; code: string }[] {
  const out: { line: number; lang: string; worker: boolean; code: string }[] = [];
  const re = /^```(\w+)([^\n]*)\n([\s\S]*?)^```/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    const line = markdown.slice(0, m.index).split("\n").length;
    const [, lang, info, body] = m as unknown as [string, string, string, string];
    const worker = /\bworker\b/.test(info);
    if (["ts", "typescript", "tsx", "js", "javascript"].includes(lang)) out.push({ line, lang, worker, code: body });
    if (lang === "html") for (const s of body.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)) out.push({ line, lang: "ts", worker: false, code: s[1]! });
  }
  // The edge serves the same SDK as the package: a script's URL import is the package's entry.
  return out.map((b) => ({ ...b, code: b.code.replace(/(["'])https?:\/\/[^"']+\/sdk\/edgeswarm(?:-standalone)?\.js\1/g, '"edgeswarm"') }));
}

describe("the tarball", () => {
  it("ships the builds, the CLI, the changelog and the MIT license, and no sources, tests, bench, sim or docs", () => {
    const files = p.files;
    for (const f of ["package.json", "CHANGELOG.md", "LICENSE", "Dockerfile", "bin/edgeswarm-seed.mjs", "dist/npm/index.js", "dist/npm/sw.js", "dist/npm/hls.js", "dist/npm/shaka.js", "dist/node/index.js", "dist/worker/index.js", "dist/supernode/cli.mjs", "dist/supernode/usage.mjs", "dist/sdk/edgeswarm.js", "dist/sdk/sw.js", "dist/types/client/index.d.ts", "dist/types/sw.d.ts", "dist/types/supernode/index.d.ts", "dist/types/functions/worker.d.ts"])
      expect(files, f).toContain(f);
    expect(pkgJson().license).toBe("MIT");
    expect(readFileSync(join(p.consumer, "node_modules/edgeswarm/LICENSE"), "utf8")).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} the edgeswarm authors\n/);
    expect(files.filter((f) => /^(test|bench|sim|docs|demo|functions|durable|client|protocol|supernode|scripts)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    // Every export target is in the tarball.
    const targets = (v: unknown): string[] => (typeof v === "string" ? [v] : Object.values(v as object).flatMap(targets));
    const exportsMap = pkgJson().exports as Record<string, unknown>;
    for (const [key, v] of Object.entries(exportsMap)) for (const t of targets(v)) expect(files, `${key} → ${t}`).toContain(t.replace(/^\.\//, ""));
    // Declarations describe, they do not carry code: the Worker's embedded scripts are `string`, not
    // their literal text (which once doubled the SDK and dashboard into 160 KB of .d.ts).
    const installed = join(p.consumer, "node_modules/edgeswarm");
    expect(files.filter((f) => f.endsWith(".d.ts") && statSync(join(installed, f)).size > 16 * 1024)).toEqual([]);
    console.log(`tarball ${(p.size / 1024).toFixed(1)} KiB packed, ${(p.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${files.length} files`);
    expect(p.size).toBeLessThan(1024 * 1024);
    expectReadmeFigure(/\((\d+) KiB packed/, KiB(p.size), "packed tarball, KiB");
    expectReadmeFigure(/KiB packed,[^)]*?\b(\d+) files/, files.length, "files in the tarball");
  });

  it("is publishable and installs with no runtime dependencies: ws, node-datachannel and hono are optional peers", () => {
    const j = pkgJson();
    expect(j.private).toBeUndefined();
    expect(j.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(j.dependencies ?? {}).toEqual({});
    for (const peer of ["ws", "node-datachannel", "hono"]) {
      expect(j.peerDependencies[peer]).toBeTruthy();
      expect(j.peerDependenciesMeta[peer]).toEqual({ optional: true });
      expect(existsSync(join(p.consumer, "node_modules", peer)), `${peer} installed`).toBe(false);
    }
    expect(readdirSync(join(p.consumer, "node_modules")).filter((d) => !d.startsWith("."))).toEqual(["edgeswarm"]);
  });
});

describe("bundling the SDK (esbuild, as a consumer's bundler)", () => {
  it("resolves every browser entry; the peer side lands in its own chunk through the dynamic import", async () => {
    const src = join(p.consumer, "src");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "app.js"), 'import { createSwarm } from "edgeswarm";\nconst swarm = createSwarm({ edge: "https://cdn.example" });\nconst res = await swarm.fetch("/c/a.bin");\nconsole.log(res.status, swarm.stats());\n');
    writeFileSync(join(src, "sw.js"), 'import "edgeswarm/sw";\n');
    writeFileSync(join(src, "players.js"), 'import { edgeswarmHls } from "edgeswarm/hls";\nimport { edgeswarmShaka } from "edgeswarm/shaka";\nconsole.log(edgeswarmHls, edgeswarmShaka);\n');
    const r = await build({
      absWorkingDir: p.consumer,
      entryPoints: { app: "src/app.js", sw: "src/sw.js", players: "src/players.js" },
      bundle: true, splitting: true, format: "esm", minify: true, platform: "browser", target: "es2022",
      outdir: "out", write: false, metafile: true, logLevel: "silent",
    });
    const out = r.outputFiles.map((f) => ({ name: f.path.slice(f.path.lastIndexOf("/") + 1), text: f.text }));
    const app = out.find((f) => f.name === "app.js")!;
    // The app imports its peer side lazily: a chunk that holds RTCPeerConnection use, reached by import().
    const lazy = [...app.text.matchAll(/import\("\.\/([^"]+)"\)/g)].map((m) => m[1]!);
    expect(lazy.length).toBeGreaterThan(0);
    const peerChunk = out.find((f) => lazy.includes(f.name) && f.text.includes("createDataChannel"));
    expect(peerChunk, "peer-side chunk").toBeTruthy();
    expect(app.text).not.toContain("createDataChannel");
    // Nothing from node_modules but edgeswarm (zero runtime dependencies).
    const inputs = Object.keys(r.metafile!.inputs);
    expect(inputs.filter((i) => i.includes("node_modules/") && !i.includes("node_modules/edgeswarm/"))).toEqual([]);
    // Static imports of the entry chunk (what a page downloads first) vs the peer side.
    const staticOf = (name: string, seen = new Set<string>()): number => {
      if (seen.has(name)) return 0;
      seen.add(name);
      const f = out.find((o) => o.name === name)!;
      const deps = [...f.text.matchAll(/from"\.\/([^"]+)"/g)].map((m) => m[1]!);
      return gz(f.text) + deps.reduce((n, d) => n + staticOf(d, seen), 0);
    };
    const first = staticOf("app.js");
    // Every lazily imported chunk with what it imports beyond the first load (chunks shared by two
    // lazy parts are counted in each: whichever loads first fetches them).
    const firstFiles = new Set<string>();
    staticOf("app.js", firstFiles);
    const lazySizes = new Map(lazy.map((name) => {
      const label = out.find((o) => o.name === name)!.text.includes("createDataChannel") ? "peer side" : name.replace(/(-[A-Z0-9]{8})+\.js$/, "");
      return [label, staticOf(name, new Set(firstFiles))] as const;
    }));
    const sw = gz(out.find((f) => f.name === "sw.js")!.text);
    console.log(`bundled with esbuild --minify: first load ${(first / 1024).toFixed(1)} KiB gz; lazily (KiB gz): ${[...lazySizes].map(([l, n]) => `${l} +${(n / 1024).toFixed(1)}`).join(", ")}; service worker ${(sw / 1024).toFixed(1)} KiB gz`);
    expect(first).toBeGreaterThan(1000);
    // README "Add to your site", npm + a bundler.
    expectReadmeFigure(/`--minify`: (\d+\.\d) KiB gz first load/, KiB(first), "esbuild first load");
    expectReadmeFigure(/`--minify`:[^)]*?download engine \+(\d+\.\d) KiB gz/, KiB(lazySizes.get("download")!), "esbuild download engine");
    expectReadmeFigure(/`--minify`:[^)]*?peer side\s+\+(\d+\.\d) KiB gz/, KiB(lazySizes.get("peer side")!), "esbuild peer side");
    expectReadmeFigure(/`--minify`:[^)]*?service worker (\d+\.\d) KiB gz/, KiB(sw), "esbuild service worker");
  });

  it("the edge-served scripts in the package: the split build's first load, its lazy parts, the single file", () => {
    // What a script-tag page loads from <edge>/sdk/ (the Worker serves these same files).
    const dir = join(p.consumer, "node_modules/edgeswarm/dist/sdk");
    const text = (f: string) => readFileSync(join(dir, "split", f), "utf8");
    const closure = (f: string, seen: Set<string>): number => {
      if (seen.has(f)) return 0;
      seen.add(f);
      return gz(text(f)) + [...text(f).matchAll(/from"\.\/([^"]+)"/g)].reduce((n, m) => n + closure(m[1]!, seen), 0);
    };
    const firstFiles = new Set<string>();
    const first = closure("edgeswarm.js", firstFiles);
    const lazy = new Set(readdirSync(join(dir, "split")).flatMap((f) => [...text(f).matchAll(/import\("\.\/([^"]+)"\)/g)].map((m) => m[1]!)));
    expect([...lazy].some((f) => text(f).includes("createDataChannel"))).toBe(true);
    const parts = new Map([...lazy].map((f) => [f.replace(/^edgeswarm-|-[A-Z0-9]+\.js$/g, ""), closure(f, new Set(firstFiles))] as const));
    const single = gz(readFileSync(join(dir, "edgeswarm.js")));
    const sw = gz(readFileSync(join(dir, "sw.js")));
    console.log(`edge-served /sdk/: first load ${(first / 1024).toFixed(1)} KiB gz (entry ${(gz(text("edgeswarm.js")) / 1024).toFixed(1)}); lazily (KiB gz): ${[...parts].map(([l, n]) => `${l} +${(n / 1024).toFixed(1)}`).join(", ")}; single file ${(single / 1024).toFixed(1)} KiB gz; sw.js ${(sw / 1024).toFixed(1)} KiB gz`);
    expect(first).toBeLessThan(single);
    // README "Using the SDK" and "Add to your site", script tag.
    expectReadmeFigure(/a core of (\d+\.\d) KiB gz that loads first/, KiB(first), "edge split build, first load");
    expectReadmeFigure(/\((\d+\.\d) KiB entry \+ small shared/, KiB(gz(text("edgeswarm.js"))), "edge split build, entry");
    expectReadmeFigure(/The split build loads (\d+\.\d) KiB gz/, KiB(first), "script tag, first load");
    expectReadmeFigure(/The split build loads[^(]*\(\+(\d+\.\d) KiB gz\)/, KiB(parts.get("download")!), "script tag, download engine");
    expectReadmeFigure(/The split build loads[^:]*?peer side\s+\(\+(\d+\.\d) KiB gz\)/, KiB(parts.get("p2p-runtime")!), "script tag, peer side");
    expectReadmeFigure(/diagnostics, \+(\d+\.\d) KiB gz\)/, KiB(parts.get("p2p-runtime")!), "edge split build, peer side");
    expectReadmeFigure(/single file \((\d+\.\d) KiB gz\)/, KiB(single), "single file");
  });

  it("edgeswarm/node and the prebuilt scripts resolve from Node", () => {
    const r = run(process.execPath, ["--input-type=module", "-e", 'for (const s of ["edgeswarm", "edgeswarm/node", "edgeswarm/sw.js", "edgeswarm/edgeswarm.js", "edgeswarm/package.json"]) console.log(import.meta.resolve(s));'], p.consumer);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(existsSync(new URL(l))).toBe(true);
    // The SDK's VERSION is the package's version (written in client/index.ts and package.json).
    const v = run(process.execPath, ["--input-type=module", "-e", 'console.log((await import("edgeswarm")).VERSION)'], p.consumer);
    expect(v.stdout.trim()).toBe(pkgJson().version);
  });
});

describe("types under strict", () => {
  function typecheck(name: string, files: Record<string, string>, compilerOptions: Record<string, unknown>): string {
    const dir = join(p.consumer, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: "ES2022", skipLibCheck: false, ...compilerOptions }, include: ["*.ts", "*.tsx"] }));
    const r = run(process.execPath, [TSC, "-p", dir], dir, { allowFail: true });
    return `${r.stdout}${r.stderr}`.trim();
  }

  const consumerTs = `import { createSwarm, registerServiceWorker, Swarm, VERSION, type ProgressDetail, type SwarmOptions } from "edgeswarm";
import "edgeswarm/sw";
import { edgeswarmHls } from "edgeswarm/hls";
import { edgeswarmShaka } from "edgeswarm/shaka";
const opts: SwarmOptions = { edge: "https://cdn.example" };
const swarm: Swarm = createSwarm(opts);
const res: Response = await swarm.fetch("/c/a.bin");
const reg: ServiceWorkerRegistration | null = await registerServiceWorker({ swarm, patterns: ["/c/"] });
const d: ProgressDetail | undefined = undefined;
// Typed events: each name has its own detail; a wrong field is an error, not any.
swarm.addEventListener("progress", (e) => console.log(e.detail.received / e.detail.size));
swarm.addEventListener("peer-up", (e) => console.log(e.detail.peerId.length));
// @ts-expect-error -- progress has no reason (peer-down has)
swarm.addEventListener("progress", (e) => console.log(e.detail.reason));
// @ts-expect-error -- a name the swarm does not send is a plain Event, without detail
swarm.addEventListener("no-such-event", (e) => console.log(e.detail));
console.log(VERSION.length, res.status, reg, d, edgeswarmHls, edgeswarmShaka);
export {};
`;

  it("browser entries check under strict with DOM libs only, for Bundler and NodeNext resolution", () => {
    const dom = { lib: ["ES2022", "DOM", "DOM.Iterable"], types: [] };
    expect(typecheck("types-bundler", { "consumer.ts": consumerTs }, { ...dom, module: "ESNext", moduleResolution: "Bundler" })).toBe("");
    expect(typecheck("types-nodenext", { "consumer.ts": consumerTs }, { ...dom, module: "NodeNext", moduleResolution: "NodeNext" })).toBe("");
  });

  it("edgeswarm/node checks under strict with Node's types and without ws or node-datachannel installed", () => {
    const src = `import { createNodeSwarm, SeederNode, shutdownNodeRuntime, type NodeSwarm } from "edgeswarm/node";
const node: NodeSwarm = await createNodeSwarm({ edge: "https://cdn.example", storeDir: "./store" });
new SeederNode({ node, edge: "https://cdn.example", pins: ["/c/a.bin"] }).start();
shutdownNodeRuntime();
export {};
`;
    expect(typecheck("types-node", { "seed.ts": src }, { lib: ["ES2022", "DOM"], types: ["node"], typeRoots: [join(REPO, "node_modules/@types")], module: "NodeNext", moduleResolution: "NodeNext" })).toBe("");
  });

  it("the README's code blocks compile as written under strict", () => {
    const blocks = readmeBlocks(readFileSync(join(REPO, "README.md"), "utf8"));
    const page = blocks.filter((b) => !b.worker);
    expect(page.length).toBeGreaterThan(0);
    const file = (b: { line: number; lang: string }, i: number) => `readme-${String(i).padStart(2, "0")}-line${b.line}.${b.lang === "tsx" ? "tsx" : "ts"}`;
    const files = Object.fromEntries(page.map((b, i) => [file(b, i), `${b.code}\nexport {};\n`]));
    // The player blocks import hls.js / shaka-player: optional peer dependencies a page that uses
    // edgeswarm/hls or edgeswarm/shaka has installed beside edgeswarm.
    const peers = ["hls.js", "shaka-player"].map((peer) => join(p.consumer, "node_modules", peer));
    for (const at of peers) symlinkSync(realpathSync(join(REPO, "node_modules", basename(at))), at, "dir");
    let pageOut: string;
    try {
      pageOut = typecheck("readme", files, { lib: ["ES2022", "DOM", "DOM.Iterable"], types: [], module: "ESNext", moduleResolution: "Bundler", jsx: "react-jsx" });
    } finally {
      for (const at of peers) rmSync(at, { force: true });
    }
    // Worker blocks: with Workers types and hono (the worker entry's peer).
    const worker = blocks.filter((b) => b.worker);
    expect(worker.length).toBeGreaterThan(0);
    let workerOut: string;
    const hono = join(p.consumer, "node_modules/hono");
    symlinkSync(realpathSync(join(REPO, "node_modules/hono")), hono, "dir");
    try {
      const wfiles = Object.fromEntries(worker.map((b, i) => [file(b, i), `${b.code}\n`]));
      workerOut = typecheck("readme-worker", wfiles, { lib: ["ES2023"], types: ["workers-types"], typeRoots: [join(REPO, "node_modules/@cloudflare"), join(REPO, "node_modules/@types")], module: "ESNext", moduleResolution: "Bundler" });
    } finally {
      rmSync(hono, { force: true });
    }
    expect({ page: pageOut, worker: workerOut }).toEqual({ page: "", worker: "" });
  });

  it("the README's existing-Worker recipe (its Worker block and wrangler.toml block) deploys: wrangler deploy --dry-run", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const [code] = readmeBlocks(readme).filter((b) => b.worker);
    const toml = [...readme.matchAll(/^```toml\n([\s\S]*?)^```/gm)].map((m) => m[1]!).find((t) => t.includes("SwarmCoordinator"));
    expect(code && toml, "README worker + wrangler.toml blocks").toBeTruthy();
    const dir = join(p.consumer, "host-worker");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "src/index.ts"), code!.code);
    writeFileSync(join(dir, "wrangler.toml"), `name = "host"\nmain = "src/index.ts"\ncompatibility_date = "2026-04-20"\n\n${toml}`);
    const hono = join(p.consumer, "node_modules/hono");
    symlinkSync(realpathSync(join(REPO, "node_modules/hono")), hono, "dir");
    try {
      // Bundles the Worker with the installed package and checks the config against it: wrangler
      // refuses a Durable Object binding whose class the entry does not export.
      const r = run(process.execPath, [join(REPO, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", "out"], dir, { env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } });
      expect(r.stdout).toMatch(/env\.SWARM \(SwarmCoordinator\)\s+Durable Object/);
      expect(r.stdout).toContain("env.ROUTES");
      expect(readFileSync(join(dir, "out/index.js"), "utf8")).toContain("SwarmCoordinator");
    } finally {
      rmSync(hono, { force: true });
    }
  });
});

describe("edgeswarm-seed from the installed package", () => {
  it("--help and --version answer without node-datachannel; seeding without it says what to install", () => {
    const help = run("npx", ["--no-install", "edgeswarm-seed", "--help"], p.consumer);
    expect(help.stdout).toContain("Usage: edgeswarm-seed --edge <url>");
    expect(help.stdout).toContain("npm install node-datachannel");
    expect(run("npx", ["--no-install", "edgeswarm-seed", "--version"], p.consumer).stdout.trim()).toBe(pkgJson().version);
    const seed = run("npx", ["--no-install", "edgeswarm-seed", "--edge", "http://127.0.0.1:9", "--pin", "/c/a.bin"], p.consumer, { allowFail: true });
    expect(seed.status).toBe(1);
    expect(seed.stderr).toContain("node-datachannel is not installed");
  });

  it("with node-datachannel and ws beside it (the Dockerfile's install), the prebuilt CLI runs", () => {
    // The repository's own copies (linked: their dependencies resolve beside them) stand in for
    // `npm install node-datachannel ws`.
    for (const m of ["node-datachannel", "ws"]) symlinkSync(realpathSync(join(REPO, "node_modules", m)), join(p.consumer, "node_modules", m), "dir");
    try {
      const help = run("npx", ["--no-install", "edgeswarm-seed", "--help"], p.consumer);
      expect(help.stdout).toContain("Usage: edgeswarm-seed --edge <url>");
      expect(help.stdout).not.toContain("npm install node-datachannel");
      const bad = run("npx", ["--no-install", "edgeswarm-seed", "--edge", "not a url"], p.consumer, { allowFail: true });
      expect(bad.status).not.toBe(0);
      expect(`${bad.stdout}${bad.stderr}`).toMatch(/edge/i);
    } finally {
      for (const m of ["node-datachannel", "ws"]) rmSync(join(p.consumer, "node_modules", m), { recursive: true, force: true });
    }
  });
});

describe("the Dockerfile (in the package)", () => {
  it("installs the package with the same optional peers the package names, and runs the package's bin", () => {
    const docker = readFileSync(join(p.consumer, "node_modules/edgeswarm/Dockerfile"), "utf8");
    const peers = pkgJson().peerDependencies as Record<string, string>;
    const install = /npm install [^\n]*"\$PKG" ([^\n\\]+)/.exec(docker)?.[1]?.trim().split(/\s+/) ?? [];
    expect(install.sort()).toEqual(["node-datachannel", "ws"].map((m) => `${m}@${peers[m]}`).sort());
    const entry = /^ENTRYPOINT \["\/opt\/edgeswarm\/(node_modules\/\.bin\/edgeswarm-seed)"/m.exec(docker)?.[1];
    expect(entry).toBe("node_modules/.bin/edgeswarm-seed");
    // The same path in any project that installed the package (here the scratch consumer).
    expect(run(join(p.consumer, entry!), ["--version"], p.consumer).stdout.trim()).toBe(pkgJson().version);
  });
});

describe("examples, built from the tarball", () => {
  /** Copies examples/<name> to the scratch folder and installs the tarball (+ registry packages). */
  function example(name: string): string {
    const dir = join(p.scratch, `example-${name}`);
    rmSync(dir, { recursive: true, force: true });
    cpSync(join(REPO, "examples", name), dir, { recursive: true, filter: (s) => !/node_modules|\/dist$|\/\.next$|\/vendor$/.test(s) });
    return dir;
  }

  it("plain HTML: the page's scripts come out of the installed package byte for byte", () => {
    const dir = example("html");
    run("npm", ["install", "--offline", "--no-audit", "--no-fund", p.tarball], dir);
    run("npm", ["run", "build"], dir);
    expect(readFileSync(join(dir, "vendor/edgeswarm.js"))).toEqual(readFileSync(join(dir, "node_modules/edgeswarm/dist/sdk/edgeswarm.js")));
    expect(readFileSync(join(dir, "vendor/edgeswarm-sw.js"))).toEqual(readFileSync(join(dir, "node_modules/edgeswarm/dist/sdk/sw.js")));
    expect(readFileSync(join(dir, "index.html"), "utf8")).toContain('"edgeswarm": "./vendor/edgeswarm.js"');
  });

  it("React + Vite: tsc --noEmit under strict, then vite build; the SDK is in the bundle, its peer side a separate chunk", () => {
    const dir = example("react-vite");
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", p.tarball], dir);
    run("npm", ["run", "build"], dir);
    const assets = readdirSync(join(dir, "dist/assets")).filter((f) => f.endsWith(".js"));
    const texts = assets.map((f) => readFileSync(join(dir, "dist/assets", f), "utf8"));
    expect(texts.some((t) => t.includes("/c/demo/assets/large.bin"))).toBe(true);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    expect(texts.filter((t) => t.includes("createDataChannel"))).toHaveLength(1);
    expect(readFileSync(join(dir, "dist/index.html"), "utf8")).toMatch(/<script type="module"[^>]+src="\/assets\//);
  });

  it("Next.js: next build type-checks and prerenders the page, and builds the route handler", () => {
    const dir = example("next");
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", p.tarball], dir);
    const r = run("npx", ["--no-install", "next", "build"], dir);
    expect(r.stdout).toMatch(/\/api\/edgeswarm/);
    expect(existsSync(join(dir, ".next/BUILD_ID"))).toBe(true);
    const html = readFileSync(join(dir, ".next/server/app/index.html"), "utf8");
    expect(html).toContain("edgeswarm + Next.js");
  });
});
