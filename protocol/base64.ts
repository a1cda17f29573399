/**
 * Base64 (RFC 4648 §4) and base64url (§5, unpadded) over bytes: the one codec of bitfields, join
 * tokens, peer keys and key-derived peer ids. No platform imports beyond `atob`/`btoa` (Workers,
 * browsers and Node ≥ 16 all have them), so the SDK's first-load bundle can take it.
 */

/** Bytes → a binary string, in slices (spreading 64 KiB into `fromCharCode` would overflow the stack). */
function binary(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x2000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  return bin;
}

/**
 * Standard base64 with padding.
 * @example
 * toBase64(new Uint8Array([0xc0])); // "wA=="
 */
export function toBase64(bytes: Uint8Array): string {
  return btoa(binary(bytes));
}

/**
 * Decodes standard base64; `null` for text that is not base64.
 * @example
 * fromBase64("wA=="); // Uint8Array [0xc0]
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * base64url without padding (RFC 4648 §5): safe in URLs, logs and SQLite keys unescaped.
 * @example
 * toBase64Url(new Uint8Array([0xfb, 0xff])); // "-_8"
 */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Decodes unpadded base64url; `null` for any character outside its alphabet or a bad length.
 * @example
 * fromBase64Url("-_8"); // Uint8Array [0xfb, 0xff]
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  return fromBase64(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
}
