/** `<store>/peer-key`: the supernode's persistent identity (supernode/cli.ts storePeerKey). */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PEER_KEY } from "../../protocol/peer-id";
import { storePeerKey } from "../../supernode/cli";
import { parseCliArgs } from "../../supernode/cli-args";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), "es-peer-key-"));
  dirs.push(d);
  return d;
};

describe("storePeerKey", () => {
  it("creates a random key readable only by its owner (0600) and returns the same key on every start", async () => {
    const dir = join(await tmp(), "store");
    const first = await storePeerKey(dir);
    expect(first?.key).toMatch(PEER_KEY);
    expect(first?.migratedFrom).toBeUndefined();
    expect((await stat(join(dir, "peer-key"))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, "peer-key"), "utf8")).trim()).toBe(first!.key);
    expect(await storePeerKey(dir)).toEqual({ key: first!.key });
    const other = await storePeerKey(await tmp());
    expect(other!.key).not.toBe(first!.key);
  });

  it("replaces an invalid key file and tightens its mode", async () => {
    const dir = await tmp();
    await writeFile(join(dir, "peer-key"), "short\n", { mode: 0o644 });
    const k = await storePeerKey(dir);
    expect(k?.key).toMatch(PEER_KEY);
    expect((await stat(join(dir, "peer-key"))).mode & 0o777).toBe(0o600);
  });

  it("a legacy peer-id file: switches to a key once and names the old id", async () => {
    const dir = await tmp();
    await writeFile(join(dir, "peer-id"), "sn-legacy-0001\n");
    const k = await storePeerKey(dir);
    expect(k?.migratedFrom).toBe("sn-legacy-0001");
    expect(await storePeerKey(dir)).toEqual({ key: k!.key }); // reported once
  });

  it("no store folder (memory): nothing stored, the SDK draws a random key per process", async () => {
    expect(await storePeerKey(undefined)).toBeUndefined();
  });
});

describe("EDGESWARM_PEER_KEY", () => {
  const argv = ["--edge", "https://cdn.example", "--pin", "/a"];
  const run = (env: Record<string, string>) => parseCliArgs(argv, () => "", env);

  it("passes a valid key through; unset or empty means none", () => {
    const key = "Zz_-".repeat(6);
    expect(run({ EDGESWARM_PEER_KEY: key })).toMatchObject({ kind: "run", options: { peerKey: key, peerId: undefined } });
    expect(run({})).toMatchObject({ kind: "run", options: { peerKey: undefined } });
    expect(run({ EDGESWARM_PEER_KEY: "" })).toMatchObject({ kind: "run", options: { peerKey: undefined } });
  });

  it("refuses a malformed key, and a key together with --peer-id", () => {
    expect(run({ EDGESWARM_PEER_KEY: "too-short" })).toMatchObject({ kind: "error", message: expect.stringMatching(/EDGESWARM_PEER_KEY/) });
    expect(parseCliArgs([...argv, "--peer-id", "supernode-1"], () => "", { EDGESWARM_PEER_KEY: "k".repeat(22) })).toMatchObject({ kind: "error" });
  });
});
