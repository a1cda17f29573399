/**
 * The one error type of the edge Worker. Every failure of the edge's own that a client can see is
 * an {@link HttpError}, thrown by any handler (content, manifest, swarm, purge) and rendered as JSON
 * `{error: {code, message}}` by the one `onError` of the edge app (functions/worker.ts). Origin
 * answers are not errors of the edge: they pass through as the origin sent them.
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
  | "bad-target"
  | "bad-root"
  | "bad-shard"
  | "bad-token"
  | "expired"
  | "wrong-root"
  | "upgrade-required"
  | "unauthorized"
  | "bad-request"
  | "purge-disabled"
  | "purged"
  | "not-cached"
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

/**
 * The response for anything a handler threw: an {@link HttpError} as itself, anything else as a
 * 500 `internal` (logged; the message of an unexpected error is not shown to clients).
 * @example
 * app.onError((err) => renderError(err));
 */
export function renderError(err: unknown): Response {
  if (err instanceof HttpError) return err.toResponse();
  console.error("edge:unhandled", err);
  return errorResponse(500, "internal", "internal error");
}
