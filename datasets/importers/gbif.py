"""GBIF: occurrence records of one taxon that carry still images, licence-filtered per image.

Uses ``GET /v1/occurrence/search`` with ``mediaType=StillImage``. The occurrence's own
licence is the default for its media; a media item that states its own licence is judged by
that. ``basisOfRecord`` defaults to human observations: herbarium sheets and museum
specimens are pressed, dried plants on paper and would teach the model the wrong thing for
field photos. A name is resolved to a GBIF taxon key with ``/v1/species/match`` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .licences import normalise_licence
from .manifest import Candidate, ImportManifest
from .polite import FetchError, PoliteClient
from .run import Page

DEFAULT_BASE_URL = "https://api.gbif.org/v1/"
SOURCE = "gbif.org"


def resolve_taxon_key(client: PoliteClient, taxon: str) -> tuple[int, str]:
    """A numeric key as given, or the accepted name matched by GBIF's backbone."""
    if taxon.isdigit():
        return int(taxon), taxon
    match = client.get_json("species/match", {"name": taxon, "strict": "true"})
    if match.get("matchType", "NONE") == "NONE" or "usageKey" not in match:
        raise FetchError(client.url("species/match"), f"GBIF knows no taxon named {taxon!r}")
    key = int(match.get("acceptedUsageKey") or match["usageKey"])
    return key, str(match.get("canonicalName") or match.get("scientificName") or taxon)


def occurrence_pages(
    client: PoliteClient,
    manifest: ImportManifest,
    *,
    taxon_key: int,
    label: str,
    licences: frozenset[str],
    per_page: int = 300,
    per_occurrence: int = 1,
    basis_of_record: str | None = "HUMAN_OBSERVATION",
    group_by: str = "observer",
):
    """A ``pages(cursor)`` function for :func:`run_import` (cursor = offset)."""
    params: dict[str, Any] = {
        "taxonKey": taxon_key,
        "mediaType": "StillImage",
        "basisOfRecord": basis_of_record,
        "limit": per_page,
    }
    retrieved = "retrieved " + datetime.now(UTC).date().isoformat()

    def pages(cursor: Any) -> Iterator[Page]:
        offset = int(cursor or 0)
        while True:
            data = client.get_json("occurrence/search", {**params, "offset": offset})
            results = data.get("results") or []
            candidates: list[Candidate] = []
            for occurrence in results:
                candidates.extend(
                    _candidates(
                        occurrence,
                        manifest,
                        label=label,
                        licences=licences,
                        per_occurrence=per_occurrence,
                        group_by=group_by,
                        retrieved=retrieved,
                    )
                )
            offset += len(results)
            last = bool(data.get("endOfRecords")) or not results
            yield Page(candidates, offset, last=last)
            if last:
                return

    return pages


def _candidates(
    occurrence: dict[str, Any],
    manifest: ImportManifest,
    *,
    label: str,
    licences: frozenset[str],
    per_occurrence: int,
    group_by: str,
    retrieved: str,
) -> list[Candidate]:
    key = str(occurrence.get("key") or occurrence.get("gbifID"))
    recorder = str(occurrence.get("recordedBy") or "").strip()
    if group_by == "observer" and recorder:
        group = "gbif-observer-" + re.sub(r"[^a-z0-9]+", "-", recorder.lower()).strip("-")
    else:
        group = f"gbif-occ-{key}"
    taxon = str(
        occurrence.get("species")
        or occurrence.get("acceptedScientificName")
        or occurrence.get("scientificName")
        or ""
    )
    found: list[Candidate] = []
    for index, media in enumerate(occurrence.get("media") or []):
        if media.get("type", "StillImage") != "StillImage" or not media.get("identifier"):
            continue
        licence = normalise_licence(media.get("license") or occurrence.get("license"))
        if licence is None or licence.family not in licences:
            manifest.rejected["licence"] += 1
            continue
        holder = media.get("rightsHolder") or media.get("creator") or recorder or "unknown"
        publisher = media.get("publisher") or occurrence.get("publisher") or ""
        attribution = f"© {holder}, {licence.spdx}" + (f", via {publisher}" if publisher else "")
        found.append(
            Candidate(
                source_id=f"gbif:occurrence:{key}:{index}",
                url=str(media["identifier"]),
                label=label,
                taxon=taxon,
                group=group,
                licence=licence.spdx,
                attribution=attribution + f" (GBIF dataset {occurrence.get('datasetKey', '?')})",
                source=SOURCE,
                source_path=f"https://www.gbif.org/occurrence/{key}",
                commit=retrieved,
            )
        )
        if len(found) >= per_occurrence:
            break
    return found
