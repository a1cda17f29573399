/**
 * The chunk bitfield, the one codec every side uses: bit `i` set when chunk `i` is held, MSB first
 * within each byte (BitTorrent BEP 3), as bytes on peer links (`have` frames) and as base64 of those
 * bytes in coordinator frames ({@link Bitfield}).
 */
import { fromBase64, toBase64 } from "./base64";

/** A chunk bitfield on the coordinator wire: base64 of the bytes. */
export type Bitfield = string;

/** Bit `i` of a bitfield (false past its end). */
export function bitGet(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
}

/** Sets bit `i` of a bitfield; indices past its end are ignored (a fixed-size field never grows). */
export function bitSet(bits: Uint8Array, i: number): void {
  if (i >= 0 && i >> 3 < bits.length) bits[i >> 3]! |= 0x80 >> (i & 7);
}

/** A bitfield of `count` chunks with `held` set (indices outside `[0, count)` ignored). */
export function bitfieldBytes(held: Iterable<number>, count: number): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(count / 8));
  for (const i of held) if (i < count) bitSet(bytes, i);
  return bytes;
}

/**
 * Encodes a set of chunk indices over `count` chunks as a {@link Bitfield}.
 * @example
 * encodeBitfield([0, 1], 8); // "wA=="
 */
export function encodeBitfield(held: Iterable<number>, count: number): Bitfield {
  return toBase64(bitfieldBytes(held, count));
}

/** The bytes of a {@link Bitfield}; invalid base64 yields no bytes (nothing held). */
export function bitfieldToBytes(bits: Bitfield): Uint8Array<ArrayBuffer> {
  return fromBase64(bits) ?? new Uint8Array(0);
}

/** The {@link Bitfield} of raw bitfield bytes. */
export function bytesToBitfield(bytes: Uint8Array): Bitfield {
  return toBase64(bytes);
}

/**
 * Decodes a {@link Bitfield} into the held chunk indices below `count` (extra bits ignored).
 * @example
 * decodeBitfield("wA==", 8); // [0, 1]
 */
export function decodeBitfield(bits: Bitfield, count: number): number[] {
  const bytes = bitfieldToBytes(bits);
  const out: number[] = [];
  for (let i = 0; i < count && i >> 3 < bytes.length; i++) if (bitGet(bytes, i)) out.push(i);
  return out;
}
