// The Records view: drafts (resume, delete), records waiting to be sent, and "my records" —
// what this key filed, from the queue and from the service — on a list and a map that work
// offline with what was last seen. Refreshing from the service notices when a record was
// reviewed or its eradication recorded; the queue notices when a record it sent later came
// back suspected or for review (notices.js).

/* global L */
import { NetworkError, api, getKey } from "./api.js";
import { fmtDateTime, t } from "./i18n.js";
import * as queue from "./queue.js";
import * as drafts from "./drafts.js";
import * as notices from "./notices.js";
import * as store from "./store.js";
import { errorText } from "./common.js";
import { el, verdictBadge } from "./verdict.js";
import { blankMap, drawPoints, fitPoints, leaflet } from "./maps.js";

const $ = (id) => document.getElementById(id);
const SYNCED = "plantscout.mine.synced";
const MINE_LIMIT = 200;

const state = {
  visible: false,
  map: null,
  layer: null,
  urls: [],
  syncing: null,
  syncError: null,
  onResume: null,
  onDeleteDraft: null,
};

export function initRecords({ onResume, onDeleteDraft }) {
  state.onResume = onResume;
  state.onDeleteDraft = onDeleteDraft;
  $("send-now").addEventListener("click", () => {
    if (getKey()) queue.kick({ includeFailed: true });
  });
  $("mine-refresh").addEventListener("click", () => sync());
  queue.onSent((record, inspection, { retried }) => {
    // The inspector left the filed screen long ago: say what the service made of it.
    if (retried && (inspection.verdict === "suspected" || inspection.verdict === "review")) {
      notices.add({
        kind: "verdict",
        id: inspection.id,
        verdict: inspection.verdict,
        filed_at: record.created_at,
      });
    }
  });
  drafts.onChange(() => render());
}

// ---------- from the service ----------

function trim(item) {
  return {
    id: item.id,
    created_at: item.observed_at,
    observed_at: item.observed_at,
    verdict: item.verdict,
    site_type: item.site_type,
    unit: item.unit,
    review: { state: item.review.state, note: item.review.note },
    eradication: item.eradication,
    location: { lat: item.location.lat, lon: item.location.lon },
    photos: (item.photos || []).map((p) => ({ verdict: p.verdict })),
    plants: item.plants || [],
  };
}

// Fetch this key's records; compare with what was last seen to raise notices.
export function sync() {
  if (!getKey()) return Promise.resolve();
  if (state.syncing) return state.syncing;
  state.syncing = (async () => {
    try {
      const page = await api.get("/v1/inspections", { mine: "true", limit: MINE_LIMIT });
      const sentHere = new Set((await queue.store.listSent()).map((r) => r.id));
      const seen = new Map((await store.list("mine")).map((r) => [r.id, r]));
      for (const item of page.items) {
        const before = seen.get(item.id);
        const now = trim(item);
        const known = before || sentHere.has(item.id);
        const reviewed = now.review.state !== "pending";
        if (known && reviewed && (!before || before.review.state !== now.review.state)) {
          notices.add({ kind: "review", id: item.id, review: now.review.state });
        }
        if (known && now.eradication && !(before && before.eradication)) {
          notices.add({ kind: "eradication", id: item.id });
        }
        await store.put("mine", now);
      }
      localStorage.setItem(SYNCED, new Date().toISOString());
      state.syncError = null;
    } catch (err) {
      state.syncError = err;
    } finally {
      state.syncing = null;
    }
    if (state.visible) render();
  })();
  if (state.visible) render();
  return state.syncing;
}

// ---------- rendering ----------

function thumbUrl(data) {
  if (!data) return null;
  const url = URL.createObjectURL(new Blob([data], { type: "image/jpeg" }));
  state.urls.push(url);
  return url;
}

function thumbs(list) {
  const imgs = (list || []).filter(Boolean).slice(0, 4);
  if (!imgs.length) return null;
  return el(
    "div",
    { class: "thumbs" },
    imgs.map((data, i) => el("img", { src: thumbUrl(data), alt: t("photo_n", { n: i + 1 }) })),
  );
}

