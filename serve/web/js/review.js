// Review view (reviewer and admin keys): suspected records and open targets on a list and a
// map with a blank base (no online tiles), filters, and a record's photos, scores, review and
// eradication.

/* global L */
import { api, photoUrl } from "./api.js";
import { fmtDateTime, has, t } from "./i18n.js";
import { METHODS, REVIEW_STATES, VERDICTS, errorText } from "./common.js";
import { el, renderScore, verdictBadge } from "./verdict.js";
import { attachLayers, initLayers, rerenderLayers } from "./layers.js";

const $ = (id) => document.getElementById(id);
const COLOURS = { suspected: "#b00020", review: "#7a4100", clear: "#0a5c2f", unusable: "#4a4a4a" };
const PAGE = 50;

const state = {
  items: [],
  targets: [],
  cursor: null,
  map: null,
  layer: null,
  openId: null,
  objectUrls: [],
};

// ---------- filters ----------

function renderFilters() {
  const verdict = $("f-verdict");
  const keepV = verdict.value || "flagged";
  verdict.replaceChildren(
    el("option", { value: "flagged" }, t("flagged")),
    el("option", { value: "" }, t("any")),
    ...VERDICTS.map((v) => el("option", { value: v }, t(`verdict_${v}`))),
  );
  verdict.value = keepV;
  const review = $("f-review");
  const keepR = review.value;
  review.replaceChildren(
    el("option", { value: "" }, t("any")),
    ...REVIEW_STATES.map((v) => el("option", { value: v }, t(`review_${v}`))),
  );
  review.value = keepR;
}

function query() {
  const verdict = $("f-verdict").value;
  const params = new URLSearchParams();
  if (verdict === "flagged") {
    params.append("verdict", "suspected");
    params.append("verdict", "review");
  } else if (verdict) params.append("verdict", verdict);
  if ($("f-review").value) params.append("review_state", $("f-review").value);
  if ($("f-unit").value.trim()) params.append("unit", $("f-unit").value.trim());
  if ($("f-since").value) params.append("since", $("f-since").value);
  if ($("f-until").value) params.append("until", $("f-until").value);
  params.append("limit", String(PAGE));
  return params;
}

// ---------- loading ----------

function showError(err) {
  const msg = $("review-msg");
  msg.textContent = err ? errorText(err) : "";
  msg.hidden = !err;
}

export async function loadRecords({ more = false } = {}) {
  showError(null);
  const params = query();
  if (more && state.cursor) params.append("cursor", state.cursor);
  try {
    const [page, targets] = await Promise.all([
      api.get(`/v1/inspections?${params}`),
      more ? null : api.get("/v1/targets", { status: "open", limit: 500 }),
    ]);
    state.items = more ? state.items.concat(page.items) : page.items;
    state.cursor = page.next_cursor;
    if (targets) state.targets = targets.items;
  } catch (err) {
    showError(err);
  }
  renderList();
  renderMap(!more);
}

// ---------- list ----------

function recordCard(item) {
  const located = item.location && item.location.lat !== null && item.location.lat !== undefined;
  return el(
    "li",
    {
      class: "card",
      "data-id": item.id,
      "data-verdict": item.verdict,
      "data-review": item.review.state,
    },
    el(
      "button",
      { type: "button", class: "open", onclick: () => openRecord(item.id) },
      verdictBadge(item.verdict),
      " ",
      el("strong", {}, t(`review_${item.review.state}`)),
      el(
        "div",
        { class: "meta" },
        [fmtDateTime(item.observed_at), item.unit, t(`site_${item.site_type}`), item.inspector]
          .filter(Boolean)
          .join(" · "),
      ),
      located ? null : el("div", { class: "meta" }, t("no_location")),
    ),
  );
}

function renderList() {
  const list = $("record-list");
  if (!state.items.length) {
    list.replaceChildren(el("li", { class: "hint" }, t("records_none")));
  } else {
    list.replaceChildren(...state.items.map(recordCard));
  }
  $("load-more").hidden = !state.cursor;
}

// ---------- map ----------

