// Rendering a score (model Score.as_dict()) for people: verdict, species with level, the
// unusable reason, and the field marks that tell a suspected species from its look-alikes.

import { pick, t } from "./i18n.js";
import { api } from "./api.js";

const TAXONOMY_STORAGE = "plantscout.taxonomy";
let taxonomy = null;

// The labels (names, field marks) in both languages, from the service; kept for offline use.
export async function loadTaxonomy() {
  try {
    const cached = localStorage.getItem(TAXONOMY_STORAGE);
    if (cached && !taxonomy) taxonomy = JSON.parse(cached);
  } catch {
    taxonomy = null;
  }
  try {
    const body = await api.get("/v1/taxonomy", null, { timeoutMs: 10000 });
    taxonomy = Object.fromEntries(body.labels.map((label) => [label.key, label]));
    localStorage.setItem(TAXONOMY_STORAGE, JSON.stringify(taxonomy));
  } catch {
    // offline: the cached copy (if any) will do
  }
  return taxonomy;
}

// Every label of the taxonomy (with roles, field marks and photo guides), in order.
export function taxonomyLabels() {
  return taxonomy ? Object.values(taxonomy) : [];
}

export function labelName(key) {
  const label = taxonomy && taxonomy[key];
  return label ? pick(label.name) : key;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function verdictBadge(verdict) {
  const v = verdict || "pending";
  return el("span", { class: `verdict v-${v}`, "data-verdict": v, text: t(`verdict_${v}`) });
}

// A probability for people: never "100 %" or "0 %", which read as certainty the model
// does not have.
export function fmtProbability(p) {
  if (p > 0.99) return t("probability_over", { p: 99 });
  if (p < 0.01) return t("probability_under", { p: 1 });
  return t("probability", { p: Math.round(p * 100) });
}

function speciesLine(s) {
  const name = s.name ? pick(s.name) : labelName(s.key);
  const parts = [name];
  if (s.level) parts.push(` — ${t(`level_${s.level}`)}`);
  if (s.probability !== null && s.probability !== undefined) {
    parts.push(` (${fmtProbability(s.probability)})`);
  }
  return el(
    "li",
    { "data-species": s.key, "data-level": s.level || "" },
    el("strong", {}, parts.join("")),
    s.message ? el("div", { class: "hint" }, pick(s.message)) : null,
  );
}

// Field marks for every controlled species raised in this score, plus the look-alike's own
// marks when the model's top label is a look-alike of one.
function fieldMarks(score) {
  if (!taxonomy) return [];
  const keys = [];
  for (const s of score.species || []) if (s.level) keys.push(s.key);
  if (score.verdict === "clear") {
    for (const s of score.species || []) if (s.trained === false) keys.push(s.key);
  }
  const top = taxonomy[score.top_label];
  if (top && top.role === "lookalike" && top.lookalike_of) {
    if (!keys.includes(top.lookalike_of)) keys.push(top.lookalike_of);
    keys.push(top.key);
  }
  const marks = [];
  const seen = new Set();
  for (const key of keys) {
    for (const mark of (taxonomy[key] && taxonomy[key].field_marks) || []) {
      const text = pick(mark);
      if (!seen.has(text)) {
        seen.add(text);
        marks.push(text);
      }
    }
  }
  return marks;
}

// "Clear" says what the plant most likely is, and which controlled species the model cannot
// rule out because it was never trained on them (opium poppy for the shipped model).
function clearHelp(score) {
  const top = score.top_label;
  const p = score.probabilities ? score.probabilities[top] : null;
  const likely = top
    ? t("clear_likely", {
        name: labelName(top),
        p: p === null || p === undefined ? "" : fmtProbability(p),
      })
    : "";
  const untrained = (score.species || []).filter((s) => s.trained === false);
  const names = untrained.map((s) => (s.name ? pick(s.name) : labelName(s.key))).join("、");
  return [
    el("p", { class: "hint" }, likely, " ", t("verdict_help_clear")),
    names ? el("p", { class: "hint caveat" }, t("clear_cannot_rule_out", { names })) : null,
  ];
}

// One photo's score as a block of elements (the caller may show the badge elsewhere).
// A score made on the phone (offline) says so: the service scores the photo again when the
// record is sent, and its verdict is the one recorded.
export function renderScore(score, { badge = true } = {}) {
  const box = el("div", {
    class: "score",
    "data-verdict": score.verdict,
    "data-source": score.source === "device" ? "device" : "server",
  });
  if (badge) box.append(verdictBadge(score.verdict));
  if (score.verdict === "unusable") {
    box.append(
      el(
        "p",
        { class: "notice warn", role: "alert" },
        pick(score.message) || t("verdict_help_unusable"),
      ),
    );
    return box;
  }
  if (score.verdict === "clear") box.append(...clearHelp(score).filter(Boolean));
  else box.append(el("p", { class: "hint" }, t(`verdict_help_${score.verdict}`)));
  const raised = (score.species || []).filter((s) => s.level);
  if (raised.length) box.append(el("ul", { class: "species" }, raised.map(speciesLine)));
  const marks = fieldMarks(score);
  if (marks.length) {
    box.append(
      el(
        "details",
        { class: "marks", open: score.verdict === "suspected" || score.verdict === "review" },
        el("summary", {}, t("field_marks")),
        el(
          "ul",
          {},
          marks.map((m) => el("li", {}, m)),
        ),
      ),
    );
  }
  return box;
}
