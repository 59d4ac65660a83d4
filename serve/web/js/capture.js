// Capture and file: photos (scored as soon as they are added, on the service and on the phone),
// grouped by plant or patch (count, area, growth stage), device location with its accuracy,
// site type, unit, notes, a nearby open target; then into the queue and sent. Every change is
// kept as a draft on the phone (drafts.js) as it happens.

import { NetworkError, api, getKey } from "./api.js";
import { fmtDateTime, fmtDistance, pick, t } from "./i18n.js";
import * as queue from "./queue.js";
import * as drafts from "./drafts.js";
import * as ondevice from "./ondevice.js";
import { newId } from "./store.js";
import { el, renderScore, taxonomyLabels, verdictBadge } from "./verdict.js";
import { GROWTH_STAGES, errorText, settings, SITE_TYPES } from "./common.js";

const MAX_PHOTOS = 10;
const MAX_PLANTS = 20;
const PREVIEW_SIDE = 1600; // longest side of the copy sent for the instant verdict
const NEAR_M = 1000; // open targets offered for linking: within this box around the phone
const THUMB_SIDE = 160; // thumbnails kept with filed records for "my records"
const $ = (id) => document.getElementById(id);

const state = {
  draft: null, // {id, created_at, meta, plants, current_plant}; null until the first change
  photos: [], // {key, plant, order, blob, name, type, url, status, score, error, local, localState}
  plants: [], // {id, kind, count, area_m2, growth_stage}
  currentPlant: null,
  fix: null, // {lat, lon, accuracy, at}
  gpsError: null,
  watchId: null,
  targets: [],
  targetsState: "idle", // idle | loading | loaded | offline | failed
  filed: null, // the last submit's record and result, while it is shown
  restored: null, // when the draft was restored after a reload
  sealed: false, // filed: the form is no longer a draft (late saves must not bring it back)
  saving: Promise.resolve(), // draft writes, one after another
};

// ---------- plants ----------

function newPlant() {
  return { id: newId(), kind: "plant", count: null, area_m2: null, growth_stage: "" };
}

function ensurePlant() {
  if (!state.plants.length) state.plants.push(newPlant());
  if (!state.plants.some((p) => p.id === state.currentPlant)) {
    state.currentPlant = state.plants[state.plants.length - 1].id;
  }
}

function addPlant() {
  if (state.plants.length >= MAX_PLANTS) return;
  const plant = newPlant();
  state.plants.push(plant);
  state.currentPlant = plant.id;
  renderPhotos();
  saveDraft();
}

function removePlant(id) {
  const photos = state.photos.filter((p) => p.plant === id);
  if (photos.length && !confirm(t("confirm_delete_draft"))) return;
  for (const photo of photos) forgetPhoto(photo);
  state.plants = state.plants.filter((p) => p.id !== id);
  ensurePlant();
  renderPhotos();
  saveDraft();
}

// ---------- drafts ----------

let saveTimer = null;

// Draft writes run one after another, and none once the form is filed: a photo's score
// arriving after "file" would otherwise write the draft back (or its photo after the draft
// was removed).
function queueSave(write) {
  const run = state.saving.then(() => (state.sealed ? undefined : write()));
  state.saving = run.catch(() => undefined);
  return state.saving;
}

function draftHasContent() {
  return Boolean(
    state.photos.length ||
    $("site-type").value ||
    $("notes").value.trim() ||
    $("target").value ||
    state.plants.some((p) => p.count !== null || p.area_m2 !== null || p.growth_stage),
  );
}

function draftRecord() {
  if (!state.draft) {
    state.draft = { id: newId(), created_at: new Date().toISOString() };
    drafts.setCurrent(state.draft.id);
  }
  return {
    ...state.draft,
    meta: {
      site_type: $("site-type").value,
      notes: $("notes").value,
      unit: $("unit").value,
      target_id: $("target").value,
    },
    plants: state.plants,
    current_plant: state.currentPlant,
  };
}

// Text fields are saved a moment after typing stops; photos and choices at once.
function saveDraft({ soon = false } = {}) {
  clearTimeout(saveTimer);
  saveTimer = null;
  if (soon) {
    saveTimer = setTimeout(() => saveDraft(), 300);
    return Promise.resolve();
  }
  if (state.sealed || (!state.draft && !draftHasContent())) return Promise.resolve();
  return queueSave(async () => {
    await drafts.saveDraft(draftRecord());
    renderDraftStatus();
  });
}