// Leaflet treats a string tooltip or popup as HTML. Everything shown on the map comes from
// stored records (target names and issuer ids arrive in imported files), so it is always
// handed to Leaflet as a DOM node whose text is set, never parsed: a name reading
// "<img src=x onerror=…>" is shown as those characters.
function textTooltip(text) {
  return el("span", { class: "tip" }, String(text ?? ""));
}

function ensureMap() {
  if (state.map || typeof L === "undefined") return state.map;
  // No tile layer: points on a blank base, so the map works with no network at all.
  state.map = L.map("map", { attributionControl: false, zoomSnap: 0.5, maxZoom: 19 });
  L.control.scale({ imperial: false }).addTo(state.map);
  state.map.setView([25, 103], 5);
  state.layer = L.featureGroup().addTo(state.map);
  attachLayers(state.map); // priority and coverage layers (layers.js)
  return state.map;
}

function renderMap(fit) {
  const map = ensureMap();
  if (!map) return;
  map.invalidateSize();
  state.layer.clearLayers();
  for (const target of state.targets) {
    const style = {
      color: "#003cb3",
      weight: 3,
      dashArray: "6 4",
      fillOpacity: 0.08,
      className: "target",
    };
    const label = `${t("legend_target")} ${target.name || target.issuer_id}`;
    let shape;
    if (target.geometry && target.geometry.type !== "Point") {
      shape = L.geoJSON(target.geometry, { style });
    } else {
      shape = L.circleMarker([target.lat, target.lon], { ...style, radius: 11, fillOpacity: 0 });
    }
    shape.bindTooltip(textTooltip(label));
    shape.addTo(state.layer);
    shape.eachLayer?.((layer) => layer.getElement()?.setAttribute("data-target", target.id));
    shape.getElement?.()?.setAttribute("data-target", target.id);
  }
  for (const item of state.items) {
    const loc = item.location;
    if (!loc || loc.lat === null || loc.lat === undefined) continue;
    const marker = L.circleMarker([loc.lat, loc.lon], {
      radius: 10,
      color: "#000",
      weight: 2,
      fillColor: COLOURS[item.verdict] || "#777",
      fillOpacity: 0.95,
      className: `pt pt-${item.verdict}`,
    });
    marker.bindTooltip(
      textTooltip(`${t(`verdict_${item.verdict}`)} · ${t(`review_${item.review.state}`)}`),
    );
    marker.on("click", () => openRecord(item.id));
    marker.addTo(state.layer);
    // Leaflet's SVG paths are not focusable; the list below is the keyboard route.
    const path = marker.getElement && marker.getElement();
    if (path) path.setAttribute("data-id", item.id);
  }
  if (fit) {
    // Frame the records; targets far from every record stay drawn but off-frame.
    const points = state.items
      .filter((i) => i.location && i.location.lat !== null && i.location.lat !== undefined)
      .map((i) => [i.location.lat, i.location.lon]);
    const bounds = points.length ? L.latLngBounds(points) : state.layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [32, 32], maxZoom: 16, animate: false });
  }
}

// ---------- one record ----------

function clearObjectUrls() {
  for (const url of state.objectUrls) URL.revokeObjectURL(url);
  state.objectUrls = [];
}

function kv(pairs) {
  return el(
    "dl",
    { class: "kv" },
    pairs
      .filter(([, v]) => v !== null && v !== undefined && v !== "")
      .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
  );
}

function locationText(loc) {
  if (!loc || loc.lat === null || loc.lat === undefined) return t("no_location");
  const acc =
    loc.accuracy_m !== null && loc.accuracy_m !== undefined
      ? ` ±${t("meters", { n: Math.round(loc.accuracy_m) })}`
      : "";
  return `${loc.lat.toFixed(6)}, ${loc.lon.toFixed(6)}${acc} (${t(`source_${loc.source}`)})`;
}

function select(id, values, prefix, current, withEmpty = false) {
  return el(
    "select",
    { id, name: id },
    withEmpty ? el("option", { value: "" }, "—") : null,
    values.map((v) => el("option", { value: v, selected: v === current }, t(`${prefix}${v}`))),
  );
}

