/**
 * Sending and closing on a WebSocket that may already be closing: the coordinator never throws
 * from a platform handler, and the close handler does the bookkeeping of a dead socket.
 */

/**
 * Sends one text frame; false when the socket is closing or closed.
 * @example
 * if (!sendRaw(target, frame)) answerPeerGone();
 */
export function sendRaw(ws: WebSocket, frame: string): boolean {
  try {
    ws.send(frame);
    return true;
  } catch {
    return false; // closing or closed: the close handler does the bookkeeping
  }
}

/**
 * Closes with `code` and a reason cut to 120 characters (RFC 6455 §5.5: control frame payload
 * ≤ 125 bytes, 2 of them the code); ignores an already closed socket.
 * @example
 * closeQuietly(ws, 1008, "too many invalid frames");
 */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    // already closed
  }
}
