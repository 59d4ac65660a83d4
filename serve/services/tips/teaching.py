"""Teaching material for the public: species by season stage, look-alikes, law, rewards, and
reference photos with their attribution — all texts in Chinese and English.

Species texts come from the taxonomy (``plantscout.model.taxonomy``: names, stages, field
marks, look-alikes), so the learn page, the check page and the field page never disagree.
Reference photos are whatever the office installed with ``plantscout tips teaching-photos``
(only images whose licence allows showing them, downscaled, metadata stripped) in
``<teaching_dir>/teaching.json``; without them the pages show text only.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from plantscout.model.taxonomy import TAXONOMY, Role
from plantscout.model.taxonomy import Text as TaxText

from ...schemas.tips import Learn, Lookalike, PhotoRef, Section, Species, Stage, Text
from ...settings import Settings

INDEX = "teaching.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.(jpg|jpeg|png|webp)$")


def text(value: TaxText | dict[str, str] | str) -> Text:
    if isinstance(value, TaxText):
        return Text(zh=value.zh, en=value.en)
    if isinstance(value, str):
        return Text(zh=value, en=value)
    return Text(zh=value["zh"], en=value["en"])


LAW = Section(
    title=Text(zh="法律规定", en="What the law says"),
    paragraphs=[
        Text(
            zh="《中华人民共和国禁毒法》第十九条：禁止非法种植罂粟、古柯植物、大麻植物以及国家规定"
            "管制的可以用于提炼加工毒品的其他原植物；发现非法种植毒品原植物的，应当立即采取措施"
            "予以制止、报告公安机关。",
            en="Anti-Drug Law of the PRC, Article 19: growing opium poppy, coca, cannabis or other "
            "controlled drug plants without permission is prohibited; anyone who finds them must "
            "act to stop it and report it to the public security organs.",
        ),
        Text(
            zh="《中华人民共和国刑法》第三百五十一条：非法种植罂粟、大麻等毒品原植物的，一律强制"
            "铲除；种植罂粟五百株以上或者其他毒品原植物数量较大的、经公安机关处理后又种植的、"
            "抗拒铲除的，处五年以下有期徒刑、拘役或者管制，并处罚金；数量大的处五年以上有期徒刑。",
            en="Criminal Law of the PRC, Article 351: illegally grown opium poppy, cannabis and "
            "other drug plants are always eradicated; growing 500 or more poppy plants (or a large "
            "quantity of other drug plants), growing again after being dealt with by the police, "
            "or resisting eradication is punished with up to five years' imprisonment and a fine, "
            "and large quantities with five years or more.",
        ),
        Text(
            zh="在收获前自动铲除的，可以免除处罚。数量较少的，由公安机关依照治安管理处罚的规定"
            "给予拘留、罚款。",
            en="Whoever uproots the plants themselves before the harvest may be exempted from "
            "punishment. Small quantities are punished by the police with detention or a fine "
            "under the public-security administration rules.",
        ),
        Text(
            zh="工业大麻须经许可才能种植，外形与毒品大麻相同：请举报，由民警核实。",
            en="Industrial hemp may be grown only under licence and looks the same as drug "
            "cannabis: report it and let the police check.",
        ),
    ],
)

_REWARDS = [
    Text(
        zh="举报经核实的，按规定给予奖励。举报人信息严格保密。",
        en="Reports that are confirmed are rewarded under the rules. Whoever reports is kept "
        "confidential.",
    ),
    Text(
        zh="匿名举报：提交后您会得到一个举报编号和一个密码。不需要留姓名或电话；凭编号和密码随时"
        "查看进度（已收到 → 核查中 → 已证实 / 未证实 → 奖励），并领取奖励。",
        en="Anonymous reports: after sending you get a tip code and a secret. No name or phone "
        "number is needed; with the code and the secret you can follow the tip (received → "
        "being checked → confirmed / not confirmed → reward) and claim the reward.",
    ),
    Text(
        zh="请把编号和密码抄下来或截图保存：密码只显示给您，丢失后无法找回，别人拿到也能领取奖励。",
        en="Write the code and the secret down or keep a screenshot: the secret is shown only "
        "to you, cannot be recovered if lost, and whoever holds it can claim the reward.",
    ),
]

CHECK_LIMITS = Section(
    title=Text(zh="识别工具能做什么、不能做什么", en="What the check can and cannot do"),
    paragraphs=[
        Text(
            zh="识别结果是自动给出的，可能出错，从不代表定论；是否违法种植由民警现场核实。",
            en="The check is automatic, can be wrong and never decides anything; officers check "
            "on the ground.",
        ),
        Text(
            zh="当前模型没有用罂粟照片训练过，不能可靠识别罂粟：它只能提示“可能是罂粟科花卉”。"
            "看到形似罂粟的花或果实，请对照要点，拿不准就举报。",
            en="The current model was never trained on opium poppy photos and cannot reliably "
            "recognise it: it can only say a flower may be of the poppy family. If you see a "
            "poppy-like flower or seed head, compare it with the marks and report it when in doubt.",
        ),
        Text(
            zh="用于识别的照片识别后立即删除；只有您选择举报时，照片才随举报保存。",
            en="Photos sent for a check are discarded right after it; they are kept only if you "
            "choose to report.",
        ),
    ],
)


class TeachingPhotos:
    """The reference photos an office installed, re-read when ``teaching.json`` changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._entries: list[dict[str, Any]] = []

    def entries(self) -> list[dict[str, Any]]:
        index = self.root / INDEX
        try:
            stamp = index.stat().st_mtime
        except OSError:
            return []
        with self._lock:
            if stamp != self._stamp:
                try:
                    data = json.loads(index.read_text(encoding="utf-8"))
                    self._entries = [
                        e
                        for e in data.get("photos", [])
                        if isinstance(e, dict)
                        and _NAME.match(str(e.get("file", "")))
                        and (self.root / e["file"]).is_file()
                    ]
                except (OSError, ValueError):
                    self._entries = []
                self._stamp = stamp
            return list(self._entries)

    def for_label(self, label: str) -> list[PhotoRef]:
        return [_ref(e) for e in self.entries() if e.get("label") == label]

    def path(self, name: str) -> Path | None:
        """The file for a URL name, only if the index lists it (no path tricks)."""
        if not _NAME.match(name):
            return None
        for entry in self.entries():
            if entry["file"] == name:
                return self.root / name
        return None


