/** The task table's counts the edge lane reads every pass (client/chunk-tasks.ts). */
import { describe, expect, it } from "vitest";
import { TaskTable } from "../../client/chunk-tasks";

describe("TaskTable counts", () => {
  it("chunks not done and chunks claimed by the edge follow claims, releases, reclaims and completions", () => {
    const t = new TaskTable(10, 20, Infinity);
    expect([t.notDone, t.edgeClaimed]).toEqual([10, 0]);
    const a = t.claim(10, { source: "edge", reason: "lane" });
    t.claim(11, { source: "edge", reason: "lane" });
    t.claim(12, { source: "peer", peerId: "p" });
    expect(t.edgeClaimed).toBe(2);
    t.release(10, {}); // another claim's token: no change
    expect(t.edgeClaimed).toBe(2);
    t.release(10, a);
    expect(t.edgeClaimed).toBe(1);
    t.claim(11, { source: "peer", peerId: "p" }); // a claim replaced by a peer's
    expect(t.edgeClaimed).toBe(0);
    t.claim(13, { source: "edge" });
    t.done(13, "edge");
    t.done(12, "peer");
    t.done(12, "peer"); // twice: counted once
    expect([t.notDone, t.edgeClaimed]).toEqual([8, 0]);
    t.release(13); // done: not claimed, no change
    expect([t.notDone, t.edgeClaimed]).toEqual([8, 0]);
  });
});
