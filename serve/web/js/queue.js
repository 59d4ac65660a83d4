// The offline queue. Every inspection is written to IndexedDB *before* it is sent, and leaves
// the queue only when the server has acknowledged it. The record's id is generated on the
// device, and the service treats a repeated id as the same record, so a send whose answer was
// lost (a dropped connection after the server committed) is safe to repeat: it is never filed
// twice. Only one send runs at a time in a page (and, where Web Locks exist, across tabs).

import { ApiError, NetworkError, api } from "./api.js";
import * as store from "./store.js";

const listeners = new Set();
const sentListeners = new Set();
let running = null;
let again = false;
let networkDown = false; // the last send could not reach the server

export function isNetworkDown() {
  return networkDown;
}

export function onChange(fn) {
  listeners.add(fn);
}

// fn(record, inspection, {retried}) after the service has acknowledged a record; `retried`
// when it waited in the queue (the inspector is no longer looking at the filed screen).
export function onSent(fn) {
  sentListeners.add(fn);
}

// A send that failed without an answer: was it the network, or only this one answer? A quick
// look at the service's liveness endpoint tells them apart, so one lost answer on a working
// connection is not reported as "no network".
async function serviceReachable() {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const response = await fetch("/healthz", { cache: "no-store", signal: controller.signal });
    return response.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function changed() {
  for (const fn of listeners) fn();
}

export async function enqueue(record) {
  await store.putQueued({ ...record, status: "waiting", error: null, attempts: 0 });
  changed();
}

function formFor(record) {
  const form = new FormData();
  form.append("id", record.id);
  for (const [name, value] of Object.entries(record.meta)) {
    if (value !== null && value !== undefined && value !== "") form.append(name, String(value));
  }
  record.photos.forEach((photo, i) => {
    const blob = new Blob([photo.data], { type: photo.type || "image/jpeg" });
    form.append("photos", blob, photo.name || `photo-${i + 1}.jpg`);
  });
  return form;
}

// Send one record; resolves with the server's inspection, or throws.
async function sendOne(record) {
  await store.putQueued({ ...record, status: "sending", attempts: (record.attempts || 0) + 1 });
  changed();
  return api.post("/v1/inspections", formFor(record), { timeoutMs: 180000 });
}

// What the phone keeps of a sent record for "my records": the service's verdict, what the
// phone's own model said, small thumbnails and where it was.
function summary(record, inspection) {
  return {
    created_at: record.created_at,
    sent_at: new Date().toISOString(),
    verdict: inspection.verdict,
    photos: record.photos.length,
    site_type: record.meta.site_type,
    unit: inspection.unit,
    lat: record.meta.lat,
    lon: record.meta.lon,
    device_verdicts: record.photos.map((p) => (p.local ? p.local.verdict : null)),
    server_verdicts: (inspection.photos || []).map((p) => p.verdict),
    thumbs: record.photos.map((p) => p.thumb || null),
  };
}

async function run(includeFailed, results) {
  const queued = await store.listQueued();
  for (const record of queued) {
    if (record.status === "failed" && !includeFailed) continue;
    try {
      const retried = (record.attempts || 0) > 0;
      const inspection = await sendOne(record);
      networkDown = false;
      await store.markSent(record.id, summary(record, inspection));
      results.set(record.id, { ok: true, inspection });
      for (const fn of sentListeners) fn(record, inspection, { retried });
    } catch (err) {
      const fresh = (await store.getQueued(record.id)) || record;
      if (err instanceof ApiError && !err.retryable) {
        await store.putQueued({ ...fresh, status: "failed", error: err.message, code: err.code });
        results.set(record.id, { ok: false, error: err, final: true });
        continue;
      }
      const lost = err instanceof NetworkError && (await serviceReachable());
      networkDown = err instanceof NetworkError && !lost;
      const status = networkDown ? "waiting" : lost ? "lost" : "retry";
      await store.putQueued({ ...fresh, status, error: err.message, code: err.code || null });
      results.set(record.id, { ok: false, error: err, final: false, lost });
      break; // the network or the server is down: the rest would fail the same way
    } finally {
      changed();
    }
  }
}

// Send everything waiting. Concurrent callers share the one run (and ask for one more pass).
// Returns a Map id -> {ok, inspection | error} for the records tried.
let againIncludeFailed = false;

export function flush({ includeFailed = false } = {}) {
  if (running) {
    again = true;
    againIncludeFailed = againIncludeFailed || includeFailed;
    return running;
  }
  const results = new Map();
  const once = (withFailed) =>
    navigator.locks
      ? navigator.locks.request("plantscout-queue", () => run(withFailed, results))
      : run(withFailed, results);
  running = (async () => {
    try {
      let withFailed = includeFailed;
      do {
        again = false;
        againIncludeFailed = false;
        await once(withFailed);
        withFailed = againIncludeFailed;
      } while (again);
    } finally {
      running = null;
    }
    return results;
  })();
  return running;
}

// Records the automatic sender will try again (not those the server refused).
export async function waitingCount() {
  return (await store.listQueued()).filter((r) => r.status !== "failed").length;
}

// Flush now, and while records are left waiting, again later with backoff. The browser's
// online event is a hint only (phones report "online" on a dead connection, and miss the
// event after a reload while offline), so the timer is what guarantees a record goes out.
const RETRY_MIN_MS = 3000;
const RETRY_MAX_MS = 60000;
let retryDelay = RETRY_MIN_MS;
let retryTimer = null;

export async function kick(options = {}) {
  clearTimeout(retryTimer);
  const results = await flush(options);
  const stuck = [...results.values()].some((r) => !r.ok && !r.final);
  retryDelay = stuck ? Math.min(retryDelay * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
  clearTimeout(retryTimer);
  if (await waitingCount())
    retryTimer = setTimeout(() => kick(), stuck ? retryDelay : RETRY_MIN_MS);
  return results;
}

export { store };