function savePhotoToDraft(photo) {
  if (state.sealed) return Promise.resolve();
  return queueSave(async () => {
    if (!state.photos.includes(photo)) return; // removed meanwhile
    const record = draftRecord();
    await drafts.saveDraft(record);
    await drafts.savePhoto(record.id, {
      key: photo.key,
      plant: photo.plant,
      order: photo.order,
      name: photo.name,
      type: photo.type,
      data: await photo.blob.arrayBuffer(),
      score: photo.status === "scored" ? photo.score : null,
      local: photo.local,
    });
    renderDraftStatus();
  });
}

function renderDraftStatus() {
  const status = $("draft-status");
  if (state.restored) {
    status.textContent = t("draft_restored", { time: fmtDateTime(state.restored) });
  } else {
    status.textContent = state.draft ? t("draft_saved") : "";
  }
  status.hidden = !state.draft;
  $("draft-new").hidden = !state.draft;
}

// Put a saved draft into the form (after a reload, or "resume" in the records view).
export async function openDraft(id) {
  const loaded = await drafts.load(id);
  if (!loaded) return false;
  clearForm();
  const { draft, photos } = loaded;
  state.draft = { id: draft.id, created_at: draft.created_at };
  drafts.setCurrent(draft.id);
  state.plants = (draft.plants || []).map((p) => ({ ...p }));
  state.currentPlant = draft.current_plant;
  ensurePlant();
  const meta = draft.meta || {};
  $("site-type").value = meta.site_type || "";
  $("notes").value = meta.notes || "";
  if (meta.unit && !$("unit").readOnly) $("unit").value = meta.unit;
  state.pendingTarget = meta.target_id || "";
  renderTargets();
  for (const row of photos) {
    const blob = new Blob([row.data], { type: row.type });
    const photo = {
      key: row.key,
      plant: state.plants.some((p) => p.id === row.plant) ? row.plant : state.plants[0].id,
      order: row.order,
      blob,
      name: row.name,
      type: row.type,
      url: URL.createObjectURL(blob),
      status: row.score ? "scored" : "scoring",
      score: row.score,
      error: null,
      local: row.local || null,
      localState: row.local ? "done" : "idle",
    };
    state.photos.push(photo);
    if (!row.score) scorePhoto(photo);
  }
  state.restored = draft.updated_at;
  renderPhotos();
  renderDraftStatus();
  return true;
}

// Keep the current draft as it is and start an empty form.
function startNew() {
  clearForm();
  drafts.setCurrent(null);
  renderPhotos();
  renderDraftStatus();
  window.scrollTo(0, 0);
}

export function currentDraftId() {
  return state.draft ? state.draft.id : null;
}

// The draft being edited was deleted from the records view.
export function draftDeleted(id) {
  if (state.draft && state.draft.id === id) startNew();
}

// ---------- photos ----------

function nextOrder() {
  return state.photos.reduce((m, p) => Math.max(m, p.order), -1) + 1;
}

function addFiles(files, replaceKey = null) {
  const list = [...files];
  ensurePlant();
  $("photo-msg").hidden = true;
  if (replaceKey) {
    const i = state.photos.findIndex((p) => p.key === replaceKey);
    if (i >= 0 && list.length) {
      const old = state.photos[i];
      forgetPhoto(old, { keepInList: true });
      state.photos[i] = newPhoto(list[0], old.plant, old.order);
      scorePhoto(state.photos[i]);
      savePhotoToDraft(state.photos[i]);
    }
  } else {
    const room = MAX_PHOTOS - state.photos.length;
    if (list.length > room) {
      $("photo-msg").textContent = t("too_many_photos", { max: MAX_PHOTOS });
      $("photo-msg").hidden = false;
    }
    for (const file of list.slice(0, Math.max(room, 0))) {
      const photo = newPhoto(file, state.currentPlant, nextOrder());
      state.photos.push(photo);
      scorePhoto(photo);
      savePhotoToDraft(photo);
    }
  }
  state.restored = null;
  renderPhotos();
}

function newPhoto(file, plant, order) {
  return {
    key: newId(),
    plant,
    order,
    blob: file,
    name: file.name || "photo.jpg",
    type: file.type || "image/jpeg",
    url: URL.createObjectURL(file),
    status: "scoring",
    score: null,
    error: null,
    local: null,
    localState: "idle",
  };
}

