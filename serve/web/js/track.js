// The patrol's GPS track, recorded while the page is open and the officer has switched it on.
// Fixes go to IndexedDB as they arrive (an "open" chunk), so closing the page or losing power
// loses at most the fix being written. A chunk is sealed every CHUNK_POINTS fixes or
// CHUNK_MS, and when recording stops; sealed chunks are sent like inspections — each with an
// id made here, removed only when the service has acknowledged it, retried with backoff when
// the network is down. The service answers a re-sent chunk with the one it already has.

import { ApiError, NetworkError, api, getKey } from "./api.js";
import { t } from "./i18n.js";
import * as store from "./store.js";

const CHUNK_POINTS = 60;
const CHUNK_MS = 5 * 60 * 1000;
const MIN_GAP_MS = 5000; // a fix this soon after the last one is kept only if it moved …
const MIN_MOVE_M = 10; // … at least this far
const RECORDING = "plantscout.track.recording";
const RETRY_MIN_MS = 3000;
const RETRY_MAX_MS = 60000;

const $ = (id) => document.getElementById(id);
let watchId = null;
let openChunk = null;
let sending = null;
let retryDelay = RETRY_MIN_MS;
let retryTimer = null;
let lastError = null;

function metres(a, b) {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function isRecording() {
  return watchId !== null;
}

async function currentOpen() {
  if (!openChunk) {
    const chunks = await store.listTracks();
    openChunk = chunks.find((c) => c.status === "open") || null;
  }
  if (!openChunk) {
    openChunk = {
      id: store.newId(),
      created_at: new Date().toISOString(),
      status: "open",
      points: [],
    };
  }
  return openChunk;
}

async function seal() {
  const chunk = await currentOpen();
  openChunk = null;
  if (chunk.points.length) await store.putTrack({ ...chunk, status: "waiting" });
  else await store.deleteTrack(chunk.id);
}

async function onFix(pos) {
  const chunk = await currentOpen();
  const fix = {
    lat: pos.coords.latitude,
    lon: pos.coords.longitude,
    at: new Date(pos.timestamp).toISOString(),
    accuracy_m: Number.isFinite(pos.coords.accuracy) ? pos.coords.accuracy : null,
  };
  const last = chunk.points[chunk.points.length - 1];
  if (last) {
    const gap = Date.parse(fix.at) - Date.parse(last.at);
    if (gap < 0) return; // the service wants fixes in time order
    if (gap < MIN_GAP_MS && metres(last, fix) < MIN_MOVE_M) return;
  }
  chunk.points.push(fix);
  await store.putTrack(chunk);
  if (chunk.points.length >= CHUNK_POINTS || Date.now() - Date.parse(chunk.created_at) > CHUNK_MS) {
    await seal();
    kick();
  }
  render();
}

export async function start() {
  if (watchId !== null || !("geolocation" in navigator)) return;
  localStorage.setItem(RECORDING, "1");
  watchId = navigator.geolocation.watchPosition(
    (pos) => {
      lastError = null;
      onFix(pos);
    },
    (err) => {
      lastError = err.message || String(err.code);
      render();
    },
    { enableHighAccuracy: true, maximumAge: 0, timeout: 60000 },
  );
  render();
}

export async function stop() {
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
  localStorage.removeItem(RECORDING);
  await seal();
  render();
  kick();
}

async function sendAll() {
  const chunks = (await store.listTracks()).filter((c) => c.status === "waiting");
  for (const chunk of chunks) {
    try {
      await api.post("/v1/tracks", { id: chunk.id, points: chunk.points }, { timeoutMs: 60000 });
      await store.deleteTrack(chunk.id);
      lastError = null;
    } catch (err) {
      // A refused key is fixed in Settings, not by dropping the track: keep it waiting.
      if (err instanceof ApiError && !err.retryable && err.status !== 401) {
        await store.putTrack({ ...chunk, status: "failed", error: err.message });
        continue;
      }
      lastError = err instanceof NetworkError ? t("offline") : err.message;
      return false;
    }
  }
  return true;
}

// Send what is waiting now; while something is left, again later with backoff.
export async function kick() {
  clearTimeout(retryTimer);
  if (!getKey()) return render();
  if (!sending) {
    sending = sendAll().finally(() => {
      sending = null;
    });
  }
  const ok = await sending;
  retryDelay = ok ? RETRY_MIN_MS : Math.min(retryDelay * 2, RETRY_MAX_MS);
  const left = (await store.listTracks()).filter((c) => c.status === "waiting").length;
  if (left) retryTimer = setTimeout(kick, retryDelay);
  render();
}

export async function render() {
  const button = $("track-toggle");
  if (!button) return;
  const chunks = await store.listTracks();
  const waiting = chunks.filter((c) => c.status === "waiting").length;
  const failed = chunks.filter((c) => c.status === "failed");
  const points = openChunk ? openChunk.points.length : 0;
  button.textContent = isRecording() ? t("track_stop") : t("track_start");
  button.setAttribute("aria-pressed", String(isRecording()));
  button.classList.toggle("primary", isRecording());
  const status = $("track-status");
  const parts = [];
  if (isRecording()) parts.push(t("track_recording", { n: points }));
  if (waiting) parts.push(t("track_waiting", { n: waiting }));
  if (failed.length) parts.push(t("track_failed", { n: failed.length, msg: failed[0].error || "" }));
  if (lastError) parts.push(lastError);
  status.textContent = parts.join(" · ") || t("track_hint");
  status.dataset.waiting = String(waiting);
  status.dataset.points = String(points);
}

export function initTrack() {
  const button = $("track-toggle");
  if (!button) return;
  button.addEventListener("click", () => (isRecording() ? stop() : start()));
  window.addEventListener("online", () => kick());
  // Recording was on when the page was last closed: pick up where it left off.
  if (localStorage.getItem(RECORDING) === "1") start();
  kick();
}
