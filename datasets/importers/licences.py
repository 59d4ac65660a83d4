"""Licence codes from three sources, reduced to one vocabulary so they can be filtered.

iNaturalist says ``cc-by-nc``, GBIF says ``http://creativecommons.org/licenses/by-nc/4.0/``
or ``CC_BY_NC_4_0``, Pl@ntNet says ``cc-by-sa``. A trainer asks for licence *families*
(``--licence cc0,cc-by``); an image whose licence is missing or unknown is never imported,
because "no licence stated" means all rights reserved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FAMILIES: tuple[str, ...] = (
    "cc0",
    "cc-by",
    "cc-by-sa",
    "cc-by-nc",
    "cc-by-nc-sa",
    "cc-by-nd",
    "cc-by-nc-nd",
)
# Short names a trainer can type instead of a list of families.
ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("cc0", "cc-by", "cc-by-sa"),  # reusable commercially, with attribution
    "cc": FAMILIES,  # any Creative Commons licence, including non-commercial ones
}
DEFAULT_FILTER = "open"

_URL = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<parts>[a-z-]+)|publicdomain/(?P<pd>zero|mark))"
    r"(?:/(?P<version>\d+(?:\.\d+)?))?",
    re.IGNORECASE,
)
_ENUM = re.compile(r"^CC(?P<zero>0)?(?P<parts>(?:_[A-Z]+)*?)_(?P<major>\d)_(?P<minor>\d)$")


@dataclass(frozen=True)
class Licence:
    """A Creative Commons family and, when the source states it, the version."""

    family: str
    version: str = ""

    @property
    def spdx(self) -> str:
        """What goes into the manifest's ``licence`` column, e.g. ``CC-BY-4.0``."""
        name = "CC0" if self.family == "cc0" else self.family.upper()
        if self.family == "cc0":
            return f"CC0-{self.version or '1.0'}"
        return f"{name}-{self.version}" if self.version else name


def normalise_licence(value: str | None) -> Licence | None:
    """Parse any of the three sources' spellings; ``None`` when missing or not CC."""
    if not value:
        return None
    text = value.strip()
    match = _URL.search(text)
    if match:
        if match.group("pd"):
            return (
                Licence("cc0", match.group("version") or "1.0") if match["pd"] == "zero" else None
            )
        return _family("cc-" + match.group("parts").lower(), match.group("version") or "")
    match = _ENUM.match(text.upper())
    if match:
        version = f"{match['major']}.{match['minor']}"
        if match.group("zero"):
            return Licence("cc0", version)
        parts = match.group("parts").lower().replace("_", "-")
        return _family("cc" + parts, version)
    lowered = text.lower().replace("_", "-").replace(" ", "-")
    if lowered in ("cc0", "cc-0", "cc-zero", "public-domain-dedication"):
        return Licence("cc0")
    versioned = re.match(r"^(cc-[a-z-]+?)-(\d+\.\d+)$", lowered)
    if versioned:
        return _family(versioned.group(1), versioned.group(2))
    return _family(lowered, "")


def _family(name: str, version: str) -> Licence | None:
    name = name.rstrip("-")
    return Licence(name, version) if name in FAMILIES else None


def parse_licence_filter(spec: str) -> frozenset[str]:
    """``"cc0,cc-by"`` or an alias (``open``, ``cc``) -> the accepted families."""
    accepted: set[str] = set()
    for item in (part.strip().lower() for part in spec.split(",")):
        if not item:
            continue
        if item in ALIASES:
            accepted.update(ALIASES[item])
            continue
        licence = normalise_licence(item)
        if licence is None:
            raise ValueError(
                f"unknown licence {item!r}: use {', '.join(FAMILIES)} "
                f"or one of {', '.join(ALIASES)}"
            )
        accepted.add(licence.family)
    if not accepted:
        raise ValueError("the licence filter accepts nothing")
    return frozenset(accepted)
