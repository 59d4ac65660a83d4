"""The taxon table: one scientific name per plant, its Chinese and English names, and aliases.

Sources name plants their own way (``sunflower``, ``Helianthus annuus``, ``向日葵``,
``Sunflower (seedling)``). Per-species false-alert reports need one name per plant, and the
issue asks for an honest count of *distinct* negative taxa, so every name a source uses is
mapped here to a scientific name with a rank. Names that are not one plant (``mixed plants``,
``texture: banded``) stay out of the table and are never counted as taxa.

``datasets/sources/taxa.csv`` columns: ``taxon`` (scientific name), ``rank`` (``species``,
``genus``, ``hybrid``, ``cultivar-group``, ``family``), ``zh``, ``en``, ``habit`` (tree,
shrub, crop, vegetable, herb, weed, houseplant, flower, lookalike, grass, fern, succulent,
aquatic, climber), ``aliases`` (``|``-separated names seen in sources, any case).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TAXA_FILE = Path(__file__).parent / "sources" / "taxa.csv"
COUNTED_RANKS = frozenset({"species", "genus", "hybrid", "cultivar-group"})
_QUALIFIER = re.compile(r"\s*\((?:seedling|leaf|leaves|flower|plant|dried|hemp field)\)\s*$", re.I)


@dataclass(frozen=True)
class Taxon:
    taxon: str
    rank: str
    zh: str = ""
    en: str = ""
    habit: str = ""

    @property
    def counted(self) -> bool:
        return self.rank in COUNTED_RANKS


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


@dataclass(frozen=True)
class TaxonTable:
    taxa: dict[str, Taxon]
    index: dict[str, str]  # alias key -> scientific name

    def lookup(self, name: str) -> Taxon | None:
        """The taxon a source's name stands for; ``None`` if the table does not know it."""
        if not name:
            return None
        for candidate in (name, _QUALIFIER.sub("", name), name.split(" leaf")[0]):
            found = self.index.get(_key(candidate))
            if found:
                return self.taxa[found]
        return None

    def canonical(self, name: str) -> str:
        found = self.lookup(name)
        return found.taxon if found else name


def load_taxa(path: str | Path = TAXA_FILE) -> TaxonTable:
    taxa: dict[str, Taxon] = {}
    index: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            name = (row.get("taxon") or "").strip()
            if not name:
                continue
            if name in taxa:
                raise ValueError(f"{path}:{line}: {name!r} listed twice")
            taxon = Taxon(
                taxon=name,
                rank=(row.get("rank") or "species").strip(),
                zh=(row.get("zh") or "").strip(),
                en=(row.get("en") or "").strip(),
                habit=(row.get("habit") or "").strip(),
            )
            taxa[name] = taxon
            aliases = [name, taxon.en, taxon.zh, *(row.get("aliases") or "").split("|")]
            for alias in aliases:
                key = _key(alias)
                if not key:
                    continue
                if index.get(key, name) != name:
                    raise ValueError(f"{path}:{line}: alias {alias!r} also names {index[key]}")
                index[key] = name
    return TaxonTable(taxa, index)


@lru_cache(maxsize=1)
def default_taxa() -> TaxonTable:
    return load_taxa(TAXA_FILE)
