// Capture and file: photos (scored as soon as they are added), device location with its
// accuracy, site type, unit, notes, a nearby open target; then into the queue and sent.

import { NetworkError, api, getKey } from "./api.js";
import { fmtDistance, t } from "./i18n.js";
import * as queue from "./queue.js";
import { newId } from "./store.js";
import { el, renderScore, verdictBadge } from "./verdict.js";
import { errorText, settings, SITE_TYPES } from "./common.js";

const MAX_PHOTOS = 10;
const PREVIEW_SIDE = 1600; // longest side of the copy sent for the instant verdict
const NEAR_M = 1000; // open targets offered for linking: within this box around the phone
const $ = (id) => document.getElementById(id);

const state = {
  photos: [], // {key, blob, name, type, url, status: scoring|scored|offline|error, score, error}
  fix: null, // {lat, lon, accuracy, at}
  gpsError: null,
  watchId: null,
  targets: [],
  filed: null, // the last submit's record and result, while it is shown
};

// ---------- photos ----------

function addFiles(files, replaceKey = null) {
  const list = [...files];
  $("photo-msg").hidden = true;
  if (replaceKey) {
    const i = state.photos.findIndex((p) => p.key === replaceKey);
    if (i >= 0 && list.length) {
      URL.revokeObjectURL(state.photos[i].url);
      state.photos[i] = newPhoto(list[0]);
      scorePhoto(state.photos[i]);
    }
  } else {
    const room = MAX_PHOTOS - state.photos.length;
    if (list.length > room) {
      $("photo-msg").textContent = t("too_many_photos", { max: MAX_PHOTOS });
      $("photo-msg").hidden = false;
    }
    for (const file of list.slice(0, Math.max(room, 0))) {
      const photo = newPhoto(file);
      state.photos.push(photo);
      scorePhoto(photo);
    }
  }
  renderPhotos();
}

function newPhoto(file) {
  return {
    key: newId(),
    blob: file,
    name: file.name || "photo.jpg",
    type: file.type || "image/jpeg",
    url: URL.createObjectURL(file),
    status: "scoring",
    score: null,
    error: null,
  };
}