// The instant verdict is for a reduced copy: a phone photo is 3–12 MB and the model looks
// at a few hundred pixels, so on a weak signal the preview would otherwise take minutes. The
// filed record carries the untouched original (evidence, EXIF GPS) and its own scores.
async function reducedCopy(blob, side, quality = 0.9) {
  try {
    const bitmap = await createImageBitmap(blob);
    const scale = side / Math.max(bitmap.width, bitmap.height);
    if (scale >= 1) {
      bitmap.close();
      return blob;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const reduced = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    return reduced && reduced.size < blob.size ? reduced : blob;
  } catch {
    return blob; // a format the browser cannot draw (e.g. HEIC): the server can
  }
}

// On the phone: the same bundle and decision rules as the service (ondevice.js). Offline it
// gives the verdict; online it is shown beside the service's when the two disagree.
async function scoreOnDevice(photo) {
  if (ondevice.status().state === "idle" && getKey()) ondevice.load();
  const loading = ondevice.status().state === "loading";
  if (!ondevice.ready() && loading) {
    photo.localState = "loading";
    await ondevice.load();
  }
  if (!ondevice.ready()) {
    photo.localState = "unavailable";
    return;
  }
  photo.localState = "scoring";
  try {
    const result = await ondevice.score(photo.blob);
    photo.local = result.score;
    photo.localMs = result.ms;
    photo.localState = "done";
  } catch (err) {
    photo.localState = "unavailable";
    photo.localError = err;
  }
}

async function scoreOnServer(photo) {
  const form = new FormData();
  form.append("photos", await reducedCopy(photo.blob, PREVIEW_SIDE), photo.name);
  try {
    const body = await api.post("/v1/score", form, { timeoutMs: 60000 });
    photo.score = body.photos[0].score;
    photo.status = "scored";
  } catch (err) {
    photo.status = err instanceof NetworkError ? "offline" : "error";
    photo.error = err;
  }
}

async function scorePhoto(photo) {
  photo.status = "scoring";
  renderPhotos();
  const device = scoreOnDevice(photo).then(() => {
    if (state.photos.includes(photo)) renderPhotos();
  });
  await scoreOnServer(photo);
  if (state.photos.includes(photo)) renderPhotos();
  await device;
  if (state.photos.includes(photo)) savePhotoToDraft(photo);
}

function forgetPhoto(photo, { keepInList = false } = {}) {
  URL.revokeObjectURL(photo.url);
  queueSave(() => drafts.removePhoto(photo.key)); // after any write of it under way
  if (!keepInList) state.photos = state.photos.filter((p) => p !== photo);
}

function removePhoto(key) {
  const photo = state.photos.find((p) => p.key === key);
  if (photo) forgetPhoto(photo);
  renderPhotos();
  saveDraft();
}

function retakeInput(photo) {
  const input = el("input", {
    type: "file",
    accept: "image/*",
    capture: "environment",
    class: "sr-only",
  });
  input.addEventListener("change", () => addFiles(input.files, photo.key));
  return input;
}

// The verdict shown for a photo: the service's when it answered, else the phone's own.
function shownScore(photo) {
  if (photo.status === "scored") return photo.score;
  if (photo.local) return photo.local;
  return null;
}

function photoStatus(photo) {
  if (photo.status === "scored") {
    const parts = [renderScore(photo.score, { badge: false })];
    if (photo.local && photo.local.verdict !== photo.score.verdict) {
      parts.push(
        el(
          "p",
          { class: "notice warn disagree", role: "status" },
          t("device_disagrees", {
            device: t(`verdict_${photo.local.verdict}`),
            server: t(`verdict_${photo.score.verdict}`),
          }),
        ),
      );
    }
    return parts;
  }
  if (photo.status === "scoring" && !photo.local) {
    return el("p", { class: "hint", role: "status" }, t("scoring"));
  }
  if (photo.local) {
    return [
      renderScore(photo.local, { badge: false }),
      el("p", { class: "hint device" }, t("device_scored")),
    ];
  }
  if (photo.status === "offline") {
    const waiting = photo.localState === "loading" || photo.localState === "scoring";
    return el("p", { class: "hint" }, t(waiting ? "device_loading" : "device_unavailable"));
  }
  return el("p", { class: "notice err" }, t("score_failed", { msg: errorText(photo.error) }));
}

// A photo card: thumbnail, title and verdict side by side, then the details.
export function photoCard(index, url, score, body, actions = null) {
  return el(
    "li",
    { class: "photo", "data-photo": index + 1 },
    el("img", { src: url, alt: t("photo_n", { n: index + 1 }) }),
    el(
      "div",
      { class: "head" },
      el("strong", {}, t("photo_n", { n: index + 1 })),
      el("br"),
      verdictBadge(score ? score.verdict : "pending"),
    ),
    el("div", { class: "body" }, body),
    actions,
  );
}

// Photos in filing order: plant by plant, each in the order taken.
function orderedPhotos() {
  const rank = new Map(state.plants.map((p, i) => [p.id, i]));
  return [...state.photos].sort(
    (a, b) => (rank.get(a.plant) ?? 0) - (rank.get(b.plant) ?? 0) || a.order - b.order,
  );
}

function plantField(plant, name, labelKey, control) {
  const id = `plant-${plant.id}-${name}`;
  control.id = id;
  return el("label", { for: id }, el("span", {}, t(labelKey)), control);
}

function plantFields(plant) {
  const kind = el(
    "select",
    {},
    ["plant", "patch"].map((k) =>
      el("option", { value: k, selected: plant.kind === k }, t(`kind_${k}`)),
    ),
  );
  kind.addEventListener("change", () => {
    plant.kind = kind.value;
    saveDraft();
  });
  const count = el("input", {
    type: "number",
    min: 0,
    step: 1,
    inputmode: "numeric",
    value: plant.count ?? "",
  });
  count.addEventListener("input", () => {
    plant.count = count.value === "" ? null : Number(count.value);
    saveDraft({ soon: true });
  });
  const area = el("input", {
    type: "number",
    min: 0,
    step: "any",
    inputmode: "decimal",
    value: plant.area_m2 ?? "",
  });
  area.addEventListener("input", () => {
    plant.area_m2 = area.value === "" ? null : Number(area.value);
    saveDraft({ soon: true });
  });
  const stage = el(
    "select",
    {},
    el("option", { value: "" }, "—"),
    GROWTH_STAGES.map((s) =>
      el("option", { value: s, selected: plant.growth_stage === s }, t(`stage_${s}`)),
    ),
  );
  stage.addEventListener("change", () => {
    plant.growth_stage = stage.value;
    saveDraft();
  });
  return el(
    "div",
    { class: "grid2 plant-fields" },
    plantField(plant, "kind", "plant_kind", kind),
    plantField(plant, "count", "plant_count", count),
    plantField(plant, "area", "area_m2", area),
    plantField(plant, "stage", "growth_stage", stage),
  );
}

export function renderPhotos() {
  ensurePlant();
  $("photos-legend").textContent = t("photos_count", { n: state.photos.length, max: MAX_PHOTOS });
  const ordered = orderedPhotos();
  const several = state.plants.length > 1;
  $("plants").replaceChildren(
    ...state.plants.map((plant, p) => {
      const current = plant.id === state.currentPlant;
      const cards = ordered
        .map((photo, i) => ({ photo, i }))
        .filter(({ photo }) => photo.plant === plant.id)
        .map(({ photo, i }) => {
          const shown = shownScore(photo);
          const unusable = shown && shown.verdict === "unusable";
          const retake = el(
            "label",
            { class: `btn ${unusable ? "primary" : ""}` },
            t("retake"),
            retakeInput(photo),
          );
          const card = photoCard(
            i,
            photo.url,
            shown,
            photoStatus(photo),
            el(
              "div",
              { class: "actions" },
              retake,
              el(
                "button",
                {
                  type: "button",
                  class: "btn danger",
                  "aria-label": `${t("remove_photo")} ${t("photo_n", { n: i + 1 })}`,
                  onclick: () => removePhoto(photo.key),
                },
                t("remove_photo"),
              ),
            ),
          );
          card.dataset.status = photo.status;
          return card;
        });
      return el(
        "section",
        {
          class: `plant${current ? " current" : ""}`,
          "data-plant": p + 1,
          "aria-label": t("plant_n", { n: p + 1 }),
        },
        el(
          "div",
          { class: "plant-head" },
          el("h3", {}, t("plant_n", { n: p + 1 })),
          current
            ? el("span", { class: "here" }, several ? t("plant_here") : "")
            : el(
                "button",
                {
                  type: "button",
                  class: "btn",
                  onclick: () => {
                    state.currentPlant = plant.id;
                    renderPhotos();
                    saveDraft();
                  },
                },
                t("plant_choose"),
              ),
          several
            ? el(
                "button",
                { type: "button", class: "btn danger", onclick: () => removePlant(plant.id) },
                t("remove_plant"),
              )
            : null,
        ),
        el("ol", { class: "photos" }, cards),
        plantFields(plant),
      );
    }),
  );
  const full = state.photos.length >= MAX_PHOTOS;
  $("photo-camera").disabled = full;
  $("photo-pick").disabled = full;
  $("add-plant").disabled = state.plants.length >= MAX_PLANTS;
  renderGuide();
  renderModelStatus();
}

// What to photograph, per controlled species, from the taxonomy (zh/en).
function renderGuide() {
  const labels = taxonomyLabels().filter((l) => l.role === "controlled" && l.photo_guide);
  $("guide-body").replaceChildren(
    ...labels.map((label) =>
      el(
        "div",
        { class: "guide-species", "data-species": label.key },
        el("strong", {}, t("guide_species", { name: pick(label.name) })),
        el(
          "ol",
          {},
          label.photo_guide.map((shot) => el("li", {}, pick(shot))),
        ),
      ),
    ),
  );
  $("photo-guide").hidden = labels.length === 0;
}

function renderModelStatus() {
  const s = ondevice.status();
  const line = $("model-status");
  line.dataset.state = s.state;
  if (s.state === "ready") line.textContent = t("model_ready", s.model);
  else if (s.state === "loading") line.textContent = t("model_loading");
  else if (s.state === "unavailable" && getKey()) {
    line.textContent = t("model_unavailable", { msg: s.error });
  } else line.textContent = "";
}

// ---------- location ----------

function startGps() {
  if (!("geolocation" in navigator)) {
    state.gpsError = t("location_unsupported");
    renderGps();
    return;
  }
  if (state.watchId !== null) navigator.geolocation.clearWatch(state.watchId);
  state.gpsError = null;
  renderGps();
  state.watchId = navigator.geolocation.watchPosition(
    (pos) => {
      const fix = {
        lat: pos.coords.latitude,
        lon: pos.coords.longitude,
        accuracy: pos.coords.accuracy,
        at: pos.timestamp,
      };
      const moved = !state.fix || distance(state.fix, fix) > 50;
      // keep the better of two fixes taken close together
      if (!state.fix || fix.accuracy <= state.fix.accuracy || fix.at - state.fix.at > 60000) {
        state.fix = fix;
      }
      state.gpsError = null;
      renderGps();
      if (moved) loadTargets();
    },
    (err) => {
      state.gpsError = err.message || String(err.code);
      renderGps();
    },
    { enableHighAccuracy: true, maximumAge: 10000, timeout: 60000 },
  );
}

export function renderGps() {
  const status = $("gps-status");
  const warn = $("gps-warn");
  warn.hidden = true;
  if (state.fix) {
    const { lat, lon, accuracy } = state.fix;
    status.textContent = t("location_value", {
      lat: lat.toFixed(6),
      lon: lon.toFixed(6),
      acc: Math.round(accuracy),
    });
    const max = settings.accuracyThreshold();
    if (accuracy > max) {
      warn.textContent = t("location_poor", { acc: Math.round(accuracy), max });
      warn.hidden = false;
    }
  } else if (state.gpsError) {
    status.textContent = "";
    warn.textContent = t("location_denied", { msg: state.gpsError });
    warn.hidden = false;
  } else {
    status.textContent = t("locating");
  }
}

// Great-circle distance in metres.
export function distance(a, b) {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
}

// ---------- nearby open targets ----------

// Open targets in a box around the phone, nearest first (distance to the target's centre).
// Asked again whenever a key is saved: the first fix often comes before any key exists.
export async function loadTargets() {
  if (!getKey() || !state.fix) {
    renderTargets();
    return;
  }
  const { lat, lon } = state.fix;
  const dLat = NEAR_M / 111320;
  const dLon = NEAR_M / (111320 * Math.max(Math.cos((lat * Math.PI) / 180), 0.01));
  const bbox = [
    Math.max(lon - dLon, -180),
    Math.max(lat - dLat, -90),
    Math.min(lon + dLon, 180),
    Math.min(lat + dLat, 90),
  ]
    .map((v) => v.toFixed(6))
    .join(",");
  state.targetsState = "loading";
  renderTargets();
  try {
    const body = await api.get("/v1/targets", { status: "open", bbox, limit: 50 });
    state.targets = (body.items || [])
      .map((target) => ({ ...target, distance_m: distance(state.fix, target) }))
      .sort((a, b) => a.distance_m - b.distance_m);
    state.targetsState = "loaded";
  } catch (err) {
    // keep what we had (linking is optional), but never claim there is nothing nearby
    state.targetsState = err instanceof NetworkError ? "offline" : "failed";
  }
  renderTargets();
}

export function renderTargets() {
  const select = $("target");
  const keep = state.pendingTarget || select.value;
  const options = [el("option", { value: "" }, t("target_none"))];
  for (const target of state.targets) {
    options.push(
      el(
        "option",
        { value: target.id },
        t("target_item", {
          id: target.name || target.issuer_id,
          dist: fmtDistance(target.distance_m),
          source: target.issuer,
        }),
      ),
    );
  }
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === keep)) {
    select.value = keep;
    state.pendingTarget = null;
  }
  const msg = $("target-msg");
  if (state.targetsState === "offline") msg.textContent = t("targets_offline");
  else if (state.targetsState === "failed") msg.textContent = t("targets_offline");
  else if (state.targetsState === "loading") msg.textContent = t("targets_loading");
  else if (state.targetsState === "loaded" && !state.targets.length) {
    msg.textContent = t("targets_none_near");
  } else msg.textContent = "";
}

