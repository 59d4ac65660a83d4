"""The labels plantscout knows about, independent of any trained model.

A model bundle names a subset of these keys as its outputs (see ``bundle.py``). Keeping the
taxonomy apart from the model lets the product talk about *Papaver somniferum* — its names,
its field marks, the fact that the current model cannot see it — before any model is trained
on it, and lets a new bundle grow a class by adding a key here and to its card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Why a label matters to a patrol."""

    CONTROLLED = "controlled"  # illegal to grow: an alert means "go and check / eradicate"
    LOOKALIKE = "lookalike"  # legal plants that people (and models) confuse with a controlled one
    OTHER_PLANT = "other_plant"
    NON_PLANT = "non_plant"  # soil, roads, roofs, fabric: the photo shows no plant to judge


@dataclass(frozen=True)
class Text:
    """A string in both languages the field teams use."""

    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Stage:
    """How a controlled plant looks at one stage of its life (for teaching material).

    ``key`` is one of ``seedling``, ``growing``, ``flowering``, ``capsule`` (opium poppy) or
    ``seed`` (cannabis): the order in which a season shows them.
    """

    key: str
    name: Text
    look: Text

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name.as_dict(), "look": self.look.as_dict()}


@dataclass(frozen=True)
class Label:
    key: str
    scientific_name: str
    name: Text
    role: Role
    description: Text
    # For look-alikes: the controlled label a patrol should check it against.
    lookalike_of: str | None = None
    # What to look at on the plant to tell it from its look-alikes (shown with verdicts).
    field_marks: tuple[Text, ...] = field(default_factory=tuple)
    # For controlled plants: what to look for at each stage of the season (teaching pages).
    stages: tuple[Stage, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "scientific_name": self.scientific_name,
            "name": self.name.as_dict(),
            "role": self.role.value,
            "description": self.description.as_dict(),
            "lookalike_of": self.lookalike_of,
            "field_marks": [m.as_dict() for m in self.field_marks],
            "stages": [st.as_dict() for st in self.stages],
        }


_POPPY_MARKS = (
    Text(
        zh="叶：灰绿色、带白粉，无毛或近无毛，叶基抱茎（虞美人叶片有糙毛、羽状深裂、不抱茎）",
        en="Leaves: grey-green and waxy, hairless or nearly so, clasping the stem "
        "(corn poppy leaves are bristly, deeply lobed and do not clasp)",
    ),
    Text(
        zh="茎：粗壮、光滑，高可达1–1.5米（虞美人茎细、有明显刚毛）",
        en="Stem: stout and smooth, up to 1–1.5 m (corn poppy: slender, clearly hairy stem)",
    ),
    Text(
        zh="花：大（直径8–12厘米），白、粉、红或紫色，花瓣基部常有深色斑；花后结大而圆的蒴果",
        en="Flower: large (8–12 cm), white, pink, red or purple, often a dark blotch at the "
        "petal base; followed by a large, round, smooth seed capsule",
    ),
    Text(
        zh="蒴果：球形或卵圆形，光滑无毛，直径可达3–5厘米，划破流白色乳汁（虞美人蒴果小，约1–2厘米）",
        en="Capsule: globe- or egg-shaped, smooth, up to 3–5 cm, white latex when scored "
        "(corn poppy capsules are small, about 1–2 cm)",
    ),
)

_CANNABIS_MARKS = (
    Text(
        zh="叶：掌状复叶，5–9片（常为奇数）披针形小叶，边缘有锯齿，小叶从同一点放射伸出",
        en="Leaves: palmately compound, 5–9 (usually odd) lance-shaped serrated leaflets "
        "radiating from one point",
    ),
    Text(
        zh="小叶细长、叶脉从中脉斜向叶缘锯齿；揉搓有特殊气味",
        en="Leaflets long and narrow, veins running from the midrib to each tooth; a "
        "distinctive smell when crushed",
    ),
    Text(
        zh="茎有纵棱、被短毛；雌株顶端有密集花簇（带树脂腺毛）",
        en="Stem ridged with short hairs; female plants carry dense, resinous flower clusters",
    ),
)

_LOOKALIKE_CANNABIS_MARKS = (
    Text(
        zh="日本槭/枫叶：单叶、掌状分裂（裂片相连），不是分开的小叶",
        en="Japanese maple: one leaf with connected lobes, not separate leaflets",
    ),
    Text(
        zh="木薯、鹅掌柴：小叶全缘或波状，无细密锯齿；五叶地锦：仅5片小叶，粗锯齿",
        en="Cassava, Schefflera: leaflets smooth-edged, no fine teeth; Virginia creeper: "
        "exactly 5 leaflets with coarse teeth",
    ),
)

