"""The card's limitations, in the two languages the field teams read.

Each statement is measured — from the training records or from the metrics the export just
wrote — except the config's ``card_limitations`` (facts about sources that counts cannot
show). ``limitations`` lists them in the order a reader needs them: what the model cannot
recognise, how far its alerts hold on unseen sources, what its alerts require, then the
data's gaps and terms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from plantscout.datasets import Record
from plantscout.model.familiarity import FamiliarityRule

Statement = dict[str, str]

NO_OPIUM_POPPY = {
    "zh": "本模型训练数据中没有任何罂粟（Papaver somniferum）照片，因此不能识别罂粟，也绝不会对罂粟发出“疑似”警报。"
    "罂粟科观赏花卉（虞美人、花菱草、罂粟木等）只会被标为“需复核”，请按叶、茎、花、蒴果的形态特征现场核实是否为罂粟。",
    "en": "No photo of opium poppy (Papaver somniferum) was used to train this model, so it cannot "
    "recognise opium poppy and never raises an opium-poppy alert. Poppy-family ornamental "
    "flowers (corn poppy, California poppy, tree poppy) are only raised to 'review': check the "
    "leaves, stem, flower and capsule on site to decide whether it is opium poppy.",
}


def limitations(
    records: Sequence[Record],
    labels: Sequence[str],
    notes: Sequence[dict[str, str]] = (),
    *,
    metrics: dict[str, Any] | None = None,
    familiarity: FamiliarityRule | None = None,
) -> list[Statement]:
    out: list[Statement | None] = [
        NO_OPIUM_POPPY if "opium_poppy" not in labels else None,
        _out_of_source(metrics or {}),
        _familiarity(familiarity),
        _cannabis_sources(records),
        _negatives(records),
        _drone(records),
        _small_lookalike_tests(records, labels),
        _licences(records),
    ]
    for note in notes:
        if set(note) != {"zh", "en"}:
            raise ValueError(f"card limitation {note!r} needs exactly 'zh' and 'en'")
        out.append(dict(note))
    return [s for s in out if s is not None]


def _out_of_source(metrics: dict[str, Any]) -> Statement | None:
    """How far alerts hold on sources the model never saw, and what drags them down."""
    oos = metrics.get("out_of_source")
    if not oos:
        return None
    alert = oos["controlled"]["cannabis"]["alert"]
    weakest = _weakest_family(oos)
    above = oos.get("negative_species", {}).get("above_2_percent") or []
    worst_en = (
        "; negative species above 2 % cannabis alerts: "
        + ", ".join(f"{e['taxon']} {e['count']}/{e['n']}" for e in above[:5])
        if above
        else "; no negative species with 20+ photos reached 2 % cannabis alerts"
    )
    worst_zh = (
        "；大麻警报超过 2% 的非大麻物种："
        + "、".join(f"{e['taxon']} {e['count']}/{e['n']}" for e in above[:5])
        if above
        else "；照片数≥20 的非大麻物种中，没有一种的大麻警报率超过 2%"
    )
    recall = f"{alert['recall']:.2f} ({alert['tp']}/{alert['tp'] + alert['fn']})"
    precision = f"{alert['precision']:.2f}" if alert["precision"] is not None else "—"
    return {
        "zh": f"对训练中从未见过的来源的照片（逐一留出每个来源族评估，共 {oos['images']} 张），"
        f"大麻警报召回率为 {recall}，精确率 {precision}"
        + (f"；最弱的来源族为 {weakest[0]}（{weakest[1]}）" if weakest else "")
        + worst_zh
        + "。在陌生场景中的效果以此为准，而非同源测试集上的数字。",
        "en": f"On photos from sources it never saw (each source family held out in turn; "
        f"{oos['images']} images), cannabis alert recall is {recall} at precision {precision}"
        + (f"; the weakest family is {weakest[0]} ({weakest[1]})" if weakest else "")
        + worst_en
        + ". Expect these, not the in-source test numbers, in unfamiliar settings.",
    }


def _weakest_family(oos: dict[str, Any]) -> tuple[str, str] | None:
    rows = [
        (name, e["cannabis_recall_at_alert"])
        for name, e in oos.get("per_family", {}).items()
        if e.get("cannabis_recall_at_alert", {}).get("n", 0) >= 10
    ]
    if not rows:
        return None
    name, r = min(rows, key=lambda x: (x[1]["rate"], -x[1]["n"]))
    return name, f"{r['count']}/{r['n']}"


def _familiarity(rule: FamiliarityRule | None) -> Statement | None:
    if rule is None or rule.alert_min is None:
        return None
    return {
        "zh": "只有当照片与训练用大麻照片足够相似时才会发出大麻警报；模型判为大麻但外观陌生的植物"
        "（可能是模型未见过的物种，也可能是少见的种植方式或拍摄条件下的大麻）只标为“需复核”并注明“外观陌生”。",
        "en": "A cannabis alert also needs the photo to resemble the cannabis training photos. A "
        "plant the classifier calls cannabis but that looks unfamiliar — a species the model "
        "never saw, or cannabis grown or photographed unlike anything in training — goes to "
        "review, marked 'unfamiliar', never straight to alert.",
    }


def _cannabis_sources(records: Sequence[Record]) -> Statement | None:
    cannabis = [r for r in records if r.label == "cannabis" and r.split == "train"]
    if not cannabis:
        return None
    top, n = Counter(r.source for r in cannabis).most_common(1)[0]
    share = n / len(cannabis)
    scenes = Counter(getattr(r, "scene", "") or "unknown" for r in cannabis)
    scene_text = ", ".join(f"{k} {v}" for k, v in scenes.most_common())
    return {
        "zh": f"训练用大麻图像中 {share:.0%} 来自同一来源（{top}）；各类场景的训练图像数："
        f"{scene_text}。巡查人员在田间实拍的照片尚未单独测量。",
        "en": f"{share:.0%} of the training cannabis images come from one source ({top}); "
        f"training images per scene: {scene_text}. Photos taken by patrols in the field have "
        "not been measured on their own.",
    }


def _negatives(records: Sequence[Record]) -> Statement | None:
    taxa = {r.taxon for r in records if r.label != "cannabis" and r.label != "background"}
    if not taxa:
        return None
    return {
        "zh": f"训练中的非大麻植物共 {len(taxa)} 个类群；其他物种（尤其是叶形掌状、锯齿缘的植物）仍可能被误认，"
        "新地区投入使用前请用当地常见植物检验误报。",
        "en": f"The training negatives cover {len(taxa)} plant taxa; other species — above all "
        "those with palmate, serrated leaves — may still be mistaken for cannabis. Check the "
        "false alarms on your area's common plants before relying on it there.",
    }


def _drone(records: Sequence[Record]) -> Statement | None:
    tiles = [r for r in records if r.kind == "drone_tile"]
    if not tiles:
        return None
    tested = any(r.split == "test" for r in tiles)
    gsd = sorted({r.gsd_m for r in tiles if r.gsd_m})
    gsd_text = ", ".join(f"{g * 100:g} cm/px" for g in gsd)
    flights = len({r.group for r in tiles})
    return {
        "zh": f"无人机图块（{gsd_text}）仅来自 {flights} 次飞行"
        + ("，测试集中没有无人机大麻图块：无人机识别效果未经独立测试。" if not tested else "。"),
        "en": f"Drone tiles ({gsd_text}) come from only {flights} flight(s)"
        + (
            "; no drone cannabis tile is in the test split, so drone performance is untested."
            if not tested
            else "."
        ),
    }


def _small_lookalike_tests(records: Sequence[Record], labels: Sequence[str]) -> Statement | None:
    small = {
        label: sum(1 for r in records if r.label == label and r.split == "test")
        for label in ("cannabis_lookalike", "ornamental_poppy")
        if label in labels
    }
    if not small:
        return None
    text = ", ".join(f"{k} {v}" for k, v in small.items())
    return {
        "zh": f"相似植物的测试样本很少（{text}），误报率的置信区间很宽。",
        "en": f"Look-alike test sets are small ({text}): false-alarm rates have wide "
        "confidence intervals.",
    }


def _licences(records: Sequence[Record]) -> Statement:
    flags = Counter(getattr(r, "licence_flag", "") for r in records)
    unstated = flags.get("none_stated", 0) + flags.get("research_only", 0)
    if unstated:
        return {
            "zh": f"{unstated} 张训练图像仅限研究用途或未声明许可（见 sources）；再分发前请核实许可。",
            "en": f"{unstated} training images are research-use only or state no licence (see "
            "sources); check the terms before redistributing.",
        }
    return {
        "zh": "部分训练图像仅限研究用途或未声明许可（见 sources）；再分发前请核实许可。",
        "en": "Some training images are research-use only or state no licence (see sources); "
        "check the terms before redistributing.",
    }