// ---------- site types ----------

export function renderSiteTypes() {
  const select = $("site-type");
  const keep = select.value;
  select.replaceChildren(
    el("option", { value: "" }, t("choose")),
    ...SITE_TYPES.map((v) => el("option", { value: v }, t(`site_${v}`))),
  );
  select.value = keep;
}

// ---------- submit ----------

function showMessage(text, kind = "warn") {
  const msg = $("submit-msg");
  msg.textContent = text;
  msg.className = `notice ${kind}`;
  msg.hidden = !text;
}

function plantsPayload(ordered) {
  const used = state.plants.filter(
    (plant) =>
      ordered.some((p) => p.plant === plant.id) ||
      plant.count !== null ||
      plant.area_m2 !== null ||
      plant.growth_stage,
  );
  const informative =
    used.length > 1 ||
    used.some(
      (p) => p.count !== null || p.area_m2 !== null || p.growth_stage || p.kind !== "plant",
    );
  if (!informative) return null;
  return used.map((plant) => ({
    kind: plant.kind,
    count: plant.count,
    area_m2: plant.area_m2,
    growth_stage: plant.growth_stage || null,
    photos: ordered.map((p, i) => (p.plant === plant.id ? i : -1)).filter((i) => i >= 0),
  }));
}

async function submit(event) {
  event.preventDefault();
  showMessage("");
  if (!getKey()) return showMessage(t("need_key"));
  if (!state.photos.length) return showMessage(t("need_photo"));
  if (!$("site-type").value) {
    $("site-type").focus();
    return showMessage(t("need_site"));
  }
  const shown = state.photos.map(shownScore);
  if (shown.every((s) => s && s.verdict === "unusable")) return showMessage(t("all_unusable"));
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("submitting");
  clearTimeout(saveTimer);
  saveTimer = null;
  state.sealed = true;
  let queued = false;
  try {
    const ordered = orderedPhotos();
    const photos = await Promise.all(
      ordered.map(async (p) => ({
        name: p.name,
        type: p.type,
        data: await p.blob.arrayBuffer(),
        local: p.local,
        thumb: await (await reducedCopy(p.blob, THUMB_SIDE, 0.7)).arrayBuffer(),
      })),
    );
    const fix = state.fix;
    const plants = plantsPayload(ordered);
    const record = {
      id: newId(),
      created_at: new Date().toISOString(),
      meta: {
        unit: $("unit").value.trim(),
        site_type: $("site-type").value,
        notes: $("notes").value.trim(),
        target_id: $("target").value,
        lat: fix ? fix.lat : null,
        lon: fix ? fix.lon : null,
        accuracy_m: fix ? Math.round(fix.accuracy * 10) / 10 : null,
        observed_at: new Date().toISOString(),
        plants: plants ? JSON.stringify(plants) : null,
      },
      photos,
    };
    settings.setUnit(record.meta.unit);
    await queue.enqueue(record);
    queued = true;
    await state.saving; // writes already under way finish before the draft goes
    if (state.draft) await drafts.remove(state.draft.id); // it lives in the queue now
    state.draft = null;
    const results = await queue.kick();
    showFiled(record, results.get(record.id));
  } catch (err) {
    // only the device store can fail here (sending failures are in the results)
    if (!queued) state.sealed = false; // still a draft: keep saving it
    showMessage(`${t("not_saved")}: ${errorText(err)}`, "err");
  } finally {
    button.disabled = false;
    button.textContent = t("submit");
  }
}