function reviewForm(record) {
  const e = record.eradication;
  const form = el(
    "form",
    { id: "review-form", novalidate: true },
    el(
      "fieldset",
      {},
      el("legend", {}, t("review_state")),
      el("label", { for: "r-state" }, t("review_state")),
      select("r-state", REVIEW_STATES, "review_", record.review.state),
      el("label", { for: "r-note" }, t("review_note")),
      el("textarea", { id: "r-note", rows: 2, maxlength: 4000 }, record.review.note || ""),
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, t("eradication")),
      el("label", { for: "e-date" }, t("eradicated_on")),
      el("input", { id: "e-date", type: "date", value: e ? e.date : "" }),
      el("label", { for: "e-plants" }, t("plant_count")),
      el("input", {
        id: "e-plants",
        type: "number",
        min: 0,
        step: 1,
        inputmode: "numeric",
        value: e ? e.plants : "",
      }),
      el("label", { for: "e-area" }, t("area_m2")),
      el("input", {
        id: "e-area",
        type: "number",
        min: 0,
        step: "any",
        inputmode: "decimal",
        value: e && e.area_m2 !== null ? e.area_m2 : "",
      }),
      el("label", { for: "e-method" }, t("method")),
      select("e-method", METHODS, "method_", e ? e.method : "", true),
      el("label", { for: "e-note" }, t("eradication_note")),
      el("textarea", { id: "e-note", rows: 2, maxlength: 4000 }, e && e.note ? e.note : ""),
    ),
    el("p", { id: "review-save-msg", class: "notice", role: "status", hidden: true }),
    el("button", { type: "submit", class: "btn primary big" }, t("save")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(record);
  });
  return form;
}

function patchFor(record) {
  const patch = {};
  const stateValue = $("r-state").value;
  const note = $("r-note").value.trim() || null;
  if (stateValue !== record.review.state || note !== (record.review.note || null)) {
    patch.review = { state: stateValue, note };
  }
  const date = $("e-date").value;
  if (date) {
    const area = $("e-area").value;
    patch.eradication = {
      date,
      plants: Number($("e-plants").value || 0),
      area_m2: area === "" ? null : Number(area),
      method: $("e-method").value || "other",
      note: $("e-note").value.trim() || null,
    };
    const e = record.eradication;
    if (
      e &&
      e.date === date &&
      e.plants === patch.eradication.plants &&
      (e.area_m2 ?? null) === patch.eradication.area_m2 &&
      e.method === patch.eradication.method &&
      (e.note || null) === patch.eradication.note
    ) {
      delete patch.eradication;
    }
  }
  return patch;
}

async function save(record) {
  const msg = $("review-save-msg");
  const patch = patchFor(record);
  if (!Object.keys(patch).length) {
    msg.className = "notice";
    msg.textContent = t("nothing_changed");
    msg.hidden = false;
    return;
  }
  try {
    // If-Match: refuse (412) when someone else changed the record since it was opened.
    await api.patch(`/v1/inspections/${record.id}`, patch, {
      headers: { "If-Match": `"${record.version}"` },
    });
  } catch (err) {
    if (err.status === 412) {
      await openRecord(record.id);
      const fresh = $("review-save-msg");
      fresh.className = "notice warn";
      fresh.textContent = errorText(err);
      fresh.hidden = false;
      return;
    }
    msg.className = "notice err";
    msg.textContent = errorText(err);
    msg.hidden = false;
    return;
  }
  await openRecord(record.id, { saved: true });
  // keep the list and the map in step with the change
  const fresh = state.current;
  const i = state.items.findIndex((x) => x.id === record.id);
  if (fresh && i >= 0)
    state.items[i] = { ...state.items[i], review: fresh.review, eradication: fresh.eradication };
  renderList();
  renderMap(false);
}

// Audit entries name stored fields; show them with the page's own labels where it has one.
const FIELD_LABELS = {
  review_state: "review_state",
  review_note: "review_note",
  review_label: "review_label",
  eradicated_on: "eradicated_on",
  eradicated_plants: "plant_count",
  eradicated_area_m2: "area_m2",
  eradication_method: "method",
  eradication_note: "eradication_note",
  target_id: "target",
  verdict: "filter_verdict",
  unit: "unit",
  photos: "photos",
};
const VALUE_PREFIX = {
  review_state: "review_",
  verdict: "verdict_",
  eradication_method: "method_",
};

