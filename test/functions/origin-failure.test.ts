/** Origin down: stale-if-error with a stored copy, 502/504 JSON without one. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ORIGIN, asset, bytes, call, sameBytes, stubOrigin, uniquePath, callManifest } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

/** A fetch that never answers, but rejects like the real one when its signal aborts. */
const hang = (_req: Request, signal: AbortSignal | undefined) =>
  new Promise<Response>((_, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason));
  });

type Mode = "ok" | "503" | "throw" | "hang";

function flakyOrigin(data: Uint8Array<ArrayBuffer>) {
  const state = { mode: "ok" as Mode };
  const origin = stubOrigin((req, signal) => {
    switch (state.mode) {
      case "ok": return asset(data, { "cache-control": "public, max-age=0" }); // stored, stale at once
      case "503": return new Response("down", { status: 503 });
      case "throw": throw new TypeError("Network connection lost.");
      case "hang": return hang(req, signal);
    }
  });
  return { state, origin };
}

describe("origin failures", () => {
  for (const mode of ["503", "throw", "hang"] as const) {
    it(`serves the stale copy when the origin fails (${mode})`, async () => {
      const data = bytes(20_000, 5);
      const { state, origin } = flakyOrigin(data);
      const p = uniquePath();
      expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("MISS");
      state.mode = mode;
      const stale = await call(`/c/assets/${p}`);
      expect(stale.res.status).toBe(200);
      expect(stale.res.headers.get("x-edgeswarm-cache")).toBe("STALE");
      expect(sameBytes(stale.body, data)).toBe(true);
      // Ranges work on the stale copy too.
      const ranged = await call(`/c/assets/${p}`, { headers: { range: "bytes=100-199" } });
      expect(ranged.res.status).toBe(206);
      expect(ranged.res.headers.get("x-edgeswarm-cache")).toBe("STALE");
      expect(sameBytes(ranged.body, data.slice(100, 200))).toBe(true);
      expect(origin.hits(ORIGIN + p)).toBe(3);
    });
  }

  it("passes the origin's 5xx through (status and body) when nothing is cached", async () => {
    stubOrigin(() => new Response("boom", { status: 500 }));
    const { res, body } = await call(`/c/assets/${uniquePath()}`);
    expect(res.status).toBe(500);
    expect(new TextDecoder().decode(body)).toBe("boom");
    expect(res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
  });

  it("answers 502 origin-error when the origin cannot be reached and nothing is cached", async () => {
    stubOrigin(() => {
      throw new TypeError("Network connection lost.");
    });
    const { res, body } = await call(`/c/assets/${uniquePath()}`);
    expect(res.status).toBe(502);
    expect(JSON.parse(new TextDecoder().decode(body)).error.code).toBe("origin-error");
  });

  it("answers 504 origin-timeout when the origin does not answer in ORIGIN_TIMEOUT_MS", async () => {
    stubOrigin(hang);
    const { res, body } = await call(`/c/assets/${uniquePath()}`);
    expect(res.status).toBe(504);
    expect(JSON.parse(new TextDecoder().decode(body))).toMatchObject({ error: { code: "origin-timeout" } });
    // And /m/ reports the same way.
    const m = await callManifest(`/m/assets/${uniquePath()}`);
    expect(m.res.status).toBe(504);
  });

  it("does not store an object whose body breaks mid-stream", async () => {
    let broken = true;
    const origin = stubOrigin(() => {
      if (!broken) return asset(bytes(1000));
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (!sent) c.enqueue(new Uint8Array(100));
          else c.error(new Error("connection reset"));
          sent = true;
        },
      });
      return new Response(body, { headers: { "content-length": "1000", "cache-control": "public, max-age=3600" } });
    });
    const p = uniquePath();
    await call(`/c/assets/${p}`).catch(() => null);
    broken = false;
    const again = await call(`/c/assets/${p}`);
    expect(again.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });

  it("forgets its copy when the origin says the object is gone (404), instead of serving it stale", async () => {
    let gone = false;
    const origin = stubOrigin(() => (gone ? new Response("gone", { status: 404 }) : asset("x", { "cache-control": "public, max-age=0" })));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    gone = true;
    const r = await call(`/c/assets/${p}`);
    expect(r.res.status).toBe(404);
    expect(r.res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
    gone = false;
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(origin.hits(ORIGIN + p)).toBe(3);
  });
});
