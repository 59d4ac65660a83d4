// The reviewers' tips page: the triage queue by group (list and map), one tip with its
// photos, group and audit trail, and the three decisions — make a target for a ground check,
// dismiss with a reason, record the reward. Uses the key the field page stored. Everything a
// tipster typed reaches the page as text only (textContent; map tooltips are DOM nodes).

import "./public-i18n.js";
import { ApiError, api, getKey, photoUrl, request } from "./api.js";
import { fmtDateTime, getLang, setLang, t } from "./i18n.js";
import { el, loadTaxonomy, renderScore, verdictBadge } from "./verdict.js";

const $ = (id) => document.getElementById(id);
const COLOURS = { received: "#7a4100", checking: "#003cb3", confirmed: "#b00020" };
const REASONS = ["not_drug_plant", "duplicate", "no_location", "outside_area", "abuse", "other"];
const state = { groups: [], cursor: null, map: null, layer: null, tip: null, urls: [] };

function message(id, text, kind = "warn") {
  const box = $(id);
  box.className = `notice ${kind}`;
  box.textContent = text || "";
  box.hidden = !text;
}

function outcomeTag(outcome) {
  return el("span", { class: `tag o-${outcome}`, "data-outcome": outcome }, t(`outcome_${outcome}`));
}

function textTooltip(text) {
  return el("span", { class: "tip" }, String(text ?? ""));
}

// ---------- the queue ----------

async function loadGroups(more = false) {
  const query = { limit: 50 };
  const triage = $("f-triage").value;
  if (triage) query.triage = triage;
  if (more && state.cursor) query.cursor = state.cursor;
  try {
    const page = await api.get("/v1/tips", query);
    state.groups = more ? [...state.groups, ...page.items] : page.items;
    state.cursor = page.next_cursor;
    message("tips-msg", "");
  } catch (err) {
    message("tips-msg", err.message);
  }
  renderGroups();
  renderMap();
}

function groupCard(group) {
  const lead = group.lead;
  const reasons = new Set(group.members.map((m) => m.group_reason).filter(Boolean));
  return el(
    "li",
    { class: "group-card", "data-group": group.group_id, "data-size": String(group.size) },
    el(
      "button",
      { type: "button", class: "open", onclick: () => openTip(lead.id) },
      el("strong", {}, lead.code),
      " ",
      lead.verdict ? verdictBadge(lead.verdict) : null,
      outcomeTag(lead.outcome),
      group.size > 1 ? el("span", { class: "tag" }, t("tips_group_size", { n: group.size })) : null,
      ...[...reasons].map((r) => el("span", { class: "tag" }, t(`tips_group_${r}`))),
      el("div", { class: "meta" }, fmtDateTime(group.latest_received_at)),
      lead.place ? el("div", {}, lead.place) : null,
      lead.description ? el("div", { class: "meta" }, lead.description.slice(0, 120)) : null,
    ),
  );
}

function renderGroups() {
  const list = $("group-list");
  list.replaceChildren(
    ...(state.groups.length
      ? state.groups.map(groupCard)
      : [el("li", { class: "hint" }, t("tips_none"))]),
  );
  $("tips-more").hidden = !state.cursor;
}

function renderMap() {
  if (typeof L === "undefined") return;
  if (!state.map) {
    state.map = L.map("tips-map", { attributionControl: false, zoomSnap: 0.5, maxZoom: 19 });
    L.control.scale({ imperial: false }).addTo(state.map);
    state.map.setView([25, 103], 5);
    state.layer = L.featureGroup().addTo(state.map);
  }
  state.map.invalidateSize();
  state.layer.clearLayers();
  const points = [];
  for (const group of state.groups) {
    const lead = group.lead;
    if (lead.location.lat === null || lead.location.lat === undefined) continue;
    const marker = L.circleMarker([lead.location.lat, lead.location.lon], {
      radius: 8 + Math.min(group.size, 8),
      color: "#000",
      weight: 2,
      fillColor: COLOURS[lead.outcome] || "#777",
      fillOpacity: 0.9,
    });
    marker.bindTooltip(textTooltip(`${lead.code} · ${lead.place || ""}`));
    marker.on("click", () => openTip(lead.id));
    marker.addTo(state.layer);
    marker.getElement()?.setAttribute("data-group", group.group_id);
    points.push([lead.location.lat, lead.location.lon]);
  }
  if (points.length)
    state.map.fitBounds(L.latLngBounds(points), { padding: [32, 32], maxZoom: 16, animate: false });
}

