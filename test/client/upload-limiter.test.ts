import { describe, expect, it } from "vitest";
import { UploadLimiter } from "../../client/upload-limiter";
import { FakeClock, settle } from "./helpers";

describe("upload limiter", () => {
  it("hands out at most `slots` slots; releasing is idempotent", () => {
    const l = new UploadLimiter({ bytesPerSec: 0, slots: 2 });
    const a = l.acquireSlot();
    const b = l.acquireSlot();
    expect(a && b).toBeTruthy();
    expect(l.acquireSlot()).toBeNull();
    a!();
    a!();
    expect(l.inUse).toBe(1);
    expect(l.acquireSlot()).not.toBeNull();
    expect(new UploadLimiter({ bytesPerSec: 0, slots: 0 }).acquireSlot()).toBeNull();
  });

  it("lets a burst through, then paces to the configured rate", () => {
    const clock = new FakeClock();
    const l = new UploadLimiter({ bytesPerSec: 1000, burst: 500, slots: 1, clock });
    expect(l.reserve(500)).toBe(0);
    expect(l.reserve(250)).toBe(250); // 250 bytes of debt at 1000 B/s
    clock.advance(250);
    expect(l.reserve(100)).toBe(100);
    clock.advance(10_000); // refills to the burst, not beyond
    expect(l.reserve(500)).toBe(0);
    expect(l.reserve(1)).toBeGreaterThan(0);
  });

  it("take() sleeps on the clock until the debt is repaid; long-run rate holds", async () => {
    const clock = new FakeClock();
    const l = new UploadLimiter({ bytesPerSec: 16384, burst: 16384, slots: 1, clock });
    let sent = 0;
    const run = (async () => {
      for (let i = 0; i < 10; i++) {
        await l.take(16384);
        sent++;
      }
    })();
    for (let k = 0; k < 200 && sent < 10; k++) {
      await settle(2);
      clock.advance(100);
    }
    await run;
    // 10 frames of one second each, the first from the full bucket: ~9 s.
    expect(clock.t).toBeGreaterThanOrEqual(9000);
    expect(clock.t).toBeLessThanOrEqual(9200);
  });

  it("is unlimited when the rate is 0", () => {
    const l = new UploadLimiter({ bytesPerSec: 0, slots: 1 });
    expect(l.reserve(1e12)).toBe(0);
  });
});