function queueStatus(record) {
  if (record.status === "sending") return t("status_sending");
  if (record.status === "failed") return t("status_failed", { msg: record.error || "" });
  if (record.status === "lost") return t("status_lost");
  if (record.status === "retry") return t("status_retry", { msg: record.error || "" });
  return t("status_waiting");
}

function deviceVerdict(photos) {
  const order = ["unusable", "clear", "review", "suspected"];
  const verdicts = photos.filter(Boolean);
  if (!verdicts.length) return null;
  return order[Math.max(...verdicts.map((v) => order.indexOf(v)))];
}

function draftCard(d) {
  return el(
    "li",
    { class: "card", "data-draft": d.id },
    el(
      "div",
      {},
      t("draft_item", {
        time: fmtDateTime(d.updated_at),
        n: d.photos,
        site: d.meta && d.meta.site_type ? t(`site_${d.meta.site_type}`) : "—",
      }),
    ),
    d.meta && d.meta.notes ? el("div", { class: "meta" }, d.meta.notes.slice(0, 60)) : null,
    el(
      "div",
      { class: "actions" },
      el(
        "button",
        { type: "button", class: "btn primary", onclick: () => state.onResume(d.id) },
        t("draft_resume"),
      ),
      el(
        "button",
        {
          type: "button",
          class: "btn danger",
          onclick: async () => {
            if (!confirm(t("confirm_delete_draft"))) return;
            await drafts.remove(d.id);
            state.onDeleteDraft(d.id);
            render();
          },
        },
        t("delete"),
      ),
    ),
  );
}

function queuedCard(r) {
  const device = deviceVerdict(r.photos.map((p) => (p.local ? p.local.verdict : null)));
  return el(
    "li",
    { class: "card", "data-id": r.id, "data-status": r.status },
    thumbs(r.photos.map((p) => p.thumb)),
    el(
      "div",
      {},
      t("queue_item", {
        time: fmtDateTime(r.created_at),
        n: r.photos.length,
        site: t(`site_${r.meta.site_type}`),
      }),
    ),
    device
      ? el("div", { class: "meta" }, t("device_said", { verdict: t(`verdict_${device}`) }))
      : null,
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
            render();
          }
        },
      },
      t("delete"),
    ),
  );
}

// One of my filed records: the service's verdict, review and eradication, what the phone
// said when the two disagree, thumbnails kept from this phone.
function mineCard(item, sent) {
  const device = sent ? deviceVerdict(sent.device_verdicts || []) : null;
  const plants = item.plants || [];
  const counted = plants.reduce((n, p) => n + (p.count || 0), 0);
  return el(
    "li",
    {
      class: "card",
      "data-id": item.id,
      "data-verdict": item.verdict,
      "data-review": item.review ? item.review.state : "pending",
    },
    thumbs(sent ? sent.thumbs : null),
    el(
      "div",
      {},
      verdictBadge(item.verdict),
      " ",
      el("strong", {}, t(`review_${item.review ? item.review.state : "pending"}`)),
    ),
    el(
      "div",
      { class: "meta" },
      [fmtDateTime(item.observed_at || item.created_at), t(`site_${item.site_type}`), item.unit]
        .filter(Boolean)
        .join(" · "),
    ),
    item.review && item.review.note ? el("div", { class: "meta" }, item.review.note) : null,
    item.eradication
      ? el(
          "div",
          { class: "meta eradicated" },
          t("eradicated_line", { date: item.eradication.date, plants: item.eradication.plants }),
        )
      : null,
    plants.length
      ? el("div", { class: "meta" }, t("plants_line", { n: plants.length, count: counted }))
      : null,
    device && device !== item.verdict
      ? el(
          "p",
          { class: "notice warn disagree" },
          t("device_disagrees", {
            device: t(`verdict_${device}`),
            server: t(`verdict_${item.verdict}`),
          }),
        )
      : null,
    el("div", { class: "meta" }, item.id.slice(0, 8)),
  );
}

