/**
 * Fetching from an origin: only URLs produced by the route table, redirects never followed (an
 * origin's open redirect must not turn the edge into a proxy for other hosts), a timeout on the
 * response headers, and failures mapped to `origin-timeout` / `origin-error`.
 */
import { HttpError } from "./http-error";

/**
 * Request headers a client may pass to the origin on the cacheable path. Everything else (Host,
 * X-Forwarded-*, …) is dropped. A response that varies on one of these was chosen for one client
 * (eligibility.ts refuses to share it).
 */
export const FORWARDED_HEADERS: readonly string[] = ["accept", "accept-language", "user-agent"];
const PASSED = FORWARDED_HEADERS;
/** Extra headers passed only on bypass (uncached) requests. */
const PASSED_ON_BYPASS = ["authorization", "cookie", "range", "if-range", "if-none-match", "if-modified-since", "accept-encoding"];

/** Builds origin request headers from a client's. */
export function originHeaders(client: Headers, bypass: boolean): Headers {
  const h = new Headers();
  for (const k of bypass ? [...PASSED, ...PASSED_ON_BYPASS] : PASSED) {
    const v = client.get(k);
    if (v !== null) h.set(k, v);
  }
  // Cached bytes must be the identity representation: manifests hash them and ranges index them.
  if (!bypass) h.set("accept-encoding", "identity");
  return h;
}

/**
 * Fetches `url` from the origin. The timeout covers the wait for response headers only:
 * `AbortSignal.timeout` would also abort a long but healthy body stream; stalls inside the body are
 * caught by the fanout's idle timeout instead.
 * @example
 * const res = await fetchOrigin(route.originUrl, { method: "GET", headers }, 15_000);
 */
export async function fetchOrigin(url: URL, init: { method: string; headers: Headers; body?: ReadableStream<Uint8Array> | null }, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("origin timeout", "TimeoutError")), timeoutMs);
  try {
    return await fetch(url.href, { method: init.method, headers: init.headers, body: init.body ?? null, redirect: "manual", signal: controller.signal });
  } catch (e) {
    if (controller.signal.aborted) throw new HttpError(504, "origin-timeout", `origin did not answer within ${timeoutMs} ms`, {}, { cause: e });
    throw new HttpError(502, "origin-error", "origin unreachable", {}, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}
