/**
 * The disk chunk store killed for real: a child process stores chunks of two interleaved items
 * (so chunk and metadata writes alternate) and reports each acknowledged put; the test SIGKILLs it
 * mid-stream, then reopens the folder. Whatever instant the kill hit, the reopened store must list
 * every acknowledged chunk, serve only right bytes, and keep no file it does not list.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { build } from "esbuild";
import { afterEach, expect, it } from "vitest";
import { openDiskChunkStore } from "../../supernode/disk-chunk-store";

const CS = 512;
const root = (c: string) => c.repeat(64);
const chunk = (item: number, i: number) => Uint8Array.from({ length: CS }, (_, k) => (k * 13 + i * 7 + item) & 0xff);

/** The child: stores chunks of items "a" and "b" alternately, 4 puts in flight, printing `<item> <index>` per acknowledged put. */
const CHILD = `
import { openDiskChunkStore } from ${JSON.stringify(resolve(__dirname, "../../supernode/disk-chunk-store.ts"))};
const CS = ${CS};
const chunk = ${chunk.toString()};
const [dir] = process.argv.slice(2);
let t = 0;
const store = await openDiskChunkStore({ dir, quotaBytes: 1e12, now: () => ++t });
const infos = ["a", "b"].map((c) => ({ root: c.repeat(64), url: "/c/" + c, size: 1e5 * CS, chunkSize: CS, type: "x/y" }));
let next = 0;
async function worker() {
  for (;;) {
    const n = next++;
    const item = n % 2, i = n >> 1;
    if (await store.put(infos[item], i, chunk(item, i))) process.stdout.write(item + " " + i + "\\n");
  }
}
await Promise.all([worker(), worker(), worker(), worker()]);
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it("after a SIGKILL mid-write, lists every acknowledged chunk, serves only right bytes and leaves no stray file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "es-crash-"));
  const work = mkdtempSync(join(tmpdir(), "es-crash-child-"));
  dirs.push(dir, work);
  const script = join(work, "child.mjs");
  const out = await build({ stdin: { contents: CHILD, loader: "ts", resolveDir: work }, bundle: true, platform: "node", format: "esm", write: false });
  writeFileSync(script, out.outputFiles[0]!.text);

  const child = spawn(process.execPath, [script, dir], { stdio: ["ignore", "pipe", "inherit"] });
  const acked: [number, number][] = [];
  const exited = new Promise((r) => child.on("exit", r));
  for await (const line of createInterface({ input: child.stdout })) {
    const [item, i] = line.split(" ").map(Number);
    acked.push([item!, i!]);
    if (acked.length === 400) child.kill("SIGKILL"); // lines already buffered still count: they were acknowledged
  }
  await exited;
  expect(acked.length).toBeGreaterThanOrEqual(400);

  const store = await openDiskChunkStore({ dir, quotaBytes: 1e12 });
  for (const [item, i] of acked) expect(store.has(root("ab"[item]!), i)).toBe(true);
  for (const [item, c] of ["a", "b"].entries()) {
    const held = store.held(root(c));
    for (const i of held) expect(await store.get(root(c), i)).toEqual(chunk(item, i));
    expect(readdirSync(join(dir, "chunks", root(c))).map(Number).sort((x, y) => x - y)).toEqual(held);
  }
  expect(readdirSync(join(dir, "items")).sort()).toEqual([`${root("a")}.json`, `${root("b")}.json`]);
});
