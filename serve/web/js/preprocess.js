// A photo -> the model's input tensor, as plantscout.model does it on the service: decode with
// EXIF orientation, no colour management (Pillow applies none), alpha laid on white, JPEGs
// reduced like the service's decoder does for large photos, then preprocess.resize_and_crop
// (shorter side to input_size / crop_fraction with Pillow's bicubic, centre crop) and
// normalize (÷255, − mean, ÷ std, NCHW float32). The card's `preprocessing` gives every number.

import { crop, reduce, resize } from "./pilresize.js";

// Python's round(): halves go to the even neighbour.
function pyRound(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function resizeSide(spec) {
  return spec.resize === "squash"
    ? spec.input_size
    : Math.floor(spec.input_size / spec.crop_fraction);
}

// plantscout.model.preprocess.resize_and_crop
export function resizeAndCrop(image, spec) {
  const size = spec.input_size;
  const filter = spec.interpolation;
  if (spec.resize === "squash") return resize(image, [size, size], filter);
  const { width: w, height: h } = image;
  const side = resizeSide(spec);
  const scale = side / Math.min(w, h);
  const newW = Math.max(size, pyRound(w * scale));
  const newH = Math.max(size, pyRound(h * scale));
  const left = Math.floor((newW - size) / 2);
  const top = Math.floor((newH - size) / 2);
  if (newW * newH <= Math.max(w * h, 4 * side * side)) {
    const resized = resize(image, [newW, newH], filter, null, 3.0);
    return crop(resized, [left, top, left + size, top + size]);
  }
  const sx = newW / w;
  const sy = newH / h;
  const columns = resize(image, [size, h], filter, [left / sx, 0, (left + size) / sx, h]);
  return resize(columns, [size, size], filter, [0, top / sy, size, (top + size) / sy]);
}

// plantscout.model.preprocess.normalize, one image: RGBA bytes -> float32 CHW.
export function normalize(image, spec) {
  const n = image.width * image.height;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(spec.mean[c]);
    const std = Math.fround(spec.std[c]);
    for (let i = 0; i < n; i++) {
      out[c * n + i] = Math.fround(Math.fround(image.data[i * 4 + c] / 255) - mean) / std;
    }
  }
  return out;
}

// The decoder's reduction (plantscout.model.intake + Pillow's JPEG draft): a JPEG whose
// shorter side is at least twice what the model needs is decoded at 1/2, 1/4 or 1/8 scale.
// Browsers cannot decode a JPEG at a reduced scale, so the phone averages blocks of the same
// size instead: the same size of image, nearly the same pixels (benchmarks/RESULTS.md says
// how near). Returns the scale, 1 for anything else.
export function draftScale(format, width, height, spec) {
  const need = resizeSide(spec);
  if (format !== "JPEG" || Math.min(width, height) < 2 * need) return 1;
  const factor = need / Math.min(width, height);
  const rw = Math.ceil(width * factor);
  const rh = Math.ceil(height * factor);
  const scale = Math.min(Math.floor(width / rw), Math.floor(height / rh));
  return [8, 4, 2, 1].find((s) => scale >= s);
}

export function sniffFormat(bytes) {
  const b = new Uint8Array(bytes.slice(0, 12));
  if (b[0] === 0xff && b[1] === 0xd8) return "JPEG";
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "PNG";
  const text = String.fromCharCode(...b);
  if (text.startsWith("RIFF") && text.slice(8, 12) === "WEBP") return "WEBP";
  return null; // HEIC and others: the browser cannot be trusted to decode them like Pillow
}

// Alpha laid on white, with Pillow's paste rounding (plantscout.model.intake._to_rgb).
function onWhite(data) {
  for (let i = 0; i < data.length; i += 4) {
    const a = data[i + 3];
    if (a === 255) continue;
    for (let c = 0; c < 3; c++) {
      const t = 255 * (255 - a) + data[i + c] * a + 128;
      data[i + c] = ((t >> 8) + t) >> 8;
    }
    data[i + 3] = 255;
  }
}

// Decoded, oriented pixels of a photo (RGBA), without the browser's colour management.
export async function decode(blob) {
  const bitmap = await createImageBitmap(blob, {
    imageOrientation: "from-image",
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    const pixels = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    const data = new Uint8Array(pixels.data.buffer);
    onWhite(data);
    return { width: bitmap.width, height: bitmap.height, data };
  } finally {
    bitmap.close();
  }
}

// A photo (Blob) -> {tensor, image: {width, height, format, sha256}, minSide, crop}.
export async function prepare(blob, spec) {
  const bytes = await blob.arrayBuffer();
  const format = sniffFormat(bytes);
  if (!format) throw new Error("unsupported format for on-device scoring");
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const sha256 = [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
  let image = await decode(new Blob([bytes], { type: blob.type }));
  const { width, height } = image;
  const scale = draftScale(format, width, height, spec);
  if (scale > 1) image = reduce(image, [scale, scale]);
  const cropped = resizeAndCrop(image, spec);
  return {
    tensor: normalize(cropped, spec),
    crop: cropped,
    image: { sha256, width, height, format },
    minSide: Math.min(width, height),
    drafted: scale > 1,
  };
}
