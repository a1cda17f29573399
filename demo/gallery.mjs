/**
 * The demo's image set: procedurally generated pictures, deterministic (bytes are a pure function of
 * the image number), large enough together (12 × 2.6 MiB ≈ 33 MB) that where the bytes come from
 * matters. Uncompressed 24-bit BMP on purpose: no encoder dependency, every browser decodes it in
 * `<img>`, and its size is exactly what the page shows it moving.
 */
import { createHash } from "node:crypto";

/** Number of images, and their size in pixels. */
export const GALLERY = { count: 12, width: 1280, height: 720 };

/** Origin path of image `n` (0-based). */
export const galleryPath = (n) => `/assets/gallery/${String(n).padStart(2, "0")}.bmp`;

/** Image number of an origin path, or -1. */
export function galleryIndex(path) {
  const m = /^\/assets\/gallery\/(\d\d)\.bmp$/.exec(path);
  const n = m ? Number(m[1]) : -1;
  return n >= 0 && n < GALLERY.count ? n : -1;
}

// Small deterministic PRNG (mulberry32) for the per-image parameters.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A black 24-bit BMP of w×h: 54-byte header (BITMAPINFOHEADER, 72 dpi), pixel rows bottom-up in BGR,
 * each padded to 4 bytes. Also used by the e2e test origin.
 * @example
 * const { bytes, row } = bmpCanvas(2, 2); // 70 bytes, row = 8
 */
export function bmpCanvas(w, h) {
  const row = Math.ceil((w * 3) / 4) * 4;
  const bytes = new Uint8Array(54 + row * h);
  const v = new DataView(bytes.buffer);
  bytes[0] = 0x42; bytes[1] = 0x4d; // "BM"
  v.setUint32(2, bytes.length, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, w, true);
  v.setInt32(22, h, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  v.setUint32(34, row * h, true);
  v.setInt32(38, 2835, true); // 72 dpi
  v.setInt32(42, 2835, true);
  return { bytes, row };
}

/**
 * Image `n` as a BMP file (54-byte header, bottom-up rows, BGR): a plasma of four sine fields
 * mapped through a per-image cosine palette, with a soft vignette. ~30 ms per image.
 * @example
 * const bmp = galleryImage(0); // Uint8Array, 2,764,854 bytes
 */
export function galleryImage(n) {
  const { width: w, height: h } = GALLERY;
  const { bytes: out, row } = bmpCanvas(w, h);

  const r = rng(0x5eed + n * 7919);
  const f = [0.004 + r() * 0.01, 0.004 + r() * 0.01, 0.002 + r() * 0.008, 0.01 + r() * 0.02];
  const ph = [r() * 6.28, r() * 6.28, r() * 6.28];
  const cx = w * (0.2 + r() * 0.6), cy = h * (0.2 + r() * 0.6);
  // Cosine palette (Inigo Quilez): colour(t) = a + b·cos(2π(c·t + d)).
  const d = [r(), r(), r()];
  const c = 0.6 + r() * 0.8;
  for (let y = 0; y < h; y++) {
    const base = 54 + (h - 1 - y) * row; // BMP rows are stored bottom-up
    for (let x = 0; x < w; x++) {
      const dx = x - cx, dy = y - cy;
      const s =
        Math.sin(x * f[0] + ph[0]) +
        Math.sin(y * f[1] + ph[1]) +
        Math.sin((x + y) * f[2] + ph[2]) +
        Math.sin(Math.sqrt(dx * dx + dy * dy) * f[3]);
      const t = s / 8 + 0.5;
      const nx = x / w - 0.5, ny = y / h - 0.5;
      const vig = 1 - 0.9 * (nx * nx + ny * ny);
      const o = base + x * 3;
      out[o + 2] = 255 * vig * (0.5 + 0.5 * Math.cos(6.2832 * (c * t + d[0]))); // R
      out[o + 1] = 255 * vig * (0.5 + 0.5 * Math.cos(6.2832 * (c * t + d[1]))); // G
      out[o] = 255 * vig * (0.5 + 0.5 * Math.cos(6.2832 * (c * t + d[2]))); // B
    }
  }
  return out;
}

const cache = new Map();

/** Image `n`, generated once per process (33 MB for the whole set). */
export function cachedGalleryImage(n) {
  let b = cache.get(n);
  if (!b) cache.set(n, (b = galleryImage(n)));
  return b;
}

/**
 * The set's index as the page reads it: path, size and SHA-256 of every image, so the page can show
 * that what it assembled from peers is byte-identical to what the origin serves.
 */
let indexMemo = null;
export function galleryIndexJson() {
  if (indexMemo) return indexMemo;
  const items = [];
  for (let n = 0; n < GALLERY.count; n++) {
    const b = cachedGalleryImage(n);
    items.push({ path: galleryPath(n).slice(1), size: b.length, sha256: createHash("sha256").update(b).digest("hex") });
  }
  return (indexMemo = { width: GALLERY.width, height: GALLERY.height, items });
}
