/**
 * A lying peer built on the test side: the page's real SDK, with `RTCDataChannel.prototype.send`
 * patched so every DATA frame it sends carries one flipped payload byte. The SDK itself has no
 * corruption switch; the lie happens where a malicious page would put it — between the SDK and the
 * wire — so the receiver's hash check meets real wrong bytes over a real data channel.
 */
import { DATA_HEADER, FrameType } from "../../../protocol/peer-frames";
import { evaluateIn, type AnyPeer } from "./browser";

/**
 * Makes `peer` corrupt every chunk byte range it uploads from now on (control frames untouched, so
 * it still looks like a well-behaved peer until the hashes are checked). Idempotent.
 *
 * @example
 * const p = await s.openFirefoxPeer("P"); await makeLyingPeer(p); await createSwarm(p);
 */
export async function makeLyingPeer(peer: AnyPeer): Promise<void> {
  await evaluateIn(
    peer,
    ({ data, header }) => {
      const w = window as unknown as { e2eLying?: boolean; e2eLies?: number };
      if (w.e2eLying) return;
      w.e2eLying = true;
      w.e2eLies = 0;
      const send = RTCDataChannel.prototype.send;
      RTCDataChannel.prototype.send = function (this: RTCDataChannel, msg: any) {
        const u8 = msg instanceof ArrayBuffer ? new Uint8Array(msg) : ArrayBuffer.isView(msg) ? new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength) : null;
        if (u8 && u8.length > header && u8[0] === data) {
          const lie = u8.slice();
          lie[lie.length - 1]! ^= 0xff;
          w.e2eLies!++;
          return send.call(this, lie);
        }
        return send.call(this, msg);
      } as typeof send;
    },
    { data: FrameType.data, header: DATA_HEADER },
  );
}

/** DATA frames the lying peer has corrupted so far (proves the lie really went out). */
export function liesTold(peer: AnyPeer): Promise<number> {
  return evaluateIn(peer, () => (window as unknown as { e2eLies?: number }).e2eLies ?? 0, undefined);
}