function showFiled(record, result) {
  state.filed = { record, result };
  $("capture-form").hidden = true;
  $("draft-status").hidden = true;
  const section = $("filed");
  const msg = $("filed-msg");
  const detail = $("filed-detail");
  detail.replaceChildren();
  section.hidden = false;
  if (result && result.ok) {
    const inspection = result.inspection;
    msg.className = "notice ok";
    msg.textContent = t("filed", { id: inspection.id.slice(0, 8) });
    section.dataset.inspection = inspection.id;
    const ordered = orderedPhotos();
    detail.append(
      el("p", {}, el("strong", {}, `${t("combined")}: `), verdictBadge(inspection.verdict)),
      el(
        "ol",
        { class: "photos" },
        (inspection.photos || []).map((photo, i) =>
          photoCard(
            i,
            ordered[i] ? ordered[i].url : "",
            photo.score || { verdict: photo.verdict },
            photo.score ? renderScore(photo.score, { badge: false }) : null,
          ),
        ),
      ),
    );
  } else if (result && result.final) {
    msg.className = "notice err";
    msg.textContent = t("status_failed", { msg: errorText(result.error) });
    section.dataset.inspection = "";
  } else {
    msg.className = "notice warn";
    msg.textContent = result && result.lost ? t("answer_lost") : t("queued");
    section.dataset.inspection = "";
  }
  msg.focus?.();
}

