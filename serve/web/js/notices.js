// Notices for the inspector: a record sent from the queue came back suspected, a record was
// reviewed or its eradication recorded. Kept on the phone until dismissed (the inspector may
// be on a hill when it arrives), shown at the top of every view.

import { fmtDateTime, t } from "./i18n.js";
import { el, verdictBadge } from "./verdict.js";

const STORAGE = "plantscout.notices";
const MAX = 30;

function read() {
  try {
    const rows = JSON.parse(localStorage.getItem(STORAGE) || "[]");
    return Array.isArray(rows) ? rows : [];
  } catch {
    return [];
  }
}

function write(rows) {
  localStorage.setItem(STORAGE, JSON.stringify(rows.slice(-MAX)));
}

// {kind: "verdict" | "review" | "eradication", id, verdict?, review?, at}
export function add(notice) {
  const rows = read().filter((n) => !(n.id === notice.id && n.kind === notice.kind));
  rows.push({ ...notice, at: notice.at || new Date().toISOString() });
  write(rows);
  render();
}

export function dismiss(id, kind) {
  write(read().filter((n) => !(n.id === id && n.kind === kind)));
  render();
}

function text(n) {
  const record = t("record", { id: n.id.slice(0, 8) });
  if (n.kind === "verdict") return t("notice_verdict", { record, time: fmtDateTime(n.filed_at) });
  if (n.kind === "eradication") return t("notice_eradicated", { record });
  return t("notice_reviewed", { record, state: t(`review_${n.review}`) });
}

export function render() {
  const box = document.getElementById("notices");
  if (!box) return;
  const rows = read();
  box.hidden = rows.length === 0;
  box.replaceChildren(
    ...rows
      .slice()
      .reverse()
      .map((n) =>
        el(
          "li",
          {
            class: `notice ${n.kind === "verdict" ? "err" : "ok"}`,
            "data-id": n.id,
            "data-kind": n.kind,
          },
          n.kind === "verdict" ? verdictBadge(n.verdict) : null,
          n.kind === "verdict" ? " " : null,
          el("span", {}, text(n)),
          el(
            "button",
            {
              type: "button",
              class: "btn",
              "aria-label": `${t("dismiss")}: ${text(n)}`,
              onclick: () => dismiss(n.id, n.kind),
            },
            t("dismiss"),
          ),
        ),
      ),
  );
}
