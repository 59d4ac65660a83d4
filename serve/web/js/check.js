// The public check page: photograph a plant → "may be …, report it" / "does not look like a
// drug plant" / "take a clearer photo" → an anonymous report (offline-safe) → its progress with
// the tip code and secret. No key, no account, no cookie. Every text from the service is put
// into the page as text (textContent), never as markup.

import "./public-i18n.js";
import { ApiError, NetworkError } from "./api.js";
import { applyStatic, fmtDateTime, fmtDistance, getLang, pick, setLang, t } from "./i18n.js";
import { RateLimited, publicApi } from "./public-api.js";
import { direction, distance, grouped, newId, newSecret, reduced } from "./public-util.js";
import * as tips from "./tipqueue.js";
import { el } from "./verdict.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["check", "report", "status"];
const MAX_PHOTOS = 3;
const state = {
  photos: [], // {key, name, type, blob, url}
  result: null, // the last CheckResult, or {offline: true}
  checking: false,
  fix: null,
  watch: null,
  gpsError: null,
  pin: null,
  map: null,
  pinMarker: null,
  youMarker: null,
  receiptId: null,
  status: null, // {code, body} of the last look-up
};
let nextKey = 1;

// ---------- messages ----------

function errorText(err) {
  if (err instanceof RateLimited) return t("rate_limited", { s: err.retryAfter });
  if (err instanceof NetworkError) return t("error_network");
  if (err instanceof ApiError && err.status === 404 && err.code === "not_found")
    return t("switched_off");
  if (err instanceof ApiError) {
    const key = `err_${err.code}`;
    const translated = t(key);
    return translated !== key ? translated : err.message;
  }
  return String((err && err.message) || err);
}

function pageMessage(text) {
  const box = $("page-msg");
  box.textContent = text || "";
  box.hidden = !text;
}

// ---------- views ----------

