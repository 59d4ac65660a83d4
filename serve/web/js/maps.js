// Maps shared by the review view and "my records": Leaflet (vendored) loaded on first use, a
// blank base (no online tiles, so maps work with no signal), and records drawn as points that
// merge into one numbered marker where they would overlap: several records at one spot are a
// "3", not three dots drawn on top of each other.

/* global L */
import { el } from "./verdict.js";

export const COLOURS = {
  suspected: "#b00020",
  review: "#7a4100",
  clear: "#0a5c2f",
  unusable: "#4a4a4a",
  pending: "#4a4a4a",
};
const MERGE_PX = 28;

let loading = null;

export function leaflet() {
  if (typeof window.L !== "undefined") return Promise.resolve(window.L);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "vendor/leaflet/leaflet.js";
      script.onload = () => resolve(window.L);
      script.onerror = () => {
        loading = null;
        reject(new Error("cannot load vendor/leaflet/leaflet.js"));
      };
      document.head.append(script);
    });
  }
  return loading;
}

// A map on a blank base in element `id`.
export function blankMap(id) {
  const map = L.map(id, { attributionControl: false, zoomSnap: 0.5, maxZoom: 19 });
  L.control.scale({ imperial: false }).addTo(map);
  map.setView([25, 103], 5);
  return map;
}

// Leaflet treats a string tooltip as HTML; everything shown comes from stored records, so it
// is handed over as a DOM node whose text is set, never parsed.
export function textTooltip(text) {
  return el("span", { class: "tip" }, String(text ?? ""));
}

// Points {id, lat, lon, verdict, label, pending} on `layer`, merged where they overlap at
// the current zoom; redrawn on zoom. A merged marker zooms in, or, when its records share
// one spot (no zoom separates them), calls onGroup(ids).
export function drawPoints(map, layer, points, { onPoint, onGroup }) {
  const draw = () => {
    layer.clearLayers();
    const groups = [];
    for (const point of points) {
      const at = map.latLngToLayerPoint([point.lat, point.lon]);
      const group = groups.find((g) => g.at.distanceTo(at) < MERGE_PX);
      if (group) group.points.push(point);
      else groups.push({ at, points: [point] });
    }
    for (const group of groups) {
      if (group.points.length === 1) {
        const point = group.points[0];
        const marker = L.circleMarker([point.lat, point.lon], {
          radius: 10,
          color: "#000",
          weight: 2,
          dashArray: point.pending ? "4 3" : null,
          fillColor: COLOURS[point.verdict] || "#777",
          fillOpacity: point.pending ? 0.5 : 0.95,
          className: `pt pt-${point.verdict}`,
        });
        marker.bindTooltip(textTooltip(point.label));
        marker.on("click", () => onPoint(point.id));
        marker.addTo(layer);
        marker.getElement()?.setAttribute("data-id", point.id);
        continue;
      }
      const ids = group.points.map((p) => p.id);
      const bounds = L.latLngBounds(group.points.map((p) => [p.lat, p.lon]));
      const worst = ["suspected", "review", "clear", "unusable", "pending"].find((v) =>
        group.points.some((p) => p.verdict === v),
      );
      const count = el("span", {}, String(group.points.length));
      const marker = L.marker(bounds.getCenter(), {
        icon: L.divIcon({ className: `cluster cl-${worst}`, html: count, iconSize: [36, 36] }),
        keyboard: false,
      });
      marker.bindTooltip(textTooltip(group.points.map((p) => p.label).join(" / ")));
      marker.on("click", () => {
        const spread = map
          .latLngToLayerPoint(bounds.getNorthEast())
          .distanceTo(map.latLngToLayerPoint(bounds.getSouthWest()));
        if (spread < 1 || map.getZoom() >= map.getMaxZoom()) onGroup(ids);
        else map.fitBounds(bounds, { padding: [40, 40], animate: false });
      });
      marker.addTo(layer);
      marker.getElement()?.setAttribute("data-ids", ids.join(" "));
    }
  };
  map.off("zoomend", layer._redraw);
  layer._redraw = draw;
  map.on("zoomend", draw);
  draw();
}

export function fitPoints(map, points, fallback = null) {
  const latlngs = points.map((p) => [p.lat, p.lon]);
  const bounds = latlngs.length ? L.latLngBounds(latlngs) : fallback;
  if (bounds && bounds.isValid()) {
    map.fitBounds(bounds, { padding: [32, 32], maxZoom: 16, animate: false });
  }
}