// The instant verdict is for a reduced copy: a phone photo is 3–12 MB and the model looks
// at a few hundred pixels, so on a weak signal the preview would otherwise take minutes. The
// filed record carries the untouched original (evidence, EXIF GPS) and its own scores.
async function previewOf(photo) {
  try {
    const bitmap = await createImageBitmap(photo.blob);
    const scale = PREVIEW_SIDE / Math.max(bitmap.width, bitmap.height);
    if (scale >= 1) {
      bitmap.close();
      return photo.blob;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const reduced = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    return reduced && reduced.size < photo.blob.size ? reduced : photo.blob;
  } catch {
    return photo.blob; // a format the browser cannot draw (e.g. HEIC): the server can
  }
}

async function scorePhoto(photo) {
  photo.status = "scoring";
  renderPhotos();
  const form = new FormData();
  form.append("photos", await previewOf(photo), photo.name);
  try {
    const body = await api.post("/v1/score", form, { timeoutMs: 60000 });
    photo.score = body.photos[0].score;
    photo.status = "scored";
  } catch (err) {
    photo.status = err instanceof NetworkError ? "offline" : "error";
    photo.error = err;
  }
  if (state.photos.includes(photo)) renderPhotos();
}

function removePhoto(key) {
  const i = state.photos.findIndex((p) => p.key === key);
  if (i >= 0) {
    URL.revokeObjectURL(state.photos[i].url);
    state.photos.splice(i, 1);
  }
  renderPhotos();
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

function photoStatus(photo) {
  if (photo.status === "scored") return renderScore(photo.score, { badge: false });
  if (photo.status === "scoring") return el("p", { class: "hint", role: "status" }, t("scoring"));
  if (photo.status === "offline") return el("p", { class: "hint" }, t("not_scored_offline"));
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

export function renderPhotos() {
  $("photos-legend").textContent = t("photos_count", { n: state.photos.length, max: MAX_PHOTOS });
  const list = $("photo-list");
  list.replaceChildren(
    ...state.photos.map((photo, i) => {
      const unusable = photo.status === "scored" && photo.score.verdict === "unusable";
      const retake = el(
        "label",
        { class: `btn ${unusable ? "primary" : ""}` },
        t("retake"),
        retakeInput(photo),
      );
      const card = photoCard(
        i,
        photo.url,
        photo.status === "scored" ? photo.score : null,
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
    }),
  );
  const full = state.photos.length >= MAX_PHOTOS;
  $("photo-camera").disabled = full;
  $("photo-pick").disabled = full;
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
async function loadTargets() {
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
  try {
    const body = await api.get("/v1/targets", { status: "open", bbox, limit: 50 });
    state.targets = (body.items || [])
      .map((target) => ({ ...target, distance_m: distance(state.fix, target) }))
      .sort((a, b) => a.distance_m - b.distance_m);
  } catch {
    // offline or not allowed: keep what we had; linking is optional
  }
  renderTargets();
}

export function renderTargets() {
  const select = $("target");
  const keep = select.value;
  const options = [el("option", { value: "" }, t("target_none"))];
  for (const target of state.targets) {
    const dist = target.distance_m;
    options.push(
      el(
        "option",
        { value: target.id },
        t("target_item", {
          id: target.name || target.issuer_id,
          dist: fmtDistance(dist),
          source: target.issuer,
        }),
      ),
    );
  }
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  $("target-msg").textContent = state.fix && !state.targets.length ? t("targets_none_near") : "";
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

async function submit(event) {
  event.preventDefault();
  showMessage("");
  if (!getKey()) return showMessage(t("need_key"));
  if (!state.photos.length) return showMessage(t("need_photo"));
  if (!$("site-type").value) {
    $("site-type").focus();
    return showMessage(t("need_site"));
  }
  const scored = state.photos.filter((p) => p.status === "scored");
  if (
    scored.length === state.photos.length &&
    scored.every((p) => p.score.verdict === "unusable")
  ) {
    return showMessage(t("all_unusable"));
  }
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("submitting");
  try {
    const photos = await Promise.all(
      state.photos.map(async (p) => ({
        name: p.name,
        type: p.type,
        data: await p.blob.arrayBuffer(),
      })),
    );
    const fix = state.fix;
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
      },
      photos,
    };
    settings.setUnit(record.meta.unit);
    await queue.enqueue(record);
    const results = await queue.kick();
    const result = results.get(record.id);
    showFiled(record, result);
  } catch (err) {
    // only the device store can fail here (sending failures are in the results)
    showMessage(`${t("not_saved")}: ${errorText(err)}`, "err");
  } finally {
    button.disabled = false;
    button.textContent = t("submit");
  }
}

function showFiled(record, result) {
  state.filed = { record, result };
  $("capture-form").hidden = true;
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
    detail.append(
      el("p", {}, el("strong", {}, `${t("combined")}: `), verdictBadge(inspection.verdict)),
      el(
        "ol",
        { class: "photos" },
        (inspection.photos || []).map((photo, i) =>
          photoCard(
            i,
            state.photos[i] ? state.photos[i].url : "",
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
    msg.textContent = t("queued");
    section.dataset.inspection = "";
  }
  msg.focus?.();
}

function reset() {
  for (const photo of state.photos) URL.revokeObjectURL(photo.url);
  state.photos = [];
  $("notes").value = "";
  $("target").value = "";
  $("site-type").value = "";
  showMessage("");
  state.filed = null;
  $("filed").hidden = true;
  $("capture-form").hidden = false;
  renderPhotos();
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
  $("unit").value = settings.unit();
  $("filed-msg").tabIndex = -1;
  renderSiteTypes();
  renderPhotos();
  renderTargets();
  startGps();
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
  if (state.filed) showFiled(state.filed.record, state.filed.result);
}
