/**
 * CORS for `/c/` and `/m/`: public content is readable from any page (`*`, never with
 * credentials), with the headers the SDK needs exposed. Bypassed (non-public) responses get none.
 */

/** Response headers a cross-origin script may read. */
export const EXPOSED_HEADERS = [
  "X-Edgeswarm-Cache", "X-Edgeswarm-Eligible", "Content-Range", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges", "Age",
];

/** Adds the CORS response headers to `h` (mutates and returns it). */
export function withCors(h: Headers): Headers {
  h.set("access-control-allow-origin", "*");
  h.set("access-control-expose-headers", EXPOSED_HEADERS.join(", "));
  return h;
}

/**
 * The answer to a CORS preflight (`OPTIONS`).
 * @example
 * app.options("/c/*", () => preflight());
 */
export function preflight(): Response {
  return new Response(null, {
    status: 204,
    headers: withCors(new Headers({
      "access-control-allow-methods": "GET, HEAD, OPTIONS",
      "access-control-allow-headers": "Range, If-None-Match, If-Modified-Since, If-Range",
      "access-control-max-age": "86400",
    })),
  });
}
