import { describe, expect, it } from "vitest";
import { EdgeIntegrityError, readEdgeRun, type EdgeRunDeps } from "../../client/edge-run";
import { content, digestOf, concat, fakeEdge, verify } from "./helpers";

const CS = 16 * 1024;

async function setup(piece: number, corrupt?: (o: number) => boolean) {
  const { bytes, manifest } = await content(10 * CS + 100, CS);
  const edge = fakeEdge(bytes, { piece, ...(corrupt ? { corrupt } : {}) });
  const got: [number, Uint8Array][] = [];
  const deps: EdgeRunDeps = {
    manifest, edge: edge.fetch, verify, stopped: () => false, room: async () => {}, deliver: (i, b) => got.push([i, b]),
  };
  return { bytes, manifest, edge, got, deps };
}

describe("edge run reader", () => {
  it("reassembles chunk boundaries from any read size and verifies each chunk", async () => {
    for (const piece of [1000, CS, CS + 1, 3 * CS + 7]) {
      const { bytes, edge, got, deps } = await setup(piece);
      const run = { pos: 2, end: 11, ctrl: new AbortController() };
      await readEdgeRun(run, deps);
      expect(edge.requests).toEqual([[2 * CS, bytes.length]]);
      expect(got.map(([i]) => i)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(digestOf(concat(got.map(([, b]) => b)))).toEqual(digestOf(bytes.slice(2 * CS)));
      expect(run.pos).toBe(11);
    }
  });

  it("stops at a shortened end and when the download stops", async () => {
    const { got, deps } = await setup(5000);
    const run = { pos: 0, end: 8, ctrl: new AbortController() };
    let stop = false;
    await readEdgeRun(run, {
      ...deps,
      stopped: () => stop,
      deliver: (i, b) => {
        got.push([i, b]);
        if (i === 1) run.end = 4; // a peer turned up holding chunks 4..7
        if (i === 2) stop = true;
      },
    });
    expect(got.map(([i]) => i)).toEqual([0, 1, 2]);
  });

  it("rejects with EdgeIntegrityError when the edge contradicts the manifest, delivering nothing bad", async () => {
    const { got, deps } = await setup(4096, (o) => o === 3 * CS + 17);
    const err = await readEdgeRun({ pos: 0, end: 6, ctrl: new AbortController() }, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeIntegrityError);
    expect((err as EdgeIntegrityError).index).toBe(3);
    expect(got.map(([i]) => i)).toEqual([0, 1, 2]);
  });

  it("rejects when the body ends early", async () => {
    const { deps, bytes } = await setup(5000);
    const short = async () => new Response(bytes.slice(0, CS + 10)).body!;
    await expect(readEdgeRun({ pos: 0, end: 4, ctrl: new AbortController() }, { ...deps, edge: short })).rejects.toThrow("ended early");
  });

  it("waits for room before reading further (reader backpressure)", async () => {
    const { got, deps } = await setup(CS);
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const reading = readEdgeRun({ pos: 0, end: 5, ctrl: new AbortController() }, { ...deps, room: (i) => (i >= 2 ? gate : Promise.resolve()) });
    await new Promise((r) => setTimeout(r, 10));
    expect(got.map(([i]) => i)).toEqual([0, 1]);
    open();
    await reading;
    expect(got.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
  });
});
