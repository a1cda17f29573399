/**
 * The fill settings (functions/fill-config.ts): defaults, bounds, and the rule that leaves no object
 * size between the fill lock's relay and chunked storage — the two ways concurrent misses of one
 * object share a single origin fetch (chunked-storage.test.ts and fill-lock.test.ts test each way).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RELAY_MAX_BYTES, fillConfig } from "../../functions/fill-config";
import { HttpError } from "../../functions/http-error";

const MiB = 1024 * 1024;

describe("fill config", () => {
  it("unset, chunked storage starts where the relay stops (32 MiB): every known-length object is relayed or chunked", () => {
    const c = fillConfig({});
    expect(c.relayMaxBytes).toBe(DEFAULT_RELAY_MAX_BYTES);
    expect(c.chunkedMinBytes).toBe(c.relayMaxBytes);
  });

  it("follows a configured relay bound, and keeps an explicit threshold as given", () => {
    expect(fillConfig({ FILL_RELAY_MAX_BYTES: String(16 * MiB) }).chunkedMinBytes).toBe(16 * MiB);
    expect(fillConfig({ FILL_RELAY_MAX_BYTES: String(16 * MiB), CHUNKED_STORAGE_MIN_BYTES: String(64 * MiB) }).chunkedMinBytes).toBe(64 * MiB);
    // No relay at all: chunked storage keeps its own default rather than chunking every object.
    expect(fillConfig({ FILL_RELAY_MAX_BYTES: "0" }).chunkedMinBytes).toBe(32 * MiB);
  });

  it("refuses values out of bounds with a typed error", () => {
    expect(() => fillConfig({ CHUNKED_STORAGE_MIN_BYTES: "0" })).toThrow(HttpError);
    expect(() => fillConfig({ CHUNKED_STORAGE_MIN_BYTES: String(600 * 1000 * 1000) })).toThrow(/CHUNKED_STORAGE_MIN_BYTES/);
    expect(() => fillConfig({ FILL_RELAY_MAX_BYTES: "-1" })).toThrow(/FILL_RELAY_MAX_BYTES/);
  });

  it.each(["0x100000", "1e6", "1000000.0", "+1000000"])("refuses %j: digits only, as every other limit of the edge (edge-config.ts)", (v) => {
    expect(() => fillConfig({ ORIGIN_FILL_DEADLINE_MS: v })).toThrow(/ORIGIN_FILL_DEADLINE_MS/);
    expect(() => fillConfig({ CHUNKED_STORAGE_MIN_BYTES: v })).toThrow(/CHUNKED_STORAGE_MIN_BYTES/);
  });
});
