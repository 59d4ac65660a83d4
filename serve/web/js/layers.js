// Planning layers on the reviewer's map: a unit's priority areas (grid cells shaded by rank)
// and its coverage (cells covered, blind spots, and sites nobody visited) for a season.
// Everything shown comes from stored data (site names and ids arrive in imported files), so
// tooltips are DOM nodes whose text is set — never strings, which Leaflet would parse as HTML.

/* global L */
import { api } from "./api.js";
import { getLang, t } from "./i18n.js";
import { errorText } from "./common.js";
import { el } from "./verdict.js";

const $ = (id) => document.getElementById(id);
const state = { map: null, priority: null, coverage: null };

function tip(text) {
  return el("span", { class: "tip" }, String(text ?? ""));
}

function priorityStyle(percentile) {
  if (percentile <= 5) return { color: "#5c0010", fillColor: "#8c0020", fillOpacity: 0.55 };
  if (percentile <= 10) return { color: "#8c0020", fillColor: "#c0392b", fillOpacity: 0.45 };
  if (percentile <= 20) return { color: "#9a4a00", fillColor: "#e67e22", fillOpacity: 0.35 };
  return { color: "#7a7a7a", fillColor: "#bbbbbb", fillOpacity: 0.08 };
}

const COVERAGE_STYLE = {
  covered: { color: "#0a5c2f", fillColor: "#1e8449", fillOpacity: 0.4, weight: 1 },
  blind_spot: { color: "#b00020", fillColor: "#b00020", fillOpacity: 0.25, weight: 2, dashArray: "4 3" },
  unplanned: { color: "#7a7a7a", fillOpacity: 0, weight: 1 },
};

function message(text, kind = "hint") {
  const msg = $("layer-msg");
  msg.className = kind === "hint" ? "hint" : `notice ${kind}`;
  msg.textContent = text || "";
  msg.hidden = !text;
}

function pressed(id) {
  return $(id).getAttribute("aria-pressed") === "true";
}

function params() {
  const unit = $("l-unit").value.trim();
  const season = $("l-season").value || String(new Date().getFullYear());
  return { unit, season };
}

function reasonText(reasons) {
  const lang = getLang() === "en" ? "en" : "zh";
  return (reasons || []).map((r) => r[lang]).join("; ");
}

// Leaflet makes a path's element when the layer reaches the map: tag it then.
function mark(layer, attrs) {
  layer.on("add", () => {
    const node = layer.getElement && layer.getElement();
    if (node) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  });
}

async function loadPriority() {
  const { unit, season } = params();
  const doc = await api.get("/v1/priority-areas", { unit, season });
  const group = L.featureGroup();
  for (const feature of doc.features) {
    const p = feature.properties;
    const shape = L.geoJSON(feature.geometry, {
      style: { weight: 1, ...priorityStyle(p.percentile), className: "prio" },
    });
    const text = `#${p.rank} · ${t("layer_score")} ${p.score} · ${reasonText(p.reasons)}`;
    shape.bindTooltip(tip(text));
    shape.addTo(group);
    shape.eachLayer((layer) => mark(layer, { "data-cell": p.cell, "data-rank": p.rank }));
  }
  return { group, note: t("layer_priority_note", { n: doc.features.length, unit: doc.unit }), simulation: doc.simulation };
}

async function loadCoverage() {
  const { unit, season } = params();
  const doc = await api.get("/v1/coverage", { unit, season, format: "geojson" });
  const group = L.featureGroup();
  let blind = 0;
  let sites = 0;
  for (const feature of doc.features) {
    const p = feature.properties;
    if (p.kind === "cell") {
      if (p.status === "blind_spot") blind += 1;
      const shape = L.geoJSON(feature.geometry, {
        style: { ...COVERAGE_STYLE[p.status], className: `cov cov-${p.status}` },
      });
      shape.bindTooltip(tip(`${t(`cov_${p.status}`)} · ${t("layer_visits", { n: p.visits })}`));
      shape.addTo(group);
      shape.eachLayer((layer) => mark(layer, { "data-cell": p.cell, "data-status": p.status }));
    } else {
      sites += 1;
      const [lon, lat] = feature.geometry.coordinates;
      const marker = L.circleMarker([lat, lon], {
        radius: 8,
        color: "#b00020",
        weight: 3,
        fillColor: "#fff",
        fillOpacity: 1,
        className: "cov-site",
      });
      const label = [t("cov_site_blind"), p.external_id, p.name, t(`site_${p.site_type}`)]
        .filter(Boolean)
        .join(" · ");
      marker.bindTooltip(tip(label));
      marker.addTo(group);
      mark(marker, { "data-site": p.site_id });
    }
  }
  const note = t("layer_coverage_note", {
    since: doc.window.since,
    until: doc.window.until,
    blind,
    sites,
    share: Math.round((doc.cells.share || 0) * 100),
  });
  return { group, note, simulation: doc.simulation };
}

async function refresh() {
  if (!state.map) return;
  for (const key of ["priority", "coverage"]) {
    if (state[key]) state.map.removeLayer(state[key]);
    state[key] = null;
  }
  const wanted = [
    ["priority", pressed("l-priority"), loadPriority],
    ["coverage", pressed("l-coverage"), loadCoverage],
  ].filter(([, on]) => on);
  if (!wanted.length) return message("");
  if (!params().unit) return message(t("layer_need_unit"), "warn");
  const notes = [];
  try {
    for (const [key, , load] of wanted) {
      const { group, note, simulation } = await load();
      state[key] = group.addTo(state.map);
      notes.push(simulation ? `${t("layer_simulation")} ${note}` : note);
    }
  } catch (err) {
    return message(errorText(err), "err");
  }
  const bounds = L.featureGroup(wanted.map(([key]) => state[key]).filter(Boolean)).getBounds();
  if (bounds.isValid()) state.map.fitBounds(bounds, { padding: [16, 16], animate: false });
  message(notes.join(" "));
}

// The controls work from the start; layers are drawn once the map exists (attachLayers).
export function initLayers() {
  const season = $("l-season");
  if (!season.value) season.value = String(new Date().getFullYear());
  for (const id of ["l-priority", "l-coverage"]) {
    $(id).addEventListener("click", () => {
      $(id).setAttribute("aria-pressed", String(!pressed(id)));
      $(id).classList.toggle("primary", pressed(id));
      refresh();
    });
  }
  $("layer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
}

export function attachLayers(map) {
  if (state.map === map) return;
  state.map = map;
  if (pressed("l-priority") || pressed("l-coverage")) refresh();
}

export function rerenderLayers() {
  if (state.map && (state.priority || state.coverage)) refresh();
}
