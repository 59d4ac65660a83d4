// Vocabularies (mirroring serve/vocab.py), device settings, and error messages for people.

import { ApiError, NetworkError } from "./api.js";
import { has, t } from "./i18n.js";

export const SITE_TYPES = [
  "courtyard",
  "farmland",
  "wasteland",
  "rooftop",
  "greenhouse",
  "remote_plot",
  "roadside",
  "forest",
  "riverbank",
  "other",
];
export const VERDICTS = ["suspected", "review", "clear", "unusable"];
export const REVIEW_STATES = [
  "pending",
  "confirmed_opium_poppy",
  "confirmed_cannabis",
  "lookalike",
  "not_target",
];
export const METHODS = ["uprooted", "burned", "herbicide", "cut", "other"];
export const GROWTH_STAGES = ["seedling", "vegetative", "flowering", "fruiting", "harvested"];

const DEFAULT_ACCURACY_M = 50;

export const settings = {
  accuracyThreshold() {
    const v = Number(localStorage.getItem("plantscout.accuracy"));
    return Number.isFinite(v) && v > 0 ? v : DEFAULT_ACCURACY_M;
  },
  setAccuracyThreshold(v) {
    const n = Number(v);
    if (Number.isFinite(n) && n > 0) localStorage.setItem("plantscout.accuracy", String(n));
  },
  unit() {
    return localStorage.getItem("plantscout.unit") || "";
  },
  setUnit(v) {
    if (v) localStorage.setItem("plantscout.unit", v);
  },
  who() {
    try {
      return JSON.parse(localStorage.getItem("plantscout.who") || "null");
    } catch {
      return null;
    }
  },
  setWho(who) {
    if (who) localStorage.setItem("plantscout.who", JSON.stringify(who));
    else localStorage.removeItem("plantscout.who");
  },
};

// A sentence for people, in the current language where the error code is known.
export function errorText(err) {
  if (!err) return "";
  if (err instanceof NetworkError) return t("error_network");
  if (err instanceof ApiError) {
    const key = `err_${err.code}`;
    const photo = err.details.find((d) => d && d.photo !== undefined);
    const base = has(key) ? t(key) : err.message || t("error_http", { status: err.status });
    return photo ? `${t("photo_n", { n: photo.photo + 1 })}: ${base}` : base;
  }
  return String(err.message || err);
}
