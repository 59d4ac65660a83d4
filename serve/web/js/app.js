// The field page: views, language, network state, settings, notices, and the service worker
// that keeps the app shell (and the on-device model) on the phone.

import { NetworkError, api, getKey, setKey } from "./api.js";
import { applyStatic, getLang, setLang, t } from "./i18n.js";
import * as queue from "./queue.js";
import {
  currentDraftId,
  draftDeleted,
  initCapture,
  loadTargets,
  openDraft,
  rerenderCapture,
  rescoreOffline,
} from "./capture.js";
import { errorText, settings } from "./common.js";
import { loadTaxonomy } from "./verdict.js";
import * as track from "./track.js";
import * as ondevice from "./ondevice.js";
import * as records from "./records.js";
import * as notices from "./notices.js";
import { initSetup, renderSetup, takeKeyFromAddress } from "./setup.js";
import { leaflet } from "./maps.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["capture", "records", "review", "settings"];
let current = null;
let review = null; // the review module, loaded with Leaflet on first use
let reviewLoading = null; // one load, however many callers (a tap and the key check race)

// ---------- views ----------

async function reviewModule() {
  if (!reviewLoading) {
    reviewLoading = (async () => {
      await leaflet();
      const module = await import("./review.js");
      module.initReview();
      review = module;
      return module;
    })();
    reviewLoading.catch(() => {
      reviewLoading = null;
    });
  }
  await reviewLoading;
  return review;
}

async function show(view) {
  if (view === "queue") view = "records"; // old bookmarks
  if (!VIEWS.includes(view)) view = "capture";
  if (view === "review" && !canReview()) view = "capture";
  current = view;
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  document.querySelectorAll(".tabs button").forEach((b) => {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  if (view === "records") records.show();
  else records.hide();
  if (view === "review") (await reviewModule()).showReview();
}

function canReview() {
  const who = settings.who();
  return Boolean(who && (who.role === "reviewer" || who.role === "admin"));
}

// Where a key goes once it is known: reviewers to their work, inspectors to capture.
function home() {
  return canReview() ? "review" : "capture";
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
  renderSetup(who);
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

// A key was entered, scanned or opened from a setup link: check it, then everything that
// needed a key (taxonomy, queue, track, nearby targets, the on-device model, my records).
async function useKey(key) {
  setKey(key);
  $("api-key").value = getKey();
  await checkKey();
  if (!getKey()) return;
  loadTaxonomy().then(rerenderCapture); // names, marks and photo guides now in hand
  queue.kick({ includeFailed: true });
  track.kick();
  loadTargets();
  ondevice.load();
  records.sync();
  if (settings.who()) show(home());
}

function initSettings() {
  $("api-key").value = getKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useKey($("api-key").value);
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
  initSetup(useKey);
}

// ---------- network ----------

// navigator.onLine alone is optimistic (a phone on a dead connection says "online"), so a
// send that could not reach the service also counts as offline until one gets through; a
// lost answer on a working connection does not (queue.js tells the two apart).
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
  records.render();
  notices.render();
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
  window.addEventListener("hashchange", () => {
    const key = takeKeyFromAddress();
    if (key) useKey(key);
    else show(location.hash.slice(1));
  });
  queue.onChange(() => {
    records.render();
    renderNet();
  });
  initSettings();
  initCapture();
  records.initRecords({
    onResume: async (id) => {
      await openDraft(id);
      show("capture");
    },
    onDeleteDraft: (id) => draftDeleted(id),
  });
  track.initTrack();
  renderWho();
  renderNet();
  notices.render();
  records.render();
  window.addEventListener("online", () => {
    renderNet();
    sendPending();
    rescoreOffline();
    loadTaxonomy().then(rerenderCapture);
    loadTargets();
    ondevice.load();
    records.sync();
  });
  window.addEventListener("offline", renderNet);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") sendPending();
  });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch(() => {});
  }
  const setupKey = takeKeyFromAddress();
  if (setupKey) {
    show("settings");
    useKey(setupKey).then(() => {
      if (getKey()) {
        $("key-msg").textContent += ` · ${t("setup_applied")}`;
      }
    });
  } else {
    show(getKey() ? location.hash.slice(1) || (currentDraftId() ? "capture" : home()) : "settings");
  }
  loadTaxonomy().then(rerenderCapture);
  if (!setupKey) {
    checkKey({ quiet: true }).then(() => {
      if (location.hash === "#review") show("review");
    });
  }
  if (getKey()) {
    ondevice.load();
    if (navigator.onLine) records.sync();
  }
  sendPending();
  // Ask the browser not to evict the queue (photos waiting for a signal) under storage pressure.
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
}

init();
