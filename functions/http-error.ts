/**
 * The one error type of the edge Worker. Every failure a client can see is an {@link HttpError}
 * rendered as JSON `{error: {code, message}}` (see the team contract in README/docs/edge.md).
 */

/** Stable error codes. Clients switch on these, never on messages. */
export type ErrorCode =
  | "not-found"
  | "no-route"
  | "bad-path"
  | "uri-too-long"
  | "headers-too-large"
  | "method-not-allowed"
  | "range-not-satisfiable"
  | "ineligible"
  | "bad-peer-id"
  | "bad-peer-key"
  | "origin-error"
  | "origin-not-found"
  | "origin-status"
  | "origin-timeout"
  | "bad-config"
  | "internal";

/** An HTTP failure with a status, a stable code and optional extra response headers. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /**
   * The JSON response for this error.
   * @example
   * return new HttpError(404, "no-route", "no route for /x").toResponse();
   */
  toResponse(): Response {
    return errorResponse(this.status, this.code, this.message, this.headers);
  }
}

/** A JSON error response `{error: {code, message}}`. Never cached by browsers or the edge. */
export function errorResponse(status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}
