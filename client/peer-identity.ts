/**
 * How an SDK instance names itself to the edge (`/m/…?key=` or, legacy, `?peer=`): a peer id given
 * in the options, or one derived from a peer key (protocol/peer-id.ts), so that no other peer can
 * obtain a join token for it.
 */
import { PEER_ID, PEER_KEY, peerIdFromKey, randomPeerKey } from "../protocol/peer-id";
import { toBase64Url } from "../protocol/base64";
import type { PeerIdentity } from "./edge-client";

const randomId = (): string => toBase64Url(crypto.getRandomValues(new Uint8Array(12)));

/**
 * A key identity: the given key (when valid) or a fresh random one, with its derived id. Without
 * WebCrypto's digest (an insecure context) no id can be derived — nor can chunks be verified, so the
 * swarm path is off anyway — and a random legacy id stands in.
 */
async function keyIdentity(given: string | undefined): Promise<PeerIdentity> {
  const key = given && PEER_KEY.test(given) ? given : randomPeerKey();
  try {
    return { peerId: await peerIdFromKey(key), key };
  } catch {
    return { peerId: randomId() };
  }
}

/**
 * The identity of an SDK instance: `peerId` as given when it is a valid legacy id, else a key identity.
 * @example
 * const who = await resolveIdentity(opts.peerId, opts.peerKey); // { peerId: "pk_…", key: "…" }
 */
export function resolveIdentity(peerId: string | undefined, peerKey: string | undefined): Promise<PeerIdentity> {
  return peerId && PEER_ID.test(peerId) ? Promise.resolve({ peerId }) : keyIdentity(peerKey);
}