async function loadSummary() {
  try {
    const s = await api.get("/v1/tips/summary");
    const totals = s.totals;
    const share = totals.share_confirmed === null ? "—" : `${Math.round(totals.share_confirmed * 100)}%`;
    $("summary").replaceChildren(
      el(
        "dl",
        { class: "kv" },
        el("dt", {}, t("summary_received")),
        el("dd", { "data-n": "received" }, String(totals.received)),
        el("dt", {}, t("summary_share")),
        el("dd", { "data-n": "share" }, share),
        el("dt", {}, t("summary_first_check")),
        el("dd", {}, String(totals.median_hours_to_first_check ?? "—")),
        el("dt", {}, t("summary_paid")),
        el("dd", { "data-n": "paid" }, `${totals.rewards_paid} · ${totals.reward_amount_paid} ¥`),
      ),
      el(
        "table",
        { class: "summary-table" },
        el(
          "tr",
          {},
          [t("summary_week"), t("summary_received"), t("outcome_confirmed"), t("summary_paid")].map(
            (h) => el("th", {}, h),
          ),
        ),
        s.weeks.map((w) =>
          el(
            "tr",
            {},
            el("td", {}, w.week),
            el("td", {}, String(w.received)),
            el("td", {}, String(w.confirmed)),
            el("td", {}, String(w.reward_amount_paid)),
          ),
        ),
      ),
    );
  } catch (err) {
    $("summary").replaceChildren(el("p", { class: "notice warn" }, err.message));
  }
}

// ---------- one tip ----------

function clearUrls() {
  for (const url of state.urls) URL.revokeObjectURL(url);
  state.urls = [];
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

async function openTip(id) {
  try {
    state.tip = await api.get(`/v1/tips/${encodeURIComponent(id)}`);
  } catch (err) {
    message("tips-msg", err.message);
    return;
  }
  $("tips-browse").hidden = true;
  $("tip-detail").hidden = false;
  renderTip();
  window.scrollTo(0, 0);
}

function back() {
  clearUrls();
  state.tip = null;
  $("tip-detail").hidden = true;
  $("tips-browse").hidden = false;
  loadGroups();
  loadSummary();
}

function field(label, input) {
  return el("label", {}, el("span", {}, label), input);
}

function targetForm(tip) {
  const form = el(
    "form",
    { id: "target-form", class: "grid2" },
    field(t("target_name"), el("input", { id: "t-name", type: "text", maxlength: "300" })),
    field(t("target_unit"), el("input", { id: "t-unit", type: "text", maxlength: "100" })),
    field(t("target_due"), el("input", { id: "t-due", type: "date" })),
    field(t("target_link_id"), el("input", { id: "t-link", type: "text", maxlength: "36" })),
    field(t("target_note"), el("input", { id: "t-note", type: "text", maxlength: "4000" })),
    field(t("whole_group"), el("input", { id: "t-group", type: "checkbox", checked: true })),
    el("button", { type: "submit", class: "btn primary" }, t("make_target")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { scope: $("t-group").checked ? "group" : "tip" };
    for (const [key, id] of [
      ["name", "t-name"],
      ["unit", "t-unit"],
      ["due_on", "t-due"],
      ["target_id", "t-link"],
      ["notes", "t-note"],
    ]) {
      const value = $(id).value.trim();
      if (value) body[key] = value;
    }
    act(`/v1/tips/${tip.id}/target`, "POST", body);
  });
  return form;
}

function dismissForm(tip) {
  const reason = el(
    "select",
    { id: "d-reason" },
    REASONS.map((r) => el("option", { value: r }, t(`reason_${r}`))),
  );
  const form = el(
    "form",
    { id: "dismiss-form", class: "grid2" },
    field(t("dismiss_reason"), reason),
    field(t("target_note"), el("input", { id: "d-note", type: "text", maxlength: "4000" })),
    field(t("whole_group"), el("input", { id: "d-group", type: "checkbox", checked: true })),
    el("button", { type: "submit", class: "btn danger" }, t("dismiss")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { reason: $("d-reason").value, scope: $("d-group").checked ? "group" : "tip" };
    if ($("d-note").value.trim()) body.note = $("d-note").value.trim();
    act(`/v1/tips/${tip.id}/dismiss`, "POST", body);
  });
  return form;
}

function rewardForm(tip) {
  const reward = tip.reward;
  if (reward && reward.paid_on) {
    return el(
      "p",
      { id: "reward-final", class: "notice ok" },
      t("reward_final", { amount: reward.amount, date: reward.paid_on }),
    );
  }
  const decision = el(
    "select",
    { id: "r-decision" },
    el("option", { value: "eligible" }, t("reward_eligible_opt")),
    el("option", { value: "not_eligible" }, t("reward_not_eligible_opt")),
  );
  if (reward) decision.value = reward.decision;
  const form = el(
    "form",
    { id: "reward-form", class: "grid2" },
    field(t("reward_decision"), decision),
    field(
      t("reward_amount"),
      el("input", { id: "r-amount", type: "number", min: "1", step: "1", inputmode: "numeric" }),
    ),
    field(t("reward_paid_on"), el("input", { id: "r-paid", type: "date" })),
    field(
      t("reward_claim_secret"),
      el("input", { id: "r-secret", type: "text", autocomplete: "off", spellcheck: "false" }),
    ),
    field(t("reward_note"), el("input", { id: "r-note", type: "text", maxlength: "2000" })),
    el("button", { type: "submit", class: "btn primary" }, t("reward_save")),
  );
  if (reward && reward.amount) form.querySelector("#r-amount").value = String(reward.amount);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { decision: $("r-decision").value };
    const amount = $("r-amount").value.trim();
    if (amount) body.amount = Number(amount);
    if ($("r-paid").value) body.paid_on = $("r-paid").value;
    if ($("r-secret").value.trim()) body.claim_secret = $("r-secret").value.trim();
    if ($("r-note").value.trim()) body.note = $("r-note").value.trim();
    act(`/v1/tips/${tip.id}/reward`, "PUT", body);
  });
  return form;
}

