// Pillow's resampling, bit for bit, so a photo scored on the phone gets the same model input
// as on the service (plantscout.model.preprocess resizes with Pillow). A canvas resize would
// not do: browsers smooth with their own filters, and a grey level here and there moves the
// model's probabilities. This is a port of Pillow 13's libImaging/Resample.c (8-bit, 3-band
// path: fixed-point coefficients, PRECISION_BITS = 22, separable passes in Pillow's order)
// and libImaging/Reduce.c (box reduction with its rounding), plus the Python-level logic of
// Image.resize (reducing_gap) and Image.reduce. Images are {width, height, data} with data an
// RGBA Uint8Array (4 bytes a pixel, like Pillow's RGB storage; the 4th byte is ignored).
// tests/serve/web/test_ondevice_page.py compares the result with Pillow on real photos.

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);

function bicubic(x) {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function bilinear(x) {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

function box(x) {
  return x > -0.5 && x <= 0.5 ? 1 : 0;
}

function hamming(x) {
  if (x < 0) x = -x;
  if (x === 0) return 1;
  if (x >= 1) return 0;
  x *= Math.PI;
  return (Math.sin(x) / x) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(x));
}

function sinc(x) {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

function lanczos(x) {
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

// name -> [filter, support]; Python's _filters_support is the same table.
export const FILTERS = {
  box: [box, 0.5],
  bilinear: [bilinear, 1.0],
  hamming: [hamming, 1.0],
  bicubic: [bicubic, 2.0],
  lanczos: [lanczos, 3.0],
};

function precomputeCoeffs(inSize, in0, in1, outSize, [filter, support0]) {
  // Pillow takes the box as C floats.
  in0 = Math.fround(in0);
  in1 = Math.fround(in1);
  const scale = Math.fround(in1 - in0) / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = support0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const kk = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  const inv = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let ww = 0;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = filter((x + xmin - center + 0.5) * inv);
      kk[base + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) kk[base + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  // normalize_coeffs_8bpc: to fixed point, rounding away from zero, truncating like C
  const fixed = new Int32Array(kk.length);
  for (let i = 0; i < kk.length; i++) {
    const v = kk[i] * (1 << PRECISION_BITS);
    fixed[i] = Math.trunc(kk[i] < 0 ? -0.5 + v : 0.5 + v);
  }
  return { ksize, bounds, kk: fixed };
}

function clip8(ss) {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function horizontal(src, outW, rows, offset, { ksize, bounds, kk }) {
  const out = new Uint8Array(outW * rows * 4);
  const inW = src.width;
  const data = src.data;
  for (let yy = 0; yy < rows; yy++) {
    const line = (yy + offset) * inW * 4;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2];
      const xmax = bounds[xx * 2 + 1];
      const k = xx * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let x = 0; x < xmax; x++) {
        const p = line + (x + xmin) * 4;
        const w = kk[k + x];
        s0 += data[p] * w;
        s1 += data[p + 1] * w;
        s2 += data[p + 2] * w;
      }
      const o = (yy * outW + xx) * 4;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return { width: outW, height: rows, data: out };
}

function vertical(src, outH, { ksize, bounds, kk }) {
  const w = src.width;
  const out = new Uint8Array(w * outH * 4);
  const data = src.data;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2];
    const ymax = bounds[yy * 2 + 1];
    const k = yy * ksize;
    for (let xx = 0; xx < w; xx++) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let y = 0; y < ymax; y++) {
        const p = ((y + ymin) * w + xx) * 4;
        const c = kk[k + y];
        s0 += data[p] * c;
        s1 += data[p + 1] * c;
        s2 += data[p + 2] * c;
      }
      const o = (yy * w + xx) * 4;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return { width: w, height: outH, data: out };
}

// ImagingResample: box = [x0, y0, x1, y1] in source pixels (floats).
function resample(src, xsize, ysize, filter, box) {
  const needH = xsize !== src.width || box[0] !== 0 || box[2] !== xsize;
  const needV = ysize !== src.height || box[1] !== 0 || box[3] !== ysize;
  // Pillow runs the vertical pass first when the height shrinks far more than the width.
  const dy = src.height - ysize;
  const horizontalFirst = !(dy > 0 && dy > (src.width - xsize) * 2);
  let vert = null;
  let horiz = null;
  let yFirst = 0;
  let yLast = 0;
  if ((needH && horizontalFirst) || needV) {
    vert = precomputeCoeffs(src.height, box[1], box[3], ysize, filter);
  }
  if (needH) {
    if (horizontalFirst) {
      yFirst = vert.bounds[0];
      yLast = vert.bounds[ysize * 2 - 2] + vert.bounds[ysize * 2 - 1];
      if (yFirst !== 0) for (let i = 0; i < ysize; i++) vert.bounds[i * 2] -= yFirst;
    }
    horiz = precomputeCoeffs(src.width, box[0], box[2], xsize, filter);
  }
  let image = src;
  if (horizontalFirst) {
    if (needH) image = horizontal(image, xsize, yLast - yFirst, yFirst, horiz);
    if (needV) image = vertical(image, ysize, vert);
  } else {
    if (needV) image = vertical(image, ysize, vert);
    if (needH) image = horizontal(image, xsize, ysize, 0, horiz);
  }
  return image === src ? copy(src) : image;
}

function copy(src) {
  return { width: src.width, height: src.height, data: src.data.slice() };
}

// division_UINT32: a float division in C, truncated.
function divisionUint32(divider, resultBits) {
  return Math.trunc(Math.fround(4294967296 / Math.fround((1 << resultBits) * divider)));
}

// ImagingReduce + ImagingReduceCorners; box = [x0, y0, x1, y1] in integer pixels. Every output
// pixel is (sum + n/2) * multiplier >> 24 over its block of n source pixels; the last column
// and row take the partial blocks. Streamed row by row: a 12 MP photo is one pass.
function reduceBox(src, xscale, yscale, [bx0, by0, bx1, by1]) {
  const bw = bx1 - bx0;
  const bh = by1 - by0;
  const outW = Math.trunc((bw - 1) / xscale) + 1;
  const outH = Math.trunc((bh - 1) / yscale) + 1;
  const out = new Uint8Array(outW * outH * 4);
  const data = src.data;
  const acc = new Float64Array(outW * 3);
  const factors = new Map();
  const factor = (n) => {
    if (!factors.has(n)) factors.set(n, [divisionUint32(n, 8), Math.trunc(n / 2)]);
    return factors.get(n);
  };
  for (let y = 0; y < outH; y++) {
    const y0 = by0 + y * yscale;
    const rows = Math.min(yscale, by0 + bh - y0);
    acc.fill(0);
    for (let yy = y0; yy < y0 + rows; yy++) {
      let p = (yy * src.width + bx0) * 4;
      for (let x = 0; x < outW; x++) {
        const cols = Math.min(xscale, bw - x * xscale);
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        for (let k = 0; k < cols; k++, p += 4) {
          s0 += data[p];
          s1 += data[p + 1];
          s2 += data[p + 2];
        }
        acc[x * 3] += s0;
        acc[x * 3 + 1] += s1;
        acc[x * 3 + 2] += s2;
      }
    }
    for (let x = 0; x < outW; x++) {
      const cols = Math.min(xscale, bw - x * xscale);
      const [multiplier, amend] = factor(cols * rows);
      const o = (y * outW + x) * 4;
      for (let c = 0; c < 3; c++) {
        out[o + c] = Math.floor(((acc[x * 3 + c] + amend) * multiplier) / 16777216);
      }
    }
  }
  return { width: outW, height: outH, data: out };
}

// Image.reduce(factor, box)
export function reduce(src, [fx, fy], box = null) {
  const b = box || [0, 0, src.width, src.height];
  if (fx === 1 && fy === 1) return crop(src, b);
  return reduceBox(src, fx, fy, b);
}

export function crop(src, [x0, y0, x1, y1]) {
  const w = x1 - x0;
  const h = y1 - y0;
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    const from = ((y + y0) * src.width + x0) * 4;
    out.set(src.data.subarray(from, from + w * 4), y * w * 4);
  }
  return { width: w, height: h, data: out };
}

// Image.resize(size, resample, box, reducing_gap)
export function resize(src, [w, h], filterName, box = null, reducingGap = null) {
  const filter = FILTERS[filterName];
  if (!filter) throw new Error(`resampling filter ${filterName} is not supported on the phone`);
  let b = box || [0, 0, src.width, src.height];
  if (src.width === w && src.height === h && b[0] === 0 && b[1] === 0 && b[2] === w && b[3] === h) {
    return copy(src);
  }
  let image = src;
  if (reducingGap !== null) {
    const fx = Math.trunc((b[2] - b[0]) / w / reducingGap) || 1;
    const fy = Math.trunc((b[3] - b[1]) / h / reducingGap) || 1;
    if (fx > 1 || fy > 1) {
      const support = filter[1] - 0.5; // Image._get_safe_box
      const sx = ((b[2] - b[0]) / w) * support;
      const sy = ((b[3] - b[1]) / h) * support;
      const safe = [
        Math.max(0, Math.trunc(b[0] - sx)),
        Math.max(0, Math.trunc(b[1] - sy)),
        Math.min(src.width, Math.ceil(b[2] + sx)),
        Math.min(src.height, Math.ceil(b[3] + sy)),
      ];
      image = reduce(image, [fx, fy], safe);
      b = [
        (b[0] - safe[0]) / fx,
        (b[1] - safe[1]) / fy,
        (b[2] - safe[0]) / fx,
        (b[3] - safe[1]) / fy,
      ];
    }
  }
  return resample(image, w, h, filter, b);
}
