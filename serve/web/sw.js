// Service worker: keeps the app shell (this page, its scripts, styles, Leaflet, icons, and the
// species taxonomy) on the phone so the page opens with no signal. Network first, so a phone
// that is online always gets the current page; the cache answers when the network fails or
// is too slow. API calls other than the taxonomy and the served model are never cached or
// intercepted: the page's IndexedDB queue owns offline filing.
//
// On-device scoring: onnxruntime-web (versioned files, cache first) and the served bundle.
// The model's card is network first (it says which bundle is served now); the network and
// the decision graph are fetched by sha256 (`?sha256=` in the URL), so a cached copy is never
// stale: cache first, and when a new sha256 is stored the old one is deleted.

const CACHE = "plantscout-shell-v4";
const ORT_CACHE = "plantscout-ort-1.31.1";
const MODEL_CACHE = "plantscout-model";
const KEEP = [CACHE, ORT_CACHE, MODEL_CACHE];
const SLOW_MS = 4000;
const SHELL = [
  "./",
  "index.html",
  "app.css",
  "manifest.webmanifest",
  "js/app.js",
  "js/api.js",
  "js/capture.js",
  "js/common.js",
  "js/drafts.js",
  "js/i18n.js",
  "js/layers.js",
  "js/maps.js",
  "js/notices.js",
  "js/ondevice.js",
  "js/pilresize.js",
  "js/preprocess.js",
  "js/queue.js",
  "js/records.js",
  "js/review.js",
  "js/setup.js",
  "js/store.js",
  "js/track.js",
  "js/verdict.js",
  "js/check.js",
  "js/learn.js",
  "js/public-api.js",
  "js/public-i18n.js",
  "js/public-util.js",
  "js/tipqueue.js",
  "js/tips.js",
  "public.css",
  "tips.html",
  "icons/icon.svg",
  "icons/icon-192.png",
  "icons/icon-512.png",
  "vendor/leaflet/leaflet.js",
  "vendor/leaflet/leaflet.css",
  "vendor/leaflet/images/marker-icon.png",
  "vendor/leaflet/images/marker-icon-2x.png",
  "vendor/leaflet/images/marker-shadow.png",
  "vendor/leaflet/images/layers.png",
  "vendor/leaflet/images/layers-2x.png",
];
const VENDOR_FILES = [
  "vendor/onnxruntime-web/ort.wasm.bundle.min.mjs",
  "vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm",
];
const DATA = ["v1/taxonomy"]; // cached when reachable; the shell does not depend on it
const MODEL_CARD = "v1/model/card";
const MODEL_FILES = ["v1/model/onnx", "v1/model/decision"];
// The public pages (issue 15) can be switched off on the server: cached when served, and the
// shell above never depends on them.
const PUBLIC = ["check", "learn", "v1/public/learn"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) =>
        cache
          .addAll(SHELL)
          .then(() => cache.addAll(DATA).catch(() => undefined))
          .then(() => Promise.all(PUBLIC.map((p) => cache.add(p).catch(() => undefined)))),
      )
      // the 15 MB runtime is wanted offline, but a failure must not stop the shell installing
      .then(() => caches.open(ORT_CACHE))
      .then((cache) => cache.addAll(VENDOR_FILES).catch(() => undefined))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((k) => !KEEP.includes(k)).map((k) => caches.delete(k))),
      )
      .then(() => self.clients.claim()),
  );
});

function cached(request) {
  return caches.open(CACHE).then((cache) => cache.match(request, { ignoreSearch: true }));
}

async function networkFirst(event, cacheName = CACHE) {
  const request = event.request;
  const network = fetch(request).then(async (response) => {
    if (response.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(request, response.clone());
    }
    return response;
  });
  event.waitUntil(network.catch(() => undefined));
  let timer;
  const slow = new Promise((resolve) => {
    timer = setTimeout(resolve, SLOW_MS);
  });
  const fromCache = () =>
    caches.open(cacheName).then((cache) => cache.match(request, { ignoreSearch: true }));
  try {
    const first = await Promise.race([network, slow]);
    if (first) return first;
    return (await fromCache()) || (await network);
  } catch (err) {
    const hit = (await fromCache()) || (request.mode === "navigate" ? await cached("./") : null);
    if (hit) return hit;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

// Immutable files: from the cache when there, else fetched once and kept. For the model's
// files (named by sha256) the copies of other hashes under the same path are dropped.
async function cacheFirst(request, cacheName, { prune = false } = {}) {
  const cache = await caches.open(cacheName);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.status === 200) {
    await cache.put(request, response.clone());
    if (prune) {
      const path = new URL(request.url).pathname;
      for (const old of await cache.keys()) {
        if (new URL(old.url).pathname === path && old.url !== request.url) await cache.delete(old);
      }
    }
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname.slice(new URL(self.registration.scope).pathname.length);
  if (VENDOR_FILES.includes(path)) {
    event.respondWith(cacheFirst(request, ORT_CACHE));
    return;
  }
  if (path === MODEL_CARD) {
    event.respondWith(networkFirst(event, MODEL_CACHE));
    return;
  }
  if (MODEL_FILES.includes(path) && url.searchParams.has("sha256")) {
    event.respondWith(cacheFirst(request, MODEL_CACHE, { prune: true }));
    return;
  }
  const shell =
    request.mode === "navigate" ||
    SHELL.includes(path) ||
    DATA.includes(path) ||
    PUBLIC.includes(path);
  if (!shell) return; // the API, photos, docs, metrics: straight to the network
  event.respondWith(networkFirst(event));
});
