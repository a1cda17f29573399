import { describe, expect, it } from "vitest";
import { parseCliArgs, parseEdge } from "../../supernode/cli-args";

const EDGE = "https://cdn.example";
const run = (argv: string[], readList?: (f: string) => string) => {
  const r = parseCliArgs(argv, readList);
  if (r.kind !== "run") throw new Error(`expected run, got ${JSON.stringify(r)}`);
  return r.options;
};
const error = (argv: string[]) => {
  const r = parseCliArgs(argv);
  if (r.kind !== "error") throw new Error(`expected error, got ${JSON.stringify(r)}`);
  return r.message;
};

describe("edgeswarm-seed arguments", () => {
  it("parses the documented example with defaults for the rest", () => {
    const o = run(["--edge", EDGE, "--pin", "/c/demo/a.bin", "--pin", `${EDGE}/c/demo/b.bin`, "--max-upload", "20MiB/s", "--store", "/var/lib/es", "--quota", "20GiB"]);
    expect(o).toEqual({
      edge: EDGE, pins: ["/c/demo/a.bin", `${EDGE}/c/demo/b.bin`], follow: [], maxUploadBytesPerSec: 20 * 1024 ** 2,
      uploadSlots: 16, maxPeers: 64, storeDir: "/var/lib/es", quotaBytes: 20 * 1024 ** 3, statsIntervalMs: 30_000,
      refreshMs: 600_000, peerId: undefined, quiet: false,
    });
  });

  it("defaults: unlimited upload, in-memory store of 1 GiB, 10 GiB with a folder", () => {
    expect(run(["--edge", EDGE, "--pin", "/demo/a.bin"])).toMatchObject({ maxUploadBytesPerSec: 0, storeDir: undefined, quotaBytes: 1024 ** 3 });
    expect(run(["--edge", EDGE, "--store", "s"]).quotaBytes).toBe(10 * 1024 ** 3);
  });

  it("normalises the edge to its origin and rejects paths, queries and other schemes", () => {
    expect(run(["--edge", "https://cdn.example/", "--pin", "/demo/a.bin"]).edge).toBe(EDGE);
    expect(parseEdge("http://127.0.0.1:8787")).toBe("http://127.0.0.1:8787");
    for (const bad of ["https://cdn.example/c/", "ftp://cdn.example", "https://u:p@cdn.example", "https://cdn.example?x=1", "not a url"]) {
      expect(parseEdge(bad), bad).toBeNull();
    }
    expect(error(["--pin", "/demo/a.bin"])).toMatch(/--edge is required/);
  });

  it("reads @file lists (comments, blank lines, duplicates removed)", () => {
    const o = run(["--edge", EDGE, "--pin", "@pins.txt", "--pin", "/c/demo/a.bin", "--follow", "@f"], (f) =>
      f === "pins.txt" ? "# videos\n/c/demo/a.bin\n\n/c/demo/b.bin  # big\r\n" : "/c/demo/c.bin\n",
    );
    expect(o.pins).toEqual(["/c/demo/a.bin", "/c/demo/b.bin"]);
    expect(o.follow).toEqual(["/c/demo/c.bin"]);
    expect(parseCliArgs(["--edge", EDGE, "--pin", "@missing"], () => { throw new Error("ENOENT"); })).toEqual({ kind: "error", message: "--pin @missing: ENOENT" });
  });

  it("rejects pins on another origin or on non-content paths", () => {
    expect(error(["--edge", EDGE, "--pin", "https://evil.example/c/a.bin"])).toMatch(/not on the edge/);
    expect(error(["--edge", EDGE, "--pin", "/m/demo/a.bin"])).toMatch(/not a content path/);
    expect(error(["--edge", EDGE, "--pin", "/"])).toMatch(/not a content path/);
  });

  it("needs something to seed", () => {
    expect(error(["--edge", EDGE])).toMatch(/nothing to seed/);
  });

  it("validates rates, sizes, durations, counts and peer ids", () => {
    expect(run(["--edge", EDGE, "--pin", "/a", "--max-upload", "100Mbit/s"]).maxUploadBytesPerSec).toBe(12_500_000);
    expect(run(["--edge", EDGE, "--pin", "/a", "--max-upload", "0"]).maxUploadBytesPerSec).toBe(0);
    expect(error(["--edge", EDGE, "--pin", "/a", "--max-upload", "fast"])).toMatch(/--max-upload/);
    expect(error(["--edge", EDGE, "--store", "s", "--quota", "10KiB"])).toMatch(/--quota/);
    expect(error(["--edge", EDGE, "--store", "s", "--quota", "lots"])).toMatch(/--quota/);
    expect(run(["--edge", EDGE, "--pin", "/a", "--stats-interval", "5s", "--refresh", "2m"])).toMatchObject({ statsIntervalMs: 5000, refreshMs: 120_000 });
    expect(error(["--edge", EDGE, "--pin", "/a", "--refresh", "10ms"])).toMatch(/--refresh/);
    expect(error(["--edge", EDGE, "--pin", "/a", "--upload-slots", "0"])).toMatch(/--upload-slots/);
    expect(error(["--edge", EDGE, "--pin", "/a", "--max-peers", "2.5"])).toMatch(/--max-peers/);
    expect(error(["--edge", EDGE, "--pin", "/a", "--peer-id", "x"])).toMatch(/--peer-id/);
    expect(run(["--edge", EDGE, "--pin", "/a", "--peer-id", "supernode-1", "--quiet"])).toMatchObject({ peerId: "supernode-1", quiet: true });
  });

  it("rejects unknown flags and positionals; answers --help and --version", () => {
    expect(error(["--edge", EDGE, "--pin", "/a", "--turbo"])).toMatch(/turbo/);
    expect(error(["--edge", EDGE, "/a"])).toMatch(/positional|Unexpected argument/i);
    expect(parseCliArgs(["-h"])).toEqual({ kind: "help" });
    expect(parseCliArgs(["--version"])).toEqual({ kind: "version" });
  });
});
