import { describe, expect, it } from "vitest";
import { EdgeIntegrityError, type EdgeRun } from "../../client/edge-runs";
import { EdgeRuns, type EdgeRunsHost } from "../../client/edge-runs";
import { FakeClock, content, digestOf, concat, fakeEdge, settle, verify } from "./helpers";

const CS = 16 * 1024;

async function setup(over: (clock: FakeClock) => Partial<EdgeRunsHost> = () => ({})) {
  const clock = new FakeClock();
  const { bytes, manifest } = await content(8 * CS, CS);
  const edge = fakeEdge(bytes, { piece: CS, clock, msPerPiece: 10 });
  const log: string[] = [];
  const got: [number, Uint8Array, number][] = [];
  const samples: [number, number][] = [];
  const ended: EdgeRun[] = [];
  const errors: unknown[] = [];
  let stopped = false;
  const host: EdgeRunsHost = {
    manifest, edge: edge.fetch, verify, clock, retries: 2,
    stopped: () => stopped,
    room: async () => {},
    deliver: (_run, i, b) => got.push([i, b, clock.t]),
    measured: (b, ms) => samples.push([b, ms]),
    retryIn: (ms) => log.push(`retry ${ms}`),
    fail: (e) => errors.push(e),
    ended: (run) => ended.push(run),
    ...over(clock),
  };
  const runs = new EdgeRuns(host);
  /** Advances the fake clock in 5 ms steps until `n` runs have ended. */
  const until = async (n: number) => {
    for (let k = 0; k < 2000 && ended.length < n; k++) {
      clock.advance(5);
      await settle(10);
    }
    expect(ended.length).toBe(n);
  };
  return { clock, bytes, edge, runs, got, samples, ended, errors, log, stop: () => (stopped = true), until };
}

describe("edge runs of one download", () => {
  it("delivers a run's chunks and meters the transfer only: no round trip, no time stalled on the reader", async () => {
    const { bytes } = await content(8 * CS, CS);
    const { runs, got, samples, ended, until } = await setup((clock) => {
      const slow = fakeEdge(bytes, { piece: CS, clock, msPerPiece: 10 });
      return {
        // 40 ms before the response head (latency), then 10 ms per chunk.
        edge: async (s, e, sig) => {
          await clock.sleep(40);
          return slow.fetch(s, e, sig);
        },
        // The reader's window holds chunk 2 back for 100 ms.
        room: (i) => (i === 2 ? clock.sleep(100) : Promise.resolve()),
      };
    });
    const run = runs.start(0, 4);
    expect(runs.size).toBe(1);
    await until(1);
    expect(ended).toEqual([run]);
    expect(runs.size).toBe(0);
    expect(run.ctrl.signal.aborted).toBe(true);
    expect(got.map(([i]) => i)).toEqual([0, 1, 2, 3]);
    expect(digestOf(concat(got.map(([, b]) => b)))).toEqual(digestOf(bytes.slice(0, 4 * CS)));
    const lastAt = got[3]![2];
    expect(samples).toEqual([[4 * CS, lastAt - 40 - 100]]);
  });

  it("retries with exponential back-off, gives up after `retries` failures in a row, and resets on success", async () => {
    let failing = true;
    const { bytes } = await content(8 * CS, CS);
    const good = fakeEdge(bytes, { piece: CS });
    const { runs, errors, log, ended, until } = await setup(() => ({
      edge: async (s, e, sig) => {
        if (failing) throw new Error("edge down");
        return good.fetch(s, e, sig);
      },
    }));
    runs.start(0, 1);
    await until(1);
    runs.start(0, 1);
    await until(2);
    expect(log).toEqual(["retry 200", "retry 400"]);
    failing = false;
    runs.start(0, 1);
    await until(3);
    failing = true;
    runs.start(0, 1);
    await until(4);
    expect(log).toEqual(["retry 200", "retry 400", "retry 200"]);
    runs.start(0, 1);
    runs.start(1, 2);
    await until(6);
    expect(log).toEqual(["retry 200", "retry 400", "retry 200", "retry 400"]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe("edge down");
    expect(ended).toHaveLength(6);
  });

  it("fails at once when the edge contradicts the manifest; stays quiet once the download stopped", async () => {
    const { bytes, manifest } = await content(8 * CS, CS);
    const bad = fakeEdge(bytes, { piece: CS, corrupt: (o) => o === CS + 5 });
    const a = await setup(() => ({ manifest, edge: bad.fetch }));
    a.runs.start(0, 3);
    await a.until(1);
    expect(a.got.map(([i]) => i)).toEqual([0]);
    expect(a.errors).toHaveLength(1);
    expect(a.errors[0]).toBeInstanceOf(EdgeIntegrityError);
    expect(a.log).toEqual([]);

    // The download stops while the bad chunk is being checked: the failure must then stay silent.
    let quiet = false;
    const b = await setup(() => ({
      manifest,
      edge: bad.fetch,
      stopped: () => quiet,
      verify: async (x: Uint8Array, h: string) => (await verify(x, h)) || ((quiet = true), false),
    }));
    b.runs.start(0, 3);
    await b.until(1);
    expect(quiet).toBe(true); // chunk 1 was reached and failed its hash
    expect(b.got.map(([i]) => i)).toEqual([0]);
    expect(b.errors).toEqual([]);
    expect(b.log).toEqual([]);
  });

  it("knows whether a lane run is in flight, and aborts every run", async () => {
    const { runs, ended, errors, stop, until } = await setup();
    const plain = runs.start(0, 4);
    expect(runs.laneRunning).toBe(false);
    const lane = runs.start(4, 8, true);
    expect(lane.lane).toBe(true);
    expect(runs.laneRunning).toBe(true);
    expect([...runs]).toEqual([plain, lane]);
    stop();
    runs.abortAll();
    expect(plain.ctrl.signal.aborted && lane.ctrl.signal.aborted).toBe(true);
    await until(2);
    expect(runs.size).toBe(0);
    expect(runs.laneRunning).toBe(false);
    expect(errors).toEqual([]);
  });
});

describe("laneLeft: the lane's next run is asked one round trip before its stream would idle", () => {
  it("counts a lane run's chunks less those one measured round trip brings (at least 1 while one runs)", async () => {
    const { bytes } = await content(8 * CS, CS);
    const { runs, until, clock } = await setup((c) => {
      const slow = fakeEdge(bytes, { piece: CS, clock: c, msPerPiece: 10 });
      // 25 ms before the response head, then 10 ms per chunk: one round trip brings 2.5 → 3 chunks.
      return { edge: async (s, e, sig) => (await c.sleep(25), slow.fetch(s, e, sig)) };
    });
    expect(runs.laneLeft).toBe(0);
    const first = runs.start(0, 8, true);
    expect(runs.laneLeft).toBe(7); // unmeasured: one chunk per round trip (8 − 1)
    await until(1);
    expect(first.pos).toBe(8);
    runs.start(0, 8, true);
    expect(runs.laneLeft).toBe(5); // 8 − 3
    for (let k = 0; k < 19; k++) (clock.advance(5), await settle(10));
    expect(runs.laneLeft).toBe(1); // near its end it never reads 0 while the run is in flight
    await until(2);
    expect(runs.laneLeft).toBe(0);
    runs.start(0, 2); // not a lane run
    expect(runs.laneLeft).toBe(0);
  });
});
