// Small helpers of the public pages: reduced photo copies for the check, distances and
// directions for the map pin, and the tip secret made on the phone.

export const PREVIEW_SIDE = 1600;

// The check looks at a few hundred pixels; on a weak signal a 10 MB photo would take minutes.
// A report sends the untouched original (evidence, EXIF GPS).
export async function reduced(blob) {
  try {
    const bitmap = await createImageBitmap(blob);
    const scale = PREVIEW_SIDE / Math.max(bitmap.width, bitmap.height);
    if (scale >= 1) {
      bitmap.close();
      return blob;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const copy = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    return copy && copy.size < blob.size ? copy : blob;
  } catch {
    return blob; // a format the browser cannot draw (e.g. HEIC): the server can
  }
}

const RAD = Math.PI / 180;

export function distance(a, b) {
  const r = 6371008.8;
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
}

// One of n, ne, e, se, s, sw, w, nw: where b lies seen from a.
export function direction(a, b) {
  const y = Math.sin((b.lon - a.lon) * RAD) * Math.cos(b.lat * RAD);
  const x =
    Math.cos(a.lat * RAD) * Math.sin(b.lat * RAD) -
    Math.sin(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.cos((b.lon - a.lon) * RAD);
  const bearing = (Math.atan2(y, x) / RAD + 360) % 360;
  return ["n", "ne", "e", "se", "s", "sw", "w", "nw"][Math.round(bearing / 45) % 8];
}

// Crockford base 32 without I, L, O, U: readable aloud, typeable on a phone.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export function newSecret(length = 12) {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return [...bytes].map((b) => ALPHABET[b & 31]).join("");
}

export function grouped(text) {
  return (text || "").replace(/(.{4})(?=.)/g, "$1-");
}

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