function clearForm() {
  for (const photo of state.photos) URL.revokeObjectURL(photo.url);
  state.photos = [];
  state.plants = [];
  state.currentPlant = null;
  state.draft = null;
  state.restored = null;
  state.pendingTarget = null;
  state.sealed = false;
  $("notes").value = "";
  $("target").value = "";
  $("site-type").value = "";
  showMessage("");
  state.filed = null;
  $("filed").hidden = true;
  $("capture-form").hidden = false;
}

function reset() {
  clearForm();
  renderPhotos();
  renderDraftStatus();
  window.scrollTo(0, 0);
}

export function initCapture() {
  $("photo-camera").addEventListener("change", (e) => {
    addFiles(e.target.files);
    e.target.value = "";
  });
  $("photo-pick").addEventListener("change", (e) => {
    addFiles(e.target.files);
    e.target.value = "";
  });
  $("gps-refresh").addEventListener("click", () => {
    state.fix = null;
    startGps();
  });
  $("target-refresh").addEventListener("click", loadTargets);
  $("capture-form").addEventListener("submit", submit);
  $("new-inspection").addEventListener("click", reset);
  $("add-plant").addEventListener("click", addPlant);
  $("draft-new").addEventListener("click", startNew);
  $("site-type").addEventListener("change", () => saveDraft());
  $("target").addEventListener("change", () => saveDraft());
  $("notes").addEventListener("input", () => saveDraft({ soon: true }));
  $("unit").addEventListener("input", () => saveDraft({ soon: true }));
  // the tab may be killed any moment once hidden (the camera app): save what is typed now
  const flush = () => {
    if (saveTimer) saveDraft();
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);
  ondevice.onChange(renderPhotos);
  $("unit").value = settings.unit();
  $("filed-msg").tabIndex = -1;
  renderSiteTypes();
  renderPhotos();
  renderTargets();
  renderDraftStatus();
  startGps();
  const current = drafts.currentId();
  if (current) openDraft(current);
}

// Re-score photos that were added offline, once the network is back.
export function rescoreOffline() {
  for (const photo of state.photos) if (photo.status === "offline") scorePhoto(photo);
}

export function rerenderCapture() {
  renderSiteTypes();
  renderPhotos();
  renderGps();
  renderTargets();
  renderDraftStatus();
  if (state.filed) showFiled(state.filed.record, state.filed.result);
}