function syncLine() {
  const synced = localStorage.getItem(SYNCED);
  if (state.syncing) return t("mine_syncing");
  if (state.syncError instanceof NetworkError || (!navigator.onLine && synced)) {
    return synced ? t("mine_offline", { time: fmtDateTime(synced) }) : t("mine_never");
  }
  if (state.syncError) return errorText(state.syncError);
  return synced ? t("mine_synced", { time: fmtDateTime(synced) }) : t("mine_never");
}

export async function render() {
  const [queued, sent, mine, draftRows] = await Promise.all([
    queue.store.listQueued(),
    queue.store.listSent(),
    store.list("mine"),
    drafts.list(),
  ]);
  const badge = $("queue-badge");
  badge.textContent = String(queued.length);
  badge.hidden = queued.length === 0;
  badge.setAttribute("aria-label", t("pending_count", { n: queued.length }));
  if (!state.visible) return;
  for (const url of state.urls) URL.revokeObjectURL(url);
  state.urls = [];

  $("draft-list").replaceChildren(
    ...(draftRows.length
      ? draftRows.map(draftCard)
      : [el("li", { class: "hint" }, t("drafts_empty"))]),
  );
  $("queue-list").replaceChildren(
    ...(queued.length ? queued.map(queuedCard) : [el("li", { class: "hint" }, t("queue_empty"))]),
  );

  // My records: the service's copies, plus records sent from here it has not listed yet.
  const sentById = new Map(sent.map((r) => [r.id, r]));
  const byId = new Map(mine.map((r) => [r.id, r]));
  for (const r of sent) {
    if (!byId.has(r.id)) {
      byId.set(r.id, {
        id: r.id,
        created_at: r.created_at,
        observed_at: r.created_at,
        verdict: r.verdict,
        site_type: r.site_type,
        unit: r.unit,
        review: { state: "pending" },
        location: { lat: r.lat, lon: r.lon },
      });
    }
  }
  const items = [...byId.values()].sort((a, b) =>
    (a.observed_at || a.created_at) < (b.observed_at || b.created_at) ? 1 : -1,
  );
  $("mine-status").textContent = syncLine();
  $("mine-list").replaceChildren(
    ...(items.length
      ? items.map((item) => mineCard(item, sentById.get(item.id)))
      : [el("li", { class: "hint" }, t("mine_empty"))]),
  );
  await renderMap(items, queued);
}

async function renderMap(items, queued) {
  try {
    await leaflet();
  } catch {
    return;
  }
  if (!state.map) {
    state.map = blankMap("mine-map");
    state.layer = L.featureGroup().addTo(state.map);
  }
  state.map.invalidateSize();
  const located = (lat, lon) =>
    lat !== null && lat !== undefined && lon !== null && lon !== undefined;
  const points = [
    ...items
      .filter((i) => i.location && located(i.location.lat, i.location.lon))
      .map((i) => ({
        id: i.id,
        lat: i.location.lat,
        lon: i.location.lon,
        verdict: i.verdict,
        label: `${t(`verdict_${i.verdict}`)} · ${t(`review_${i.review ? i.review.state : "pending"}`)}`,
      })),
    ...queued
      .filter((r) => located(r.meta.lat, r.meta.lon))
      .map((r) => ({
        id: r.id,
        lat: r.meta.lat,
        lon: r.meta.lon,
        verdict: "pending",
        pending: true,
        label: t("mine_pending"),
      })),
  ];
  fitPoints(state.map, points);
  const focus = (ids) => {
    for (const card of document.querySelectorAll(
      "#mine-list li[data-id], #queue-list li[data-id]",
    )) {
      card.classList.toggle("here", ids.includes(card.dataset.id));
    }
    document.querySelector("#view-records li.here")?.scrollIntoView({ block: "nearest" });
  };
  drawPoints(state.map, state.layer, points, { onPoint: (id) => focus([id]), onGroup: focus });
}

export function show() {
  state.visible = true;
  render();
  if (navigator.onLine) sync();
}

export function hide() {
  state.visible = false;
}
