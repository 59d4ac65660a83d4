"""Counts that say whether a dataset can support the claims made from it.

Per label, source, group, view and kind, each split apart; duplicates found; and the gaps —
label/source strata missing from test — because a number reported on a split that holds
none of a source says nothing about that source.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from .records import SPLITS, Record
from .taxa import TaxonTable, default_taxa


def _by(records: Sequence[Record], key: str) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        table[str(getattr(r, key))][r.split or "unsplit"] += 1
    return {k: dict(v) for k, v in sorted(table.items())}


def distinct(names: set[str], taxa: TaxonTable) -> set[str]:
    """Taxa that are distinct plants: a genus counts only when none of its species is present."""
    species_genera = {n.split()[0] for n in names if taxa.taxa[n].rank != "genus"}
    return {n for n in names if taxa.taxa[n].rank != "genus" or n not in species_genera}


def taxa_by_label(records: Sequence[Record], taxa: TaxonTable | None = None) -> dict[str, Any]:
    """Distinct taxa per label: only names the taxon table knows as a species or genus count.

    Descriptions that are not one plant (``mixed plants``, ``texture: banded``) and names the
    table lacks are listed apart, never counted, so the count is honest.
    """
    taxa = taxa or default_taxa()
    counted: dict[str, set[str]] = defaultdict(set)
    uncounted: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        found = taxa.lookup(r.taxon)
        if found and found.counted:
            counted[r.label].add(found.taxon)
        else:
            uncounted[r.label][r.taxon or "(none)"] += 1
    negatives = {"other_plant", "cannabis_lookalike", "ornamental_poppy"}
    all_negative = set().union(*(counted[label] for label in negatives if label in counted))
    return {
        "distinct": {label: len(distinct(names, taxa)) for label, names in sorted(counted.items())},
        "distinct_negative_plant_taxa": len(distinct(all_negative, taxa)),
        "negative_taxa": sorted(distinct(all_negative, taxa)),
        "uncounted": {label: dict(c.most_common()) for label, c in sorted(uncounted.items())},
    }


def dataset_stats(records: Sequence[Record], info: dict[str, Any] | None = None) -> dict[str, Any]:
    groups: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    strata: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in records:
        groups[r.label][r.split or "unsplit"].add(r.group)
        strata[(r.label, r.source)].add(r.split)
    missing_from_test = sorted(
        f"{label} / {source}" for (label, source), splits in strata.items() if "test" not in splits
    )
    stats: dict[str, Any] = {
        "images": len(records),
        "by_split": dict(Counter(r.split or "unsplit" for r in records)),
        "by_label": _by(records, "label"),
        "by_source": _by(records, "source"),
        "by_view": _by(records, "view"),
        "by_kind": _by(records, "kind"),
        "groups_by_label": {
            label: {s: len(g) for s, g in sorted(per.items())}
            for label, per in sorted(groups.items())
        },
        "groups": len({r.group for r in records}),
        "by_licence_flag": _by(records, "licence_flag"),
        "by_source_family": _by(records, "source_family"),
        "cannabis_by_scene": _by([r for r in records if r.label == "cannabis"], "scene"),
        "taxa": taxa_by_label(records),
        "strata_missing_from_test": missing_from_test,
    }
    if info:
        stats["duplicates"] = {
            k: v for k, v in info.get("dedup", {}).items() if k != "merged_groups"
        }
        stats["merged_groups"] = len(info.get("dedup", {}).get("merged_groups", {}))
        stats["manifest_hash"] = info.get("manifest_hash")
        stats["rejected"] = info.get("counts", {}).get("rejected")
    return stats


def format_stats(stats: dict[str, Any]) -> str:
    """Plain-text tables (also readable in a CI log)."""
    splits = [s for s in (*SPLITS, "unsplit") if s in stats["by_split"]]
    lines = [f"{stats['images']} images in {stats['groups']} groups"]
    if stats.get("manifest_hash"):
        lines.append(f"manifest hash {stats['manifest_hash']}")
    for title, key in (
        ("label", "by_label"),
        ("source", "by_source"),
        ("view", "by_view"),
        ("kind", "by_kind"),
        ("groups per label", "groups_by_label"),
        ("licence flag", "by_licence_flag"),
        ("cannabis scene", "cannabis_by_scene"),
        ("source family", "by_source_family"),
    ):
        table = stats[key]
        width = max([len(title), *(len(k) for k in table)])
        lines.append("")
        lines.append(f"{title:<{width}}  " + "  ".join(f"{s:>7}" for s in splits) + "    total")
        for name, counts in table.items():
            cells = "  ".join(f"{counts.get(s, 0):>7}" for s in splits)
            lines.append(f"{name:<{width}}  {cells}  {sum(counts.values()):>7}")
    taxa = stats.get("taxa")
    if taxa:
        lines.append("")
        lines.append("distinct taxa (species/genus known to datasets/sources/taxa.csv):")
        for label, n in taxa["distinct"].items():
            lines.append(f"  {label:<20} {n:>5}")
        lines.append(f"  negative plant taxa  {taxa['distinct_negative_plant_taxa']:>5}")
        for label, names in taxa["uncounted"].items():
            total = sum(names.values())
            lines.append(f"  not counted ({label}): {total} images, {len(names)} names")
    if "duplicates" in stats:
        d = stats["duplicates"]
        lines.append("")
        lines.append(
            f"duplicates: {d.get('exact_pairs', 0)} exact pairs, {d.get('near_pairs', 0)} near "
            f"pairs ({d.get('cross_label_pairs', 0)} across labels); "
            f"{stats.get('merged_groups', 0)} merged groups; {stats.get('rejected', 0)} rejected"
        )
    if stats["strata_missing_from_test"]:
        lines.append("")
        lines.append("not in test (numbers on test say nothing about these):")
        lines.extend(f"  {s}" for s in stats["strata_missing_from_test"])
    return "\n".join(lines)