_POPPY_STAGES = (
    Stage(
        "seedling",
        Text(zh="幼苗期", en="Seedling"),
        Text(
            zh="贴地生长的莲座状叶丛；叶灰绿色、带白粉、无毛，边缘有不规则缺刻或锯齿"
            "（虞美人幼苗叶片有明显糙毛）",
            en="A rosette of leaves flat on the ground; grey-green, waxy and hairless, with "
            "irregular notches or teeth along the edge (corn poppy seedlings are clearly hairy)",
        ),
    ),
    Stage(
        "growing",
        Text(zh="生长期", en="Growing"),
        Text(
            zh="茎直立、粗壮、光滑，高0.6–1.5米；叶互生，基部抱茎，边缘波状有锯齿，整株灰绿色",
            en="An upright, stout, smooth stem 0.6–1.5 m tall; alternate leaves clasping the "
            "stem with wavy, toothed edges; the whole plant grey-green",
        ),
    ),
    Stage(
        "flowering",
        Text(zh="开花期", en="Flowering"),
        Text(
            zh="花蕾下垂，开放时直立；单花顶生，大（直径8–12厘米），4片花瓣或重瓣，"
            "白、粉、红或紫色，花瓣基部常有深色斑",
            en="Buds nod and straighten as they open; one large flower (8–12 cm) at each stem "
            "tip, 4 petals or double, white, pink, red or purple, often dark at the base",
        ),
    ),
    Stage(
        "capsule",
        Text(zh="蒴果期", en="Capsule"),
        Text(
            zh="花瓣脱落后露出光滑的球形或卵形蒴果，顶部有放射状柱头盘；"
            "划破果皮流出白色乳汁，干后变褐",
            en="After the petals fall, a smooth globe- or egg-shaped capsule with a flat, "
            "star-rayed disc on top; scoring it releases white latex that dries brown",
        ),
    ),
)

_CANNABIS_STAGES = (
    Stage(
        "seedling",
        Text(zh="幼苗期", en="Seedling"),
        Text(
            zh="两片椭圆形子叶，随后长出对生的真叶：先是单片有锯齿的小叶，再是3片、5片小叶",
            en="Two oval seed leaves, then opposite true leaves: first single toothed "
            "leaflets, then leaves of 3 and 5 leaflets",
        ),
    ),
    Stage(
        "growing",
        Text(zh="生长期", en="Growing"),
        Text(
            zh="掌状复叶，5–9片细长、有锯齿的小叶；茎有纵棱和短毛，高1–3米；揉搓有特殊气味",
            en="Palmate leaves of 5–9 narrow, toothed leaflets; a ridged, hairy stem 1–3 m "
            "tall; a distinctive smell when crushed",
        ),
    ),
    Stage(
        "flowering",
        Text(zh="开花期", en="Flowering"),
        Text(
            zh="雄株：叶腋有松散下垂的淡黄绿色小花；雌株：枝顶密集花簇，带白色柱头和黏手的树脂腺毛",
            en="Male plants: loose, hanging clusters of small pale flowers; female plants: "
            "dense clusters at the tips with white hairs and sticky resin glands",
        ),
    ),
    Stage(
        "seed",
        Text(zh="结籽期", en="Seed"),
        Text(
            zh="雌花簇内结出灰褐色、带花纹的卵圆形小果实（火麻仁）",
            en="Small grey-brown, marbled, egg-shaped seeds inside the female clusters",
        ),
    ),
)

TAXONOMY: dict[str, Label] = {
    label.key: label
    for label in (
        Label(
            key="opium_poppy",
            scientific_name="Papaver somniferum",
            name=Text(zh="罂粟", en="Opium poppy"),
            role=Role.CONTROLLED,
            description=Text(
                zh="毒品原植物，禁止非法种植",
                en="Drug source plant; illegal to grow without licence",
            ),
            field_marks=_POPPY_MARKS,
            stages=_POPPY_STAGES,
        ),
        Label(
            key="cannabis",
            scientific_name="Cannabis sativa",
            name=Text(zh="大麻", en="Cannabis"),
            role=Role.CONTROLLED,
            description=Text(
                zh="毒品原植物（含工业大麻外形相同）",
                en="Drug source plant (industrial hemp looks the same)",
            ),
            field_marks=_CANNABIS_MARKS,
            stages=_CANNABIS_STAGES,
        ),
        Label(
            key="ornamental_poppy",
            scientific_name="Papaveraceae (P. rhoeas, Eschscholzia californica, Romneya coulteri)",
            name=Text(zh="观赏罂粟科花卉（虞美人、花菱草等）", en="Ornamental poppy-family flower"),
            role=Role.LOOKALIKE,
            description=Text(
                zh="合法观赏花卉，外形与罂粟相近，需现场核实",
                en="Legal ornamental flowers that resemble opium poppy; check on site",
            ),
            lookalike_of="opium_poppy",
            field_marks=_POPPY_MARKS,
        ),
        Label(
            key="cannabis_lookalike",
            scientific_name="various (Acer palmatum, Manihot esculenta, Schefflera, Parthenocissus …)",
            name=Text(zh="大麻相似植物", en="Cannabis look-alike"),
            role=Role.LOOKALIKE,
            description=Text(
                zh="掌状叶或复叶植物，常被误认为大麻",
                en="Palmate or compound leaves often mistaken for cannabis",
            ),
            lookalike_of="cannabis",
            field_marks=_LOOKALIKE_CANNABIS_MARKS,
        ),
        Label(
            key="other_plant",
            scientific_name="various",
            name=Text(zh="其他植物", en="Other plant"),
            role=Role.OTHER_PLANT,
            description=Text(zh="非管制植物", en="Not a controlled plant"),
        ),
        Label(
            key="background",
            scientific_name="—",
            name=Text(zh="无植物/背景", en="No plant (background)"),
            role=Role.NON_PLANT,
            description=Text(
                zh="照片中没有可判断的植物（土壤、道路、屋顶等）",
                en="No plant to judge in the photo (soil, road, roof …)",
            ),
        ),
    )
}

CONTROLLED_KEYS: tuple[str, ...] = tuple(
    k for k, label in TAXONOMY.items() if label.role is Role.CONTROLLED
)


def get_label(key: str) -> Label:
    """Look a label up by key, with an error that lists what is known."""
    try:
        return TAXONOMY[key]
    except KeyError:
        known = ", ".join(sorted(TAXONOMY))
        raise KeyError(f"unknown label {key!r}; known labels: {known}") from None
