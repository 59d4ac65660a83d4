"""The model card a training run produces: labels and policy, calibration, data, limitations.

Everything a reader needs to judge the model travels with it: which data (content hash,
sources, licences), which thresholds and why, what was measured and on what, and — in plain
words, in both languages the field teams read — what the model cannot do.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from plantscout.datasets import Record
from plantscout.model import Card, Preprocessing
from plantscout.model.bundle import (
    CARD_SCHEMA,
    CARD_SCHEMA_FAMILIARITY,
    EMBEDDING_OUTPUT,
    INPUT_NAME,
    LOGITS_OUTPUT,
    ONNX_FILE,
)
from plantscout.model.familiarity import FamiliarityRule

from .policy import stand_in_target

NO_OPIUM_POPPY = {
    "zh": "本模型训练数据中没有任何罂粟（Papaver somniferum）照片，因此不能识别罂粟，也绝不会对罂粟发出“疑似”警报。"
    "罂粟科观赏花卉（虞美人、花菱草、罂粟木等）只会被标为“需复核”，请按叶、茎、花、蒴果的形态特征现场核实是否为罂粟。",
    "en": "No photo of opium poppy (Papaver somniferum) was used to train this model, so it cannot "
    "recognise opium poppy and never raises an opium-poppy alert. Poppy-family ornamental "
    "flowers (corn poppy, California poppy, tree poppy) are only raised to 'review': check the "
    "leaves, stem, flower and capsule on site to decide whether it is opium poppy.",
}


def source_table(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Per source: licence(s) as stated and image counts per split."""
    licences: dict[str, Counter[str]] = defaultdict(Counter)
    splits: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        licences[r.source][r.licence or "not stated"] += 1
        splits[r.source][r.split] += 1
    return [
        {
            "source": source,
            "url": f"https://github.com/{source}" if source.count("/") == 1 else None,
            "licences": sorted(licences[source]),
            "images": dict(sorted(splits[source].items())),
        }
        for source in sorted(licences)
    ]


def limitations(
    records: Sequence[Record], labels: Sequence[str], notes: Sequence[dict[str, str]] = ()
) -> list[dict[str, str]]:
    """Plain statements of what the data cannot support: measured from the records, plus
    the config's ``card_limitations`` (facts about the sources that counts cannot show)."""
    out = []
    if "opium_poppy" not in labels:
        out.append(NO_OPIUM_POPPY)
    cannabis = [r for r in records if r.label == "cannabis" and r.split == "train"]
    if cannabis:
        top, n = Counter(r.source for r in cannabis).most_common(1)[0]
        share = n / len(cannabis)
        out.append(
            {
                "zh": f"训练用大麻图像中 {share:.0%} 来自同一来源（{top}）；"
                "巡查人员在田间拍摄的照片上的效果尚未测量。",
                "en": f"{share:.0%} of the training cannabis images come from one source ({top}); "
                "performance on field photos taken by patrols has not been measured.",
            }
        )
    tiles = [r for r in records if r.kind == "drone_tile"]
    if tiles:
        tested = any(r.split == "test" for r in tiles)
        gsd = sorted({r.gsd_m for r in tiles if r.gsd_m})
        gsd_text = ", ".join(f"{g * 100:g} cm/px" for g in gsd)
        out.append(
            {
                "zh": f"无人机图块（{gsd_text}）仅来自 {len({r.group for r in tiles})} 次飞行"
                + (
                    "，测试集中没有无人机大麻图块：无人机识别效果未经独立测试。"
                    if not tested
                    else "。"
                ),
                "en": f"Drone tiles ({gsd_text}) come from only {len({r.group for r in tiles})} "
                "flight(s)"
                + (
                    "; no drone cannabis tile is in the test split, so drone performance is untested."
                    if not tested
                    else "."
                ),
            }
        )
    small = {
        label: sum(1 for r in records if r.label == label and r.split == "test")
        for label in ("cannabis_lookalike", "ornamental_poppy")
        if label in labels
    }
    if small:
        text = ", ".join(f"{k} {v}" for k, v in small.items())
        out.append(
            {
                "zh": f"相似植物的测试样本很少（{text}），误报率的置信区间很宽。",
                "en": f"Look-alike test sets are small ({text}): false-alarm rates have wide "
                "confidence intervals.",
            }
        )
    out.append(
        {
            "zh": "部分训练图像仅限研究用途或未声明许可（见 sources）；再分发前请核实许可。",
            "en": "Some training images are research-use only or state no licence (see sources); "
            "check the terms before redistributing.",
        }
    )
    for note in notes:
        if set(note) != {"zh", "en"}:
            raise ValueError(f"card limitation {note!r} needs exactly 'zh' and 'en'")
        out.append(dict(note))
    return out


def build_card(
    *,
    name: str,
    version: str,
    onnx_sha256: str,
    architecture: str,
    labels: Sequence[str],
    thresholds: dict[str, dict[str, float | None]],
    preprocessing: Preprocessing,
    temperature: float,
    embedding_dim: int,
    unusable_min_probability: float,
    target_recall: float,
    records: Sequence[Record],
    extra: dict[str, Any],
    notes: Sequence[dict[str, str]] = (),
    familiarity: FamiliarityRule | None = None,
) -> Card:
    label_entries = []
    for key in labels:
        entry: dict[str, Any] = {
            "key": key,
            "thresholds": thresholds.get(key, {"alert": None, "review": None}),
        }
        target = stand_in_target(key, labels)
        if target:
            entry["review_for"] = target
        label_entries.append(entry)
    data: dict[str, Any] = {
        "schema": CARD_SCHEMA_FAMILIARITY if familiarity is not None else CARD_SCHEMA,
        "name": name,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "architecture": architecture,
        "onnx": {
            "file": ONNX_FILE,
            "sha256": onnx_sha256,
            "input": INPUT_NAME,
            "outputs": [LOGITS_OUTPUT, EMBEDDING_OUTPUT],
            "embedding_dim": embedding_dim,
        },
        "labels": label_entries,
        "preprocessing": preprocessing.as_dict(),
        "calibration": {"temperature": temperature},
        "decision": {
            "unusable_label": "background" if "background" in labels else None,
            "unusable_min_probability": unusable_min_probability,
            "target_recall": target_recall,
        },
        "limitations": limitations(records, labels, notes),
        **extra,
    }
    data["calibration"] = {**extra.get("calibration", {}), "temperature": temperature}
    if familiarity is not None:
        data["familiarity"] = familiarity.as_dict()
    return Card.from_dict(data)  # validates: stand-ins without alert, labels, sha256 format
