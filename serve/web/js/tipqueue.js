// The phone's own list of tip-offs, and the queue that sends them.
//
// A report is written to IndexedDB (its own database, apart from the field page's) *before*
// it is sent, with an id and a secret made on the phone, so the tipster can write the secret
// down even with no signal. It is sent when the network allows (at once, on the online event,
// and by a retry timer from 3 s up to 1 min); the service answers a repeated id with the tip
// already received, so a send whose answer was lost is never filed twice. Once acknowledged,
// the photos are dropped from the phone and the code is kept beside the secret, until the
// tipster removes them.

import { ApiError, NetworkError } from "./api.js";
import { RateLimited, publicApi } from "./public-api.js";

const DB_NAME = "plantscout-public";
const DB_VERSION = 1;
const STORE = "tips";
let dbPromise = null;
const listeners = new Set();

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STORE))
          req.result.createObjectStore(STORE, { keyPath: "id" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

async function put(record) {
  const db = await open();
  const tx = db.transaction(STORE, "readwrite");
  tx.objectStore(STORE).put(record);
  await done(tx);
}

export async function get(id) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const req = db.transaction(STORE, "readonly").objectStore(STORE).get(id);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function list() {
  const db = await open();
  const rows = await new Promise((resolve, reject) => {
    const req = db.transaction(STORE, "readonly").objectStore(STORE).getAll();
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return rows.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
}

export async function forget(id) {
  const db = await open();
  const tx = db.transaction(STORE, "readwrite");
  tx.objectStore(STORE).delete(id);
  await done(tx);
  changed();
}

export function onChange(fn) {
  listeners.add(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

// record: {id, secret, created_at, fields: {...}, photos: [{name, type, data: ArrayBuffer}]}
export async function enqueue(record) {
  await put({ ...record, status: "waiting", error: null, code: null });
  changed();
}

function formFor(record) {
  const form = new FormData();
  form.append("id", record.id);
  form.append("secret", record.secret);
  for (const [name, value] of Object.entries(record.fields)) {
    if (value !== null && value !== undefined && value !== "") form.append(name, String(value));
  }
  record.photos.forEach((photo, i) => {
    form.append("photos", new Blob([photo.data], { type: photo.type }), photo.name || `${i}.jpg`);
  });
  return form;
}

let running = null;
let networkDown = false;

export function isNetworkDown() {
  return networkDown;
}

async function run() {
  let stuck = false;
  for (const record of await list()) {
    if (record.status === "sent" || record.status === "failed") continue;
    await put({ ...record, status: "sending" });
    changed();
    try {
      const receipt = await publicApi.post("/v1/public/tips", formFor(record), {
        timeoutMs: 180000,
      });
      networkDown = false;
      await put({
        ...record,
        status: "sent",
        code: receipt.code,
        sent_at: new Date().toISOString(),
        photos: [],
        photo_count: record.photos.length,
        error: null,
      });
    } catch (err) {
      const final = err instanceof ApiError && !err.retryable && !(err instanceof RateLimited);
      networkDown = err instanceof NetworkError;
      await put({
        ...record,
        status: final ? "failed" : networkDown ? "waiting" : "retry",
        error: err.message,
      });
      if (!final) {
        stuck = true;
        break; // the network or the service is down: the rest would fail the same way
      }
    } finally {
      changed();
    }
  }
  return stuck;
}

const RETRY_MIN_MS = 3000;
const RETRY_MAX_MS = 60000;
let delay = RETRY_MIN_MS;
let timer = null;

// Send what is waiting; while something is left, again later with backoff.
export async function kick() {
  clearTimeout(timer);
  if (!running) running = run().finally(() => (running = null));
  const stuck = await running;
  delay = stuck ? Math.min(delay * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
  const waiting = (await list()).some((r) => r.status === "waiting" || r.status === "retry");
  clearTimeout(timer);
  if (waiting) timer = setTimeout(kick, delay);
}
