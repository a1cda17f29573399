/**
 * Bounds on what a request may carry before any routing: path/URL length (414) and header sizes
 * (431, RFC 6585 §5). Cloudflare's front end has its own, larger limits; these keep the Worker's
 * parsing, logging and cache keys small.
 */
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http-error";
import { MAX_PATH_LENGTH } from "./safe-path";

/** Limits; defaults fit any sane asset URL and browser request. */
export interface RequestLimits {
  maxUrlLength: number;
  maxPathLength: number;
  maxHeaderBytes: number;
  maxHeaderValueBytes: number;
}

const DEFAULTS: RequestLimits = { maxUrlLength: 8192, maxPathLength: MAX_PATH_LENGTH + 64, maxHeaderBytes: 16 * 1024, maxHeaderValueBytes: 8 * 1024 };

/**
 * Middleware factory that refuses oversized requests with JSON 414/431.
 * @example
 * app.use("*", requestLimits());
 */
export const requestLimits = (overrides: Partial<RequestLimits> = {}): MiddlewareHandler => {
  const limits = { ...DEFAULTS, ...overrides };
  if (Object.values(limits).some((v) => !Number.isSafeInteger(v) || v <= 0)) throw new TypeError("requestLimits: limits must be positive integers");
  return async function requestLimitsMiddleware(c, next) {
    const url = c.req.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const q = url.indexOf("?", pathStart);
    const pathLength = (q < 0 ? url.length : q) - pathStart;
    if (url.length > limits.maxUrlLength || pathLength > limits.maxPathLength) throw new HttpError(414, "uri-too-long", "request URL too long");
    let total = 0;
    for (const [k, v] of c.req.raw.headers) {
      if (v.length > limits.maxHeaderValueBytes) throw new HttpError(431, "headers-too-large", `header ${k} too large`);
      total += k.length + v.length + 4;
    }
    if (total > limits.maxHeaderBytes) throw new HttpError(431, "headers-too-large", "request headers too large");
    await next();
  };
};
