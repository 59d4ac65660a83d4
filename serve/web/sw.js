// Service worker: keeps the app shell (this page, its scripts, styles, Leaflet, icons, and the
// species taxonomy) on the phone so the page opens with no signal. Network first, so a phone
// that is online always gets the current page; the cache answers when the network fails or
// is too slow. API calls other than the taxonomy are never cached or intercepted: the page's
// IndexedDB queue owns offline filing.

const CACHE = "plantscout-shell-v3";
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
  "js/i18n.js",
  "js/layers.js",
  "js/queue.js",
  "js/review.js",
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
const DATA = ["v1/taxonomy"]; // cached when reachable; the shell does not depend on it
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
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function cached(request) {
  return caches.open(CACHE).then((cache) => cache.match(request, { ignoreSearch: true }));
}

async function networkFirst(event) {
  const request = event.request;
  const network = fetch(request).then(async (response) => {
    if (response.ok) {
      const cache = await caches.open(CACHE);
      await cache.put(request, response.clone());
    }
    return response;
  });
  event.waitUntil(network.catch(() => undefined));
  let timer;
  const slow = new Promise((resolve) => {
    timer = setTimeout(resolve, SLOW_MS);
  });
  try {
    const first = await Promise.race([network, slow]);
    if (first) return first;
    return (await cached(request)) || (await network);
  } catch (err) {
    const hit =
      (await cached(request)) || (request.mode === "navigate" ? await cached("./") : null);
    if (hit) return hit;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname.slice(new URL(self.registration.scope).pathname.length);
  const shell =
    request.mode === "navigate" ||
    SHELL.includes(path) ||
    DATA.includes(path) ||
    PUBLIC.includes(path);
  if (!shell) return; // the API, photos, docs, metrics: straight to the network
  event.respondWith(networkFirst(event));
});