function show(view) {
  if (!VIEWS.includes(view)) view = "check";
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  document.querySelectorAll(".tabs button").forEach((b) => {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  if (view === "report") {
    renderReportPhotos();
    ensureMap();
    if (state.map) state.map.invalidateSize();
  }
  if (view === "status") renderMyTips();
}

// ---------- the check ----------

function setPhotos(files, { append = false } = {}) {
  const picked = [...files].filter((f) => f && f.size > 0);
  if (!append) {
    for (const p of state.photos) URL.revokeObjectURL(p.url);
    state.photos = [];
  }
  for (const file of picked) {
    if (state.photos.length >= MAX_PHOTOS) break;
    state.photos.push({
      key: nextKey++,
      name: file.name || "photo.jpg",
      type: file.type || "image/jpeg",
      blob: file,
      url: URL.createObjectURL(file),
    });
  }
}

async function runCheck() {
  if (!state.photos.length) return;
  state.checking = true;
  state.result = null;
  renderResult();
  const form = new FormData();
  for (const photo of state.photos) form.append("photos", await reduced(photo.blob), photo.name);
  try {
    state.result = await publicApi.post("/v1/public/check", form, { timeoutMs: 90000 });
  } catch (err) {
    state.result = { error: err };
  }
  state.checking = false;
  renderResult();
}

function photoFigure(ref) {
  return el(
    "figure",
    { class: "ref-photo" },
    el("img", { src: ref.url, alt: pick(ref.caption), loading: "lazy" }),
    el("figcaption", {}, pick(ref.caption), el("small", {}, t("photo_credit", { a: ref.attribution }))),
  );
}

function lookalikeBlock(look) {
  return el(
    "section",
    { class: "lookalike", "data-lookalike": look.key },
    el("h4", {}, pick(look.name)),
    el("p", { class: "hint" }, pick(look.description)),
    look.how_to_tell.length
      ? el(
          "ul",
          {},
          look.how_to_tell.map((m) => el("li", {}, pick(m))),
        )
      : null,
    look.photos.length ? el("div", { class: "ref-photos" }, look.photos.map(photoFigure)) : null,
  );
}

function outcomeTitle(result) {
  if (result.outcome === "retake") return t("outcome_retake");
  if (result.outcome === "unlikely") return t("outcome_unlikely");
  const keys = result.species.map((s) => s.key);
  if (keys.includes("cannabis") && keys.includes("opium_poppy")) return t("outcome_report_both");
  if (keys.includes("opium_poppy")) return t("outcome_report_opium_poppy");
  return t("outcome_report_cannabis");
}

function renderResult() {
  const box = $("check-result");
  const actions = $("check-actions");
  const photos = state.photos.length
    ? el(
        "ol",
        { class: "thumbs" },
        state.photos.map((p) => el("li", {}, el("img", { src: p.url, alt: "" }))),
      )
    : null;
  if (state.checking) {
    box.replaceChildren(photos || "", el("p", { class: "notice" }, t("checking")));
    actions.hidden = true;
    return;
  }
  const result = state.result;
  if (!result) {
    box.replaceChildren();
    actions.hidden = true;
    return;
  }
  actions.hidden = false;
  const report = $("to-report");
  if (result.error) {
    const offline = result.error instanceof NetworkError;
    box.replaceChildren(
      photos || "",
      el(
        "p",
        { class: "notice warn", role: "alert" },
        offline ? t("check_offline") : errorText(result.error),
      ),
    );
    report.textContent = t("report_this");
    report.className = "btn big";
    return;
  }
  const outcome = el(
    "div",
    { class: `outcome outcome-${result.outcome}`, "data-outcome": result.outcome },
    el("h2", {}, outcomeTitle(result)),
  );
  if (result.outcome === "retake") {
    outcome.append(el("p", {}, t("outcome_retake_help")));
    for (const reason of result.retake_reasons) outcome.append(el("p", { class: "hint" }, pick(reason)));
  } else if (result.outcome === "unlikely") {
    outcome.append(el("p", {}, t("outcome_unlikely_help")));
  }
  const parts = [photos, outcome];
  if (result.field_marks.length) {
    parts.push(
      el(
        "details",
        { class: "marks", open: true },
        el("summary", {}, t("marks_to_check")),
        el(
          "ul",
          {},
          result.field_marks.map((m) => el("li", {}, pick(m))),
        ),
      ),
    );
  }
  if (result.lookalikes.length) {
    parts.push(
      el("h3", {}, t("lookalikes_title")),
      ...result.lookalikes.map(lookalikeBlock),
    );
  }
  parts.push(
    el(
      "ul",
      { class: "caveats" },
      result.caveats.map((c) => el("li", {}, pick(c))),
    ),
  );
  box.replaceChildren(...parts.filter(Boolean));
  const primary = result.outcome === "report";
  report.textContent = primary ? t("report_this") : t("report_anyway");
  report.className = primary ? "btn primary big" : "btn big";
}

// ---------- the report ----------

function renderReportPhotos() {
  const list = $("report-photos");
  list.replaceChildren(
    ...state.photos.map((p) =>
      el(
        "li",
        { "data-photo": p.key },
        el("img", { src: p.url, alt: "" }),
        el(
          "button",
          {
            type: "button",
            class: "btn danger",
            onclick: () => {
              URL.revokeObjectURL(p.url);
              state.photos = state.photos.filter((x) => x !== p);
              renderReportPhotos();
            },
          },
          t("remove_photo"),
        ),
      ),
    ),
  );
  $("report-no-photos").hidden = state.photos.length > 0;
}

function ensureMap() {
  if (state.map || typeof L === "undefined") return;
  // No tiles (the page works on a closed network): a scale, you, and the pin to drag.
  state.map = L.map("pin-map", { attributionControl: false, zoomSnap: 0.5, maxZoom: 20 });
  L.control.scale({ imperial: false }).addTo(state.map);
  state.map.setView([25, 103], 5);
  state.map.on("click", (event) => placePin(event.latlng.lat, event.latlng.lng));
}

function placePin(lat, lon) {
  state.pin = { lat, lon };
  if (!state.pinMarker) {
    const icon = L.divIcon({ className: "pin-icon", iconSize: [28, 28], iconAnchor: [14, 28] });
    state.pinMarker = L.marker([lat, lon], { draggable: true, icon, keyboard: true }).addTo(
      state.map,
    );
    state.pinMarker.on("dragend", () => {
      const at = state.pinMarker.getLatLng();
      state.pin = { lat: at.lat, lon: at.lng };
      renderPin();
    });
  } else {
    state.pinMarker.setLatLng([lat, lon]);
  }
  renderPin();
}

function renderPin() {
  const out = $("pin-status");
  if (!state.pin) {
    out.textContent = "";
    return;
  }
  const where = `${state.pin.lat.toFixed(6)}, ${state.pin.lon.toFixed(6)}`;
  if (!state.fix) {
    out.textContent = where;
    return;
  }
  const d = distance(state.fix, state.pin);
  out.textContent =
    d < 5
      ? `${t("pin_here")} (${where})`
      : `${t("pin_from_you", { dist: fmtDistance(d), dir: t(`dir_${direction(state.fix, state.pin)}`) })} (${where})`;
}

function startGps() {
  if (!("geolocation" in navigator)) {
    state.gpsError = t("location_unsupported");
    renderGps();
    return;
  }
  if (state.watch !== null) navigator.geolocation.clearWatch(state.watch);
  state.gpsError = null;
  renderGps();
  state.watch = navigator.geolocation.watchPosition(
    (pos) => {
      const first = !state.fix;
      state.fix = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy };
      renderGps();
      ensureMap();
      if (!state.map) return;
      if (!state.youMarker) {
        state.youMarker = L.circleMarker([state.fix.lat, state.fix.lon], {
          radius: 8,
          color: "#003cb3",
          weight: 3,
          fillOpacity: 0.3,
        }).addTo(state.map);
      } else {
        state.youMarker.setLatLng([state.fix.lat, state.fix.lon]);
      }
      if (first) {
        state.map.setView([state.fix.lat, state.fix.lon], 17);
        if (!state.pin) placePin(state.fix.lat, state.fix.lon);
      }
      renderPin();
    },
    (err) => {
      state.gpsError = err.message || String(err.code);
      renderGps();
    },
    { enableHighAccuracy: true, maximumAge: 10000, timeout: 60000 },
  );
}

function renderGps() {
  const out = $("gps-status");
  if (state.fix) {
    out.textContent = t("location_value", {
      lat: state.fix.lat.toFixed(6),
      lon: state.fix.lon.toFixed(6),
      acc: Math.round(state.fix.accuracy),
    });
  } else if (state.gpsError) {
    out.textContent = t("location_denied", { msg: state.gpsError });
  } else if (state.watch !== null) {
    out.textContent = t("locating");
  } else {
    out.textContent = "";
  }
}

function reportMessage(text) {
  const box = $("report-msg");
  box.textContent = text || "";
  box.hidden = !text;
}

function locationFields() {
  if (state.pin) {
    const moved = !state.fix || distance(state.fix, state.pin) >= 5;
    return moved
      ? { lat: state.pin.lat, lon: state.pin.lon, location_source: "manual" }
      : {
          lat: state.fix.lat,
          lon: state.fix.lon,
          accuracy_m: state.fix.accuracy,
          location_source: "device",
        };
  }
  if (state.fix) {
    return {
      lat: state.fix.lat,
      lon: state.fix.lon,
      accuracy_m: state.fix.accuracy,
      location_source: "device",
    };
  }
  return {};
}

async function submitReport(event) {
  event.preventDefault();
  const place = $("place").value.trim();
  const description = $("description").value.trim();
  const where = locationFields();
  if (!state.photos.length && !description) return reportMessage(t("need_what"));
  if (where.lat === undefined && !place) return reportMessage(t("need_where"));
  reportMessage("");
  $("send-report").disabled = true;
  const record = {
    id: newId(),
    secret: newSecret(),
    created_at: new Date().toISOString(),
    fields: {
      ...where,
      place,
      description,
      contact: $("contact").value.trim(),
      website: $("website").value,
      observed_at: new Date().toISOString(),
    },
    photos: await Promise.all(
      state.photos.map(async (p) => ({ name: p.name, type: p.type, data: await p.blob.arrayBuffer() })),
    ),
  };
  try {
    await tips.enqueue(record);
  } catch (err) {
    $("send-report").disabled = false;
    return reportMessage(String(err.message || err));
  }
  state.receiptId = record.id;
  $("report-form").hidden = true;
  $("receipt").hidden = false;
  await renderReceipt();
  $("receipt").scrollIntoView({ block: "start" });
  await tips.kick();
  await renderReceipt();
}

async function renderReceipt() {
  if (!state.receiptId) return;
  const record = await tips.get(state.receiptId);
  if (!record) return;
  $("receipt-secret").textContent = grouped(record.secret);
  $("receipt-code").textContent = record.code ? grouped(record.code) : t("receipt_pending_code");
  $("receipt").dataset.status = record.status;
  const msg = $("receipt-msg");
  if (record.status === "sent") {
    msg.className = "notice ok";
    msg.textContent = t("report_sent");
  } else if (record.status === "failed") {
    msg.className = "notice err";
    msg.textContent = t("tip_failed", { msg: record.error || "" });
  } else {
    msg.className = "notice warn";
    msg.textContent = t("report_queued");
  }
  $("receipt-status").hidden = record.status !== "sent";
}

function resetReport() {
  setPhotos([]);
  state.result = null;
  state.receiptId = null;
  for (const id of ["place", "description", "contact", "website"]) $(id).value = "";
  $("report-form").hidden = false;
  $("receipt").hidden = true;
  $("send-report").disabled = false;
  reportMessage("");
  renderResult();
}

// ---------- progress ----------

function tipStatusText(record) {
  if (record.status === "sent") return t("tip_sent");
  if (record.status === "sending") return t("tip_sending");
  if (record.status === "failed") return t("tip_failed", { msg: record.error || "" });
  if (record.status === "retry") return t("tip_retry", { msg: record.error || "" });
  return t("tip_waiting");
}

async function renderMyTips() {
  const records = await tips.list();
  const list = $("my-tips");
  if (!records.length) {
    list.replaceChildren(el("li", { class: "hint" }, t("my_tips_none")));
    return;
  }
  list.replaceChildren(
    ...records.map((r) =>
      el(
        "li",
        { class: "card", "data-id": r.id, "data-status": r.status, "data-code": r.code || "" },
        el(
          "dl",
          { class: "kv" },
          el("dt", {}, t("receipt_code")),
          el("dd", { class: "code" }, r.code ? grouped(r.code) : t("receipt_pending_code")),
          el("dt", {}, t("receipt_secret")),
          el("dd", { class: "code" }, grouped(r.secret)),
        ),
        el("div", { class: "meta" }, `${fmtDateTime(r.created_at)} · ${tipStatusText(r)}`),
        r.code
          ? el(
              "button",
              {
                type: "button",
                class: "btn primary",
                onclick: () => lookup(r.code, r.secret),
              },
              t("show_status"),
            )
          : null,
        el(
          "button",
          {
            type: "button",
            class: "btn danger",
            onclick: async () => {
              const ask = r.status === "sent" ? t("confirm_forget") : t("confirm_forget_unsent");
              if (confirm(ask)) await tips.forget(r.id);
            },
          },
          t("forget_tip"),
        ),
      ),
    ),
  );
}

async function lookup(code, secret) {
  show("status");
  $("status-code").value = grouped(code);
  $("status-secret").value = grouped(secret);
  const out = $("status-result");
  out.replaceChildren(el("p", { class: "notice" }, t("status_lookup")));
  try {
    const body = await publicApi.post("/v1/public/tips/status", { code, secret });
    state.status = body;
  } catch (err) {
    state.status = { error: err };
  }
  renderStatus();
}

function renderStatus() {
  const out = $("status-result");
  const status = state.status;
  if (!status) return out.replaceChildren();
  if (status.error) {
    const err = status.error;
    const text =
      err instanceof ApiError && err.status === 404 && err.code === "not_found"
        ? t("status_not_found")
        : errorText(err);
    return out.replaceChildren(el("p", { class: "notice err", role: "alert" }, text));
  }
  const order = ["received", "checking", status.phase === "not_confirmed" ? "not_confirmed" : "confirmed"];
  const reached = order.indexOf(status.phase);
  const steps = order.map((phase, i) =>
    el(
      "li",
      {
        class: i <= reached ? "done" : "",
        "data-phase": phase,
        "aria-current": i === reached ? "step" : null,
      },
      t(`phase_${phase}`),
    ),
  );
  let reward = null;
  if (status.reward) {
    const r = status.reward;
    if (r.decision === "not_eligible") reward = t("reward_not_eligible");
    else if (r.paid_on) reward = t("reward_paid", { amount: r.amount, date: r.paid_on });
    else if (r.amount) reward = t("reward_eligible", { amount: r.amount });
    else reward = t("reward_eligible_no_amount");
  } else if (status.phase === "confirmed") {
    reward = t("reward_pending");
  }
  if (reward) {
    steps.push(
      el(
        "li",
        { class: status.reward ? "done" : "", "data-phase": "reward" },
        `${t("phase_reward")}: ${reward}`,
      ),
    );
  }
  out.replaceChildren(
    el(
      "div",
      { class: "status-box", "data-phase": status.phase },
      el("p", { class: "code" }, grouped(status.code)),
      el("p", { class: "hint" }, t("status_received_on", { date: status.received_on })),
      el("ol", { class: "steps" }, steps),
    ),
  );
}

// ---------- network, language, start ----------

function renderNet() {
  const online = navigator.onLine && !tips.isNetworkDown();
  const net = $("net");
  net.textContent = online ? t("online") : t("offline");
  net.classList.toggle("off", !online);
}

function rerender() {
  applyStatic(document);
  document.title = `${t("check_title")} · plantscout`;
  renderNet();
  renderResult();
  renderGps();
  renderPin();
  renderReceipt();
  renderMyTips();
  renderStatus();
}

function init() {
  setLang(getLang());
  rerender();
  $("lang").addEventListener("click", () => {
    setLang(getLang() === "zh" ? "en" : "zh");
    rerender();
  });
  document.querySelectorAll(".tabs button").forEach((b) => {
    b.addEventListener("click", () => show(b.dataset.view));
  });
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  for (const id of ["check-camera", "check-pick"]) {
    $(id).addEventListener("change", (event) => {
      setPhotos(event.target.files);
      event.target.value = "";
      runCheck();
    });
  }
  $("report-pick").addEventListener("change", (event) => {
    setPhotos(event.target.files, { append: true });
    event.target.value = "";
    renderReportPhotos();
  });
  $("to-report").addEventListener("click", () => show("report"));
  $("check-again").addEventListener("click", () => {
    resetReport();
    show("check");
  });
  $("use-location").addEventListener("click", startGps);
  $("report-form").addEventListener("submit", submitReport);
  $("receipt-new").addEventListener("click", () => {
    resetReport();
    show("check");
  });
  $("receipt-status").addEventListener("click", async () => {
    const record = await tips.get(state.receiptId);
    if (record && record.code) lookup(record.code, record.secret);
  });
  $("status-form").addEventListener("submit", (event) => {
    event.preventDefault();
    lookup($("status-code").value.replace(/[\s-]/g, ""), $("status-secret").value.replace(/[\s-]/g, ""));
  });
  tips.onChange(() => {
    renderNet();
    renderReceipt();
    if (!$("view-status").hidden) renderMyTips();
  });
  window.addEventListener("online", () => {
    renderNet();
    tips.kick();
  });
  window.addEventListener("offline", renderNet);
  show(location.hash.slice(1) || "check");
  tips.kick();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
  pageMessage("");
}

init();
