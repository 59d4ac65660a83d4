// The device-side store: IndexedDB holds inspections that are not yet on the server (with
// their photos, as ArrayBuffers: Safari has lost Blobs in IndexedDB before) and a short list
// of recently sent ones. A record leaves the queue only after the server has acknowledged it.
// Version 2 adds "tracks": GPS track chunks waiting to be sent (see track.js).

const DB_NAME = "plantscout";
const DB_VERSION = 2;
const SENT_KEEP = 30;

let dbPromise = null;

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("queue"))
          db.createObjectStore("queue", { keyPath: "id" });
        if (!db.objectStoreNames.contains("sent")) db.createObjectStore("sent", { keyPath: "id" });
        if (!db.objectStoreNames.contains("tracks"))
          db.createObjectStore("tracks", { keyPath: "id" });
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

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function all(storeName) {
  const db = await open();
  const tx = db.transaction(storeName, "readonly");
  const rows = await request(tx.objectStore(storeName).getAll());
  return rows.sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
}

export async function putQueued(record) {
  const db = await open();
  const tx = db.transaction("queue", "readwrite");
  tx.objectStore("queue").put(record);
  await done(tx);
}

export async function getQueued(id) {
  const db = await open();
  return request(db.transaction("queue", "readonly").objectStore("queue").get(id));
}

export function listQueued() {
  return all("queue");
}

export async function deleteQueued(id) {
  const db = await open();
  const tx = db.transaction("queue", "readwrite");
  tx.objectStore("queue").delete(id);
  await done(tx);
}

// Atomically move a record from the queue to the sent list.
export async function markSent(id, summary) {
  const db = await open();
  const tx = db.transaction(["queue", "sent"], "readwrite");
  tx.objectStore("queue").delete(id);
  tx.objectStore("sent").put({ id, ...summary });
  await done(tx);
  const sent = await all("sent");
  if (sent.length > SENT_KEEP) {
    const tx2 = db.transaction("sent", "readwrite");
    for (const row of sent.slice(0, sent.length - SENT_KEEP))
      tx2.objectStore("sent").delete(row.id);
    await done(tx2);
  }
}

export async function listSent() {
  return (await all("sent")).reverse();
}

// GPS track chunks: {id, created_at, status: "open" | "waiting" | "failed", points, error}.
export async function putTrack(chunk) {
  const db = await open();
  const tx = db.transaction("tracks", "readwrite");
  tx.objectStore("tracks").put(chunk);
  await done(tx);
}

export function listTracks() {
  return all("tracks");
}

export async function deleteTrack(id) {
  const db = await open();
  const tx = db.transaction("tracks", "readwrite");
  tx.objectStore("tracks").delete(id);
  await done(tx);
}

// A random UUID v4 that also works outside secure contexts (crypto.randomUUID does not).
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