function fieldName(field) {
  return FIELD_LABELS[field] ? t(FIELD_LABELS[field]) : field;
}

function fmt(field, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (VALUE_PREFIX[field] && has(`${VALUE_PREFIX[field]}${value}`)) {
    return t(`${VALUE_PREFIX[field]}${value}`);
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function auditList(audit) {
  if (!audit || !audit.length) return null;
  return el(
    "details",
    { class: "marks" },
    el("summary", {}, t("history")),
    el(
      "ul",
      { class: "history" },
      audit.map((entry) =>
        el(
          "li",
          {},
          `${fmtDateTime(entry.at)} · ${entry.actor || "?"} · `,
          has(`action_${entry.action}`) ? t(`action_${entry.action}`) : entry.action,
          ": ",
          Object.entries(entry.changes || {})
            .map(([field, change]) =>
              Array.isArray(change) && change.length === 2
                ? `${fieldName(field)} ${fmt(field, change[0])} → ${fmt(field, change[1])}`
                : `${fieldName(field)} ${fmt(field, change)}`,
            )
            .join("; "),
        ),
      ),
    ),
  );
}

export async function openRecord(id, { saved = false } = {}) {
  state.openId = id;
  const detail = $("review-detail");
  let record;
  try {
    record = await api.get(`/v1/inspections/${id}`);
  } catch (err) {
    showError(err);
    return;
  }
  state.current = record;
  clearObjectUrls();
  const photos = el(
    "ol",
    { class: "detail-photos" },
    record.photos.map((photo) => {
      const img = el("img", { alt: t("photo_n", { n: photo.position + 1 }) });
      photoUrl(photo.url)
        .then((url) => {
          state.objectUrls.push(url);
          img.src = url;
        })
        .catch(() => {
          img.alt = `${t("photo_n", { n: photo.position + 1 })}: ${t("error_network")}`;
        });
      return el(
        "li",
        { class: "detail-photo", "data-photo": photo.position + 1 },
        img,
        el("strong", {}, t("photo_n", { n: photo.position + 1 })),
        photo.score ? renderScore(photo.score) : verdictBadge(photo.verdict),
      );
    }),
  );
  const parts = [
    el(
      "button",
      { type: "button", class: "btn", id: "review-back", onclick: closeRecord },
      `← ${t("back")}`,
    ),
    el("h3", { id: "record-h", tabindex: -1 }, t("record", { id: record.id.slice(0, 8) })),
    el("p", {}, el("strong", {}, `${t("combined")}: `), verdictBadge(record.verdict)),
    kv([
      [t("review_state"), t(`review_${record.review.state}`)],
      [t("inspector"), record.inspector],
      [t("unit"), record.unit],
      [t("site_type"), t(`site_${record.site_type}`)],
      [t("observed_at"), fmtDateTime(record.observed_at)],
      [t("location"), locationText(record.location)],
      [t("location_conflict"), record.location.conflict ? t("yes") : null],
      [t("target"), record.target_id],
      [t("notes"), record.notes],
      [t("model"), `${record.model.name} ${record.model.version}`],
    ]),
    saved ? el("p", { class: "notice ok", role: "status" }, t("saved")) : null,
    photos,
    reviewForm(record),
    auditList(record.audit),
  ];
  detail.replaceChildren(...parts.filter(Boolean));
  $("review-browse").hidden = true;
  detail.hidden = false;
  $("record-h").focus();
}

function closeRecord() {
  clearObjectUrls();
  state.openId = null;
  $("review-detail").hidden = true;
  $("review-browse").hidden = false;
  renderMap(false);
}

export function initReview() {
  renderFilters();
  initLayers();
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadRecords();
  });
  $("load-more").addEventListener("click", () => loadRecords({ more: true }));
}

export function rerenderReview() {
  renderFilters();
  renderList();
  if (state.map) renderMap(false);
  rerenderLayers();
  if (state.openId && !$("review-detail").hidden) openRecord(state.openId);
}

export function showReview() {
  if (state.map) state.map.invalidateSize();
  if (!state.openId) loadRecords();
}
