// The learn page: each controlled plant through the season, its field marks, the plants
// mistaken for it and how to tell them apart, reference photos with their attribution, the
// law and how reports are rewarded — all from GET /v1/public/learn, shown as text.

import "./public-i18n.js";
import { applyStatic, getLang, pick, setLang, t } from "./i18n.js";
import { publicApi } from "./public-api.js";
import { el } from "./verdict.js";

const $ = (id) => document.getElementById(id);
const CACHE = "plantscout.learn";
let content = null;

function figure(ref) {
  return el(
    "figure",
    { class: "ref-photo" },
    el("img", { src: ref.url, alt: pick(ref.caption), loading: "lazy" }),
    el("figcaption", {}, pick(ref.caption), el("small", {}, t("photo_credit", { a: ref.attribution }))),
  );
}

function species(s) {
  return el(
    "section",
    { class: "learn-sec", id: `sp-${s.key}`, "data-species": s.key },
    el("h2", {}, pick(s.name), " ", el("span", { class: "sci" }, s.scientific_name)),
    el("p", {}, pick(s.description)),
    s.detectable ? null : el("p", { class: "notice warn" }, t("not_detectable")),
    el("h3", {}, t("stages")),
    el(
      "ol",
      { class: "stages" },
      s.stages.map((st) =>
        el("li", { "data-stage": st.key }, el("strong", {}, pick(st.name)), pick(st.look)),
      ),
    ),
    el("h3", {}, t("marks_title")),
    el(
      "ul",
      {},
      s.field_marks.map((m) => el("li", {}, pick(m))),
    ),
    el("h3", {}, t("photos_title")),
    s.photos.length
      ? el("div", { class: "ref-photos" }, s.photos.map(figure))
      : el("p", { class: "hint" }, t("no_photos")),
    ...s.lookalikes.map((look) =>
      el(
        "section",
        { class: "lookalike", "data-lookalike": look.key },
        el("h3", {}, `${t("lookalikes_title")}: ${pick(look.name)}`),
        el("p", { class: "hint" }, pick(look.description)),
        el("h4", {}, t("how_to_tell")),
        el(
          "ul",
          {},
          look.how_to_tell.map((m) => el("li", {}, pick(m))),
        ),
        look.photos.length ? el("div", { class: "ref-photos" }, look.photos.map(figure)) : null,
      ),
    ),
  );
}

function section(sec, id) {
  return el(
    "section",
    { class: "learn-sec", id },
    el("h2", {}, pick(sec.title)),
    ...sec.paragraphs.map((p) => el("p", {}, pick(p))),
  );
}

function render() {
  applyStatic(document);
  document.title = `${t("learn_title")} · plantscout`;
  const lang = getLang();
  $("poster-png").href = `v1/public/poster.png?lang=${lang}`;
  $("poster-pdf").href = `v1/public/poster.pdf?lang=${lang}`;
  if (!content) return;
  $("learn").replaceChildren(
    ...content.species.map(species),
    section(content.check_limits, "limits"),
    section(content.law, "law"),
    section(content.rewards, "rewards"),
    content.hotline ? el("p", { class: "notice ok" }, t("hotline", { n: content.hotline })) : null,
  );
}

async function load() {
  try {
    content = JSON.parse(localStorage.getItem(CACHE) || "null");
  } catch {
    content = null;
  }
  render();
  try {
    content = await publicApi.get("/v1/public/learn", { timeoutMs: 20000 });
    localStorage.setItem(CACHE, JSON.stringify(content));
  } catch (err) {
    if (!content) {
      $("learn-msg").textContent = String(err.message || err);
      $("learn-msg").hidden = false;
    }
  }
  render();
}

setLang(getLang());
$("lang").addEventListener("click", () => {
  setLang(getLang() === "zh" ? "en" : "zh");
  render();
});
load();
if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
