// Drafts: the capture form as it is being filled, kept in IndexedDB as it changes, photos
// included, so nothing is lost when the phone kills the tab (it does, while the camera app is
// open). The draft being edited is remembered across reloads; others are listed under
// Records, where each can be resumed or deleted. Filing a draft moves it into the queue.
//
// A draft: {id, created_at, updated_at, meta: {site_type, notes, unit, target_id},
// plants: [{id, kind, count, area_m2, growth_stage}], current_plant}. Its photos are rows of
// their own ({key, draft, plant, order, name, type, data: ArrayBuffer, score, local}), so typing
// a note rewrites a few bytes, not every photo.

import * as store from "./store.js";

const CURRENT = "plantscout.draft";
const listeners = new Set();

export function onChange(fn) {
  listeners.add(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

export function currentId() {
  return localStorage.getItem(CURRENT) || null;
}

export function setCurrent(id) {
  if (id) localStorage.setItem(CURRENT, id);
  else localStorage.removeItem(CURRENT);
}

export async function saveDraft(draft) {
  await store.put("drafts", { ...draft, updated_at: new Date().toISOString() });
  changed();
}

export async function savePhoto(draftId, photo) {
  await store.put("draft_photos", { ...photo, draft: draftId });
}

export function removePhoto(key) {
  return store.remove("draft_photos", key);
}

export async function load(id) {
  const draft = await store.get("drafts", id);
  if (!draft) return null;
  const photos = (await store.draftPhotos(id)).sort((a, b) => a.order - b.order);
  return { draft, photos };
}

export async function list() {
  const drafts = await store.list("drafts");
  const withCounts = await Promise.all(
    drafts.map(async (d) => ({ ...d, photos: (await store.draftPhotos(d.id)).length })),
  );
  return withCounts.sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
}

export async function remove(id) {
  await store.deleteDraft(id);
  if (currentId() === id) setCurrent(null);
  changed();
}
