// Setting up a phone without typing a 64-character key. An administrator makes a key with a
// QR code (Settings, admin keys; or `plantscout keys create --url … --qr …`); the code holds
// a link to this page with the key in the #fragment (never sent to any server). Opening the
// link — from the phone camera's QR reader, or scanned here where the browser has a
// BarcodeDetector — saves the key, checks it, and removes it from the address bar.

import { api, getKey, setKey } from "./api.js";
import { errorText } from "./common.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const PREFIX = "#setup=";

// The key in this page's address, removed from the address bar at once; null if none.
export function takeKeyFromAddress() {
  if (!location.hash.startsWith(PREFIX)) return null;
  const key = decodeURIComponent(location.hash.slice(PREFIX.length)).trim();
  history.replaceState(null, "", location.pathname + location.search);
  if (!key) return null;
  if (getKey() && getKey() !== key && !confirm(t("setup_confirm_replace"))) return null;
  return key;
}

// ---------- scanning (where the browser can) ----------

let scanning = null;

async function scan(onKey) {
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment" },
    audio: false,
  });
  const video = $("setup-video");
  video.srcObject = stream;
  await video.play();
  $("setup-scanner").hidden = false;
  scanning = { stream, stop: false };
  const run = scanning;
  while (!run.stop) {
    const codes = await detector.detect(video).catch(() => []);
    const hit = codes.map((c) => c.rawValue).find((v) => v.includes(PREFIX));
    if (hit) {
      stopScan();
      const url = new URL(hit, location.href);
      if (url.origin + url.pathname !== location.origin + location.pathname) {
        // a code for another service: go there, where the key belongs
        if (confirm(t("setup_other_service", { url: url.origin }))) location.href = url.href;
        return;
      }
      onKey(decodeURIComponent(url.hash.slice(PREFIX.length)));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function stopScan() {
  if (!scanning) return;
  scanning.stop = true;
  for (const track of scanning.stream.getTracks()) track.stop();
  scanning = null;
  $("setup-scanner").hidden = true;
}

// ---------- admin: make a key and its QR code ----------

async function createKey(event) {
  event.preventDefault();
  const msg = $("setup-msg");
  msg.hidden = true;
  const role = $("setup-role").value;
  const body = {
    role,
    name: $("setup-name").value.trim() || `${role}@${$("setup-unit").value.trim() || "all"}`,
    unit: $("setup-unit").value.trim() || null,
    setup_url: $("setup-url").value.trim(),
  };
  try {
    const created = await api.post("/v1/keys", body);
    $("setup-qr").src = created.setup.qr_png;
    $("setup-qr").alt = `QR: ${created.name}`;
    $("setup-who").textContent = [t(`role_${created.role}`), created.unit, created.name]
      .filter(Boolean)
      .join(" · ");
    $("setup-link").textContent = created.setup.link;
    $("setup-result").hidden = false;
  } catch (err) {
    msg.className = "notice err";
    msg.textContent = errorText(err);
    msg.hidden = false;
  }
}

export function renderSetup(who) {
  $("setup-section").hidden = !(who && who.role === "admin");
  if (!$("setup-url").value) $("setup-url").value = location.origin + location.pathname;
}

export function initSetup(onKey) {
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    $("setup-scan").hidden = false;
    $("setup-scan").addEventListener("click", () => scan(onKey).catch(stopScan));
    $("setup-scan-stop").addEventListener("click", stopScan);
  }
  $("setup-form").addEventListener("submit", createKey);
  $("setup-print").addEventListener("click", () => window.print());
}
