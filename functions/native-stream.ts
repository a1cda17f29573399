/**
 * Handing a JavaScript-produced stream to the platform (a Response body, a Durable Object request or
 * response body, `cache.put`) through a native stream with a hand-written pump.
 *
 * Platform quirk this module exists for: when workerd itself reads a JS `ReadableStream` (as the
 * body of a `fetch` to a Durable Object, or of a DO's response) and that stream errors, workerd
 * reports the error as "Uncaught (in promise)" although every JS promise is observed (seen in the
 * workerd suite: "fill abandoned" from the fill lock's joiner bodies, "Network connection lost"
 * from a leader's feed when its origin reset). Pumping into an IdentityTransformStream or a
 * FixedLengthStream and aborting its writer instead surfaces the failure only as the errored stream.
 */

function pump(body: ReadableStream<Uint8Array>, sink: { readable: ReadableStream; writable: WritableStream }, head?: Uint8Array): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const writer = sink.writable.getWriter();
  writer.closed.catch(() => {});
  (async () => {
    try {
      if (head) await writer.write(head);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await writer.write(value);
      }
      await writer.close();
    } catch (e) {
      writer.abort(e).catch(() => {});
      reader.cancel(e).catch(() => {});
    }
  })();
  return sink.readable as ReadableStream<Uint8Array>;
}

/**
 * Wraps a stream so the Response carries Content-Length (workerd sends JS streams chunked). With
 * no known length the bytes still go through a native stream ({@link nativeStream}): the platform
 * reads the result (`cache.put`, the client's response), and a failing JS stream read by it is
 * reported as "Uncaught (in promise)" (an origin body without Content-Length that drops). `head`,
 * when given, goes first (its bytes count towards `length`).
 * @example
 * new Response(withLength(body, 1024), { headers });
 */
export function withLength(body: ReadableStream<Uint8Array>, length: number | null, head?: Uint8Array): ReadableStream<Uint8Array> {
  return pump(body, length === null ? new IdentityTransformStream() : new FixedLengthStream(length), head);
}

/**
 * The same bytes through a native stream, for a body the platform reads (a Durable Object request
 * or response): an error of `body` reaches the reader without an "Uncaught (in promise)" report.
 * @example
 * stub.fetch(url, { method: "POST", body: nativeStream(branch) });
 */
export function nativeStream(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return pump(body, new IdentityTransformStream());
}
