// The field page: views, language, network state, settings, the pending list, and the
// service worker that keeps the app shell on the phone.

import { NetworkError, api, getKey, setKey } from "./api.js";
import { applyStatic, fmtDateTime, getLang, setLang, t } from "./i18n.js";
import * as queue from "./queue.js";
import { initCapture, rerenderCapture, rescoreOffline } from "./capture.js";
import { errorText, settings } from "./common.js";
import { el, loadTaxonomy, verdictBadge } from "./verdict.js";
import * as track from "./track.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["capture", "queue", "review", "settings"];
let current = null;
let review = null; // the review module, loaded with Leaflet on first use

// ---------- views ----------

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

async function reviewModule() {
  if (!review) {
    if (typeof window.L === "undefined") await loadScript("vendor/leaflet/leaflet.js");
    review = await import("./review.js");
    review.initReview();
  }
  return review;
}

async function show(view) {
  if (!VIEWS.includes(view)) view = "capture";
  if (view === "review" && !canReview()) view = "capture";
  current = view;
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  document.querySelectorAll(".tabs button").forEach((b) => {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  if (view === "queue") renderQueue();
  if (view === "review") (await reviewModule()).showReview();
}

function canReview() {
  const who = settings.who();
  return Boolean(who && (who.role === "reviewer" || who.role === "admin"));
}

// ---------- who is this key ----------

function renderWho() {
  const who = settings.who();
  $("tab-review").hidden = !canReview();
  $("capture-need-key").hidden = Boolean(getKey());
  // An inspector key files for its own unit only (the service refuses others).
  const unit = $("unit");
  const fixed = Boolean(who && who.role === "inspector" && who.unit);
  if (fixed) unit.value = who.unit;
  else if (who && !unit.value) unit.value = who.unit || "";
  unit.readOnly = fixed;
  const msg = $("key-msg");
  if (who) {
    msg.className = "notice ok";
    msg.textContent = t("key_ok", { role: t(`role_${who.role}`), unit: who.unit || "—" });
    msg.hidden = false;
  }
}

async function checkKey({ quiet = false } = {}) {
  const msg = $("key-msg");
  if (!getKey()) {
    settings.setWho(null);
    renderWho();
    return;
  }
  try {
    const who = await api.get("/v1/me", null, { timeoutMs: 10000 });
    settings.setWho({ role: who.role, unit: who.unit, name: who.name });
    renderWho();
  } catch (err) {
    if (err instanceof NetworkError) {
      if (!quiet) {
        msg.className = "notice warn";
        msg.textContent = t("key_saved_offline");
        msg.hidden = false;
      }
      return;
    }
    settings.setWho(null);
    renderWho();
    msg.className = "notice err";
    msg.textContent = t("key_bad", { msg: errorText(err) });
    msg.hidden = false;
  }
}

function initSettings() {
  $("api-key").value = getKey();
  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setKey($("api-key").value);
    await checkKey();
    if (getKey()) {
      loadTaxonomy();
      queue.kick({ includeFailed: true });
      track.kick();
      if (settings.who()) show("capture");
    }
  });
  $("key-show").addEventListener("click", () => {
    const input = $("api-key");
    input.type = input.type === "password" ? "text" : "password";
    $("key-show").setAttribute("aria-pressed", String(input.type === "text"));
  });
  $("key-forget").addEventListener("click", () => {
    setKey("");
    $("api-key").value = "";
    settings.setWho(null);
    $("key-msg").hidden = true;
    renderWho();
  });
  const threshold = $("acc-threshold");
  threshold.value = settings.accuracyThreshold();
  threshold.addEventListener("change", () => {
    settings.setAccuracyThreshold(threshold.value);
    rerenderCapture();
  });
}

// ---------- the pending list ----------