def _ref(entry: dict[str, Any]) -> PhotoRef:
    label = TAXONOMY.get(str(entry.get("label")))
    taxon = str(entry.get("taxon") or "")
    caption = (
        Text(zh=f"{label.name.zh}（{taxon}）", en=f"{label.name.en} ({taxon})")
        if label and taxon
        else text(label.name)
        if label
        else Text(zh=taxon, en=taxon)
    )
    parts = [str(entry.get("source") or "unknown source")]
    if entry.get("source_path"):
        parts.append(str(entry["source_path"]))
    attribution = " / ".join(parts) + f" — licence: {entry.get('licence') or 'unknown'}"
    return PhotoRef(
        url=f"/v1/public/teaching/{entry['file']}",
        label=str(entry.get("label")),
        caption=caption,
        attribution=attribution,
    )


_CACHE_LOCK = threading.Lock()


def photos_of(settings: Settings) -> TeachingPhotos:
    """One reader per teaching folder (kept on the settings object's folder path)."""
    root = settings.resolved_teaching_dir
    with _CACHE_LOCK:
        reader = _READERS.get(root)
        if reader is None:
            reader = _READERS[root] = TeachingPhotos(root)
        return reader


_READERS: dict[Path, TeachingPhotos] = {}


def lookalikes_of(key: str, photos: TeachingPhotos) -> list[Lookalike]:
    return [
        Lookalike(
            key=label.key,
            name=text(label.name),
            description=text(label.description),
            how_to_tell=[text(m) for m in label.field_marks],
            photos=photos.for_label(label.key),
        )
        for label in TAXONOMY.values()
        if label.role is Role.LOOKALIKE and label.lookalike_of == key
    ]


def learn(settings: Settings, trained: set[str]) -> Learn:
    """The learn page's content. ``trained``: label keys the served model has outputs for."""
    photos = photos_of(settings)
    species = [
        Species(
            key=label.key,
            scientific_name=label.scientific_name,
            name=text(label.name),
            description=text(label.description),
            stages=[Stage(key=s.key, name=text(s.name), look=text(s.look)) for s in label.stages],
            field_marks=[text(m) for m in label.field_marks],
            photos=photos.for_label(label.key),
            lookalikes=lookalikes_of(label.key, photos),
            detectable=label.key in trained,
        )
        for label in TAXONOMY.values()
        if label.role is Role.CONTROLLED
    ]
    rewards = list(_REWARDS)
    if settings.campaign_reward_note:
        rewards.insert(1, text(settings.campaign_reward_note))
    return Learn(
        species=species,
        law=LAW,
        rewards=Section(title=Text(zh="举报与奖励", en="Reports and rewards"), paragraphs=rewards),
        check_limits=CHECK_LIMITS,
        hotline=settings.campaign_hotline,
    )
