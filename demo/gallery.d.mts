/** Types of demo/gallery.mjs (the demo page's generated image set). */
export const GALLERY: { count: number; width: number; height: number };
/** Origin path of image `n` (0-based), e.g. `/assets/gallery/03.bmp`. */
export function galleryPath(n: number): string;
/** Image number of an origin path, or -1. */
export function galleryIndex(path: string): number;
/** A black 24-bit bottom-up BMP of w×h (54-byte header) and its padded row length. */
export function bmpCanvas(w: number, h: number): { bytes: Uint8Array; row: number };
/** Image `n` as a 24-bit BMP file. */
export function galleryImage(n: number): Uint8Array;
/** Image `n`, generated once per process. */
export function cachedGalleryImage(n: number): Uint8Array;
/** The set's index: path (relative, no leading slash), size and SHA-256 of every image. */
export function galleryIndexJson(): { width: number; height: number; items: { path: string; size: number; sha256: string }[] };