async function act(path, method, body) {
  try {
    state.tip = await request(method, path, {
      body,
      headers: { "If-Match": `"${state.tip.version}"` },
    });
    renderTip(t("saved"), "ok");
  } catch (err) {
    if (err instanceof ApiError && err.status === 412) {
      state.tip = await api.get(`/v1/tips/${state.tip.id}`);
      renderTip(t("err_precondition_failed"));
    } else {
      // keep what the reviewer typed (e.g. a mistyped claim secret) and say what is wrong
      const msg = $("tip-msg");
      msg.className = "notice warn";
      msg.textContent = err.message;
      msg.hidden = false;
      msg.scrollIntoView({ block: "center" });
    }
  }
}

function renderTip(note = "", kind = "warn") {
  const tip = state.tip;
  if (!tip) return;
  clearUrls();
  const loc = tip.location;
  const photos = el(
    "ul",
    { class: "detail-photos" },
    tip.photo_list.map((photo) => {
      const img = el("img", { alt: `${tip.code} ${photo.position + 1}` });
      photoUrl(photo.url)
        .then((url) => {
          state.urls.push(url);
          img.src = url;
        })
        .catch(() => {});
      return el(
        "li",
        { class: "detail-photo", "data-photo": String(photo.position) },
        img,
        renderScore(photo.score),
      );
    }),
  );
  $("tip-detail").replaceChildren(
    el("button", { type: "button", class: "btn", onclick: back }, t("back")),
    el("h2", {}, `${t("tip_code")} ${tip.code} `, outcomeTag(tip.outcome)),
    el("p", { id: "tip-msg", class: `notice ${kind}`, role: "status", hidden: !note }, note),
    kv([
      [t("tip_received"), fmtDateTime(tip.received_at)],
      [t("tip_place"), tip.place],
      [t("tip_description"), tip.description],
      [t("tip_contact"), tip.contact],
      [
        t("tip_location"),
        loc.lat === null ? t("tip_no_location") : `${loc.lat.toFixed(6)}, ${loc.lon.toFixed(6)} (${loc.source})`,
      ],
      [t("tip_target"), tip.target ? `${tip.target.name || tip.target.issuer_id} · ${tip.target.status}` : null],
      [t("tip_first_check"), tip.first_check_at ? fmtDateTime(tip.first_check_at) : null],
      [t("model"), tip.model ? `${tip.model.name} ${tip.model.version}` : null],
    ]),
    el("h3", {}, t("tip_photos")),
    photos,
    el("h3", {}, t("tip_group")),
    el(
      "ul",
      { class: "cards" },
      tip.group.map((m) =>
        el(
          "li",
          { class: "card", "data-member": m.id },
          el(
            "button",
            { type: "button", class: "open", onclick: () => openTip(m.id) },
            `${m.code} · ${fmtDateTime(m.received_at)} `,
            outcomeTag(m.outcome),
          ),
        ),
      ),
    ),
    el("h3", {}, t("make_target")),
    targetForm(tip),
    el("h3", {}, t("dismiss")),
    dismissForm(tip),
    el("h3", {}, t("reward_title")),
    rewardForm(tip),
    el("h3", {}, t("history")),
    el(
      "ul",
      { class: "cards" },
      tip.audit.map((a) =>
        el(
          "li",
          { class: "card", "data-action": a.action },
          `${fmtDateTime(a.at)} · ${a.action} · ${a.actor || "—"}`,
          el("div", { class: "meta" }, JSON.stringify(a.changes)),
        ),
      ),
    ),
  );
}

// ---------- start ----------

async function start() {
  if (!getKey()) {
    message("tips-auth", t("tips_need_key"));
    return;
  }
  try {
    const me = await api.get("/v1/me");
    if (me.role !== "reviewer" && me.role !== "admin") {
      message("tips-auth", t("tips_not_reviewer"));
      return;
    }
  } catch (err) {
    message("tips-auth", err.message);
    return;
  }
  $("tips-browse").hidden = false;
  await loadTaxonomy();
  loadGroups();
  loadSummary();
}

setLang(getLang());
$("lang").addEventListener("click", () => {
  setLang(getLang() === "zh" ? "en" : "zh");
  renderGroups();
  if (state.tip) renderTip();
});
$("f-triage").addEventListener("change", () => loadGroups());
$("tips-more").addEventListener("click", () => loadGroups(true));
start();
