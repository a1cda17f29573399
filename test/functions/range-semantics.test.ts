/**
 * Range details of `/c/`: If-Range compares entity tags strongly (RFC 9110 §13.1.5), and range
 * handling is defined for GET only (§14.2), so a HEAD answers the full representation's headers
 * whatever its Range says — satisfiable or not.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ORIGIN, asset, bytes, call, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const DATA = bytes(10_000, 3);

describe("If-Range (RFC 9110 §13.1.5)", () => {
  it.each([
    ["a weak tag of the stored strong ETag", '"v1"', 'W/"v1"'],
    ["a strong tag when the stored ETag is weak", 'W/"v1"', '"v1"'],
    ["a weak tag equal to the stored weak ETag", 'W/"v1"', 'W/"v1"'],
    ["a date that is not exactly Last-Modified", '"v1"', "Mon, 01 Jan 2024 00:00:01 GMT"],
  ])("%s gives the full 200", async (_name, etag, ifRange) => {
    const origin = stubOrigin(() => asset(DATA, { etag }));
    const p = uniquePath();
    for (const round of ["miss", "hit"]) {
      const { res, body } = await call(`/c/assets/${p}`, { headers: { range: "bytes=10-19", "if-range": ifRange } });
      expect(res.status, round).toBe(200);
      expect(res.headers.get("content-range")).toBeNull();
      expect(body).toEqual(DATA);
    }
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it.each([
    ["the same strong ETag", '"v1"'],
    ["exactly Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"],
  ])("%s gives the 206", async (_name, ifRange) => {
    stubOrigin(() => asset(DATA));
    const p = uniquePath();
    for (const round of ["miss", "hit"]) {
      const { res, body } = await call(`/c/assets/${p}`, { headers: { range: "bytes=10-19", "if-range": ifRange } });
      expect(res.status, round).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes 10-19/${DATA.byteLength}`);
      expect(body).toEqual(DATA.slice(10, 20));
    }
  });
});

describe("HEAD with Range (RFC 9110 §14.2: range handling is defined for GET only)", () => {
  it.each([["satisfiable", "bytes=10-19"], ["unsatisfiable", "bytes=50000-"], ["suffix", "bytes=-5"]])(
    "a %s Range on HEAD answers 200 with the full length, miss and hit alike",
    async (_kind, range) => {
      const origin = stubOrigin(() => asset(DATA));
      const p = uniquePath();
      for (const round of ["miss", "hit"]) {
        const { res, body } = await call(`/c/assets/${p}`, { method: "HEAD", headers: { range } });
        expect(res.status, round).toBe(200);
        expect(res.headers.get("content-length")).toBe(String(DATA.byteLength));
        expect(res.headers.get("content-range")).toBeNull();
        expect(res.headers.get("accept-ranges")).toBe("bytes");
        expect(body.byteLength).toBe(0);
      }
      expect(origin.hits(ORIGIN + p)).toBe(1);
      // GET keeps its range semantics.
      const get = await call(`/c/assets/${p}`, { headers: { range } });
      expect(get.res.status).toBe(range === "bytes=50000-" ? 416 : 206);
    },
  );
});