function queueStatus(record) {
  if (record.status === "sending") return t("status_sending");
  if (record.status === "failed") return t("status_failed", { msg: record.error || "" });
  if (record.status === "retry") return t("status_retry", { msg: record.error || "" });
  return t("status_waiting");
}

async function renderQueue() {
  const [queued, sent] = await Promise.all([queue.store.listQueued(), queue.store.listSent()]);
  const badge = $("queue-badge");
  badge.textContent = String(queued.length);
  badge.hidden = queued.length === 0;
  badge.setAttribute("aria-label", t("pending_count", { n: queued.length }));
  if (current !== "queue") return;
  $("queue-list").replaceChildren(
    ...(queued.length
      ? queued.map((r) =>
          el(
            "li",
            { class: "card", "data-id": r.id, "data-status": r.status },
            el(
              "div",
              {},
              t("queue_item", {
                time: fmtDateTime(r.created_at),
                n: r.photos.length,
                site: t(`site_${r.meta.site_type}`),
              }),
            ),
            r.meta.notes ? el("div", { class: "meta" }, r.meta.notes.slice(0, 60)) : null,
            el("div", { class: `meta status-${r.status}` }, queueStatus(r)),
            el(
              "button",
              {
                type: "button",
                class: "btn danger",
                onclick: async () => {
                  if (confirm(t("confirm_delete"))) {
                    await queue.store.deleteQueued(r.id);
                    renderQueue();
                  }
                },
              },
              t("delete"),
            ),
          ),
        )
      : [el("li", { class: "hint" }, t("queue_empty"))]),
  );
  $("sent-list").replaceChildren(
    ...(sent.length
      ? sent.map((r) =>
          el(
            "li",
            { class: "card", "data-id": r.id },
            verdictBadge(r.verdict),
            " ",
            t("queue_item", {
              time: fmtDateTime(r.created_at),
              n: r.photos,
              site: t(`site_${r.site_type}`),
            }),
            el("div", { class: "meta" }, `${r.id.slice(0, 8)} · ${fmtDateTime(r.sent_at)}`),
          ),
        )
      : [el("li", { class: "hint" }, t("sent_empty"))]),
  );
}

// ---------- network ----------

// navigator.onLine alone is optimistic (a phone on a dead connection says "online"), so a
// failed send also counts as offline until a send gets through.
function renderNet() {
  const online = navigator.onLine && !queue.isNetworkDown();
  const net = $("net");
  net.textContent = online ? t("online") : t("offline");
  net.classList.toggle("off", !online);
}

function sendPending() {
  if (getKey()) queue.kick();
}

// ---------- language ----------

function rerender() {
  applyStatic(document);
  renderNet();
  renderWho();
  rerenderCapture();
  renderQueue();
  track.render();
  if (review) review.rerenderReview();
}

// ---------- start ----------

function init() {
  setLang(getLang());
  $("lang").addEventListener("click", () => {
    setLang(getLang() === "zh" ? "en" : "zh");
    rerender();
  });
  document.querySelectorAll(".tabs button").forEach((b) => {
    b.addEventListener("click", () => show(b.dataset.view));
  });
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  queue.onChange(() => {
    renderQueue();
    renderNet();
  });
  $("send-now").addEventListener("click", () => {
    if (getKey()) queue.kick({ includeFailed: true });
  });
  initSettings();
  initCapture();
  track.initTrack();
  renderWho();
  renderNet();
  renderQueue();
  window.addEventListener("online", () => {
    renderNet();
    sendPending();
    rescoreOffline();
    loadTaxonomy();
  });
  window.addEventListener("offline", renderNet);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") sendPending();
  });
  show(getKey() ? location.hash.slice(1) || "capture" : "settings");
  loadTaxonomy().then(rerenderCapture);
  checkKey({ quiet: true }).then(() => {
    if (location.hash === "#review") show("review");
  });
  sendPending();
  // Ask the browser not to evict the queue (photos waiting for a signal) under storage pressure.
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch(() => {});
  }
}

init();
