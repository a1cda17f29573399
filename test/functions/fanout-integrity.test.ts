/** The fanout's own integrity rules (pure, no origin): a short source and a slow one never end cleanly. */
import { describe, expect, it } from "vitest";
import { SourceDeadlineError, TruncatedBodyError, fanout } from "../../functions/stream-fanout";

const source = (pieces: number, size: number, pauseMs = 0) => {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent === pieces) return c.close();
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      sent++;
      c.enqueue(new Uint8Array(size));
    },
  });
};

async function settle(s: ReadableStream<Uint8Array>): Promise<{ bytes: number; error: unknown }> {
  const r = s.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await r.read();
      if (done) return { bytes, error: null };
      bytes += value.byteLength;
    }
  } catch (e) {
    return { bytes, error: e };
  }
}

describe("fanout integrity", () => {
  it("a source that ends short of expectedLength errors every branch and fails the observer", async () => {
    const seen: string[] = [];
    const branches = fanout(source(3, 1000), 2, { expectedLength: 5000, observer: { chunk() {}, end: () => void seen.push("end"), fail: () => void seen.push("fail") } });
    const [a, b] = await Promise.all(branches.map(settle));
    expect(a!.error).toBeInstanceOf(TruncatedBodyError);
    expect(b!.error).toBeInstanceOf(TruncatedBodyError);
    expect(seen).toEqual(["fail"]);
  });

  it("a source longer than expectedLength errors too; an exact one closes cleanly", async () => {
    const [long] = fanout(source(6, 1000), 1, { expectedLength: 5000 });
    expect((await settle(long!)).error).toBeInstanceOf(TruncatedBodyError);
    const [exact] = fanout(source(5, 1000), 1, { expectedLength: 5000 });
    expect(await settle(exact!)).toEqual({ bytes: 5000, error: null });
  });

  it("a source that has not ended by deadlineMs errors every branch, although no single read was idle", async () => {
    const [a] = fanout(source(1000, 10, 20), 1, { deadlineMs: 200, idleTimeoutMs: 5000 });
    const out = await settle(a!);
    expect(out.error).toBeInstanceOf(SourceDeadlineError);
    expect(out.bytes).toBeGreaterThan(0);
  });
});
