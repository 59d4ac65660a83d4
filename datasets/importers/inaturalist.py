"""iNaturalist: research-grade observations of one taxon, photos licence-filtered.

Uses the public API v1 (``GET /v1/observations``) with ``quality_grade=research`` (the
identification is community-confirmed) and ``photo_license`` (the API filters observations
that have at least one photo under those licences; each photo is checked again here). Paging
is by ``id_above`` in ascending id order, as iNaturalist recommends for long result sets,
which also makes the cursor a plain number to resume from.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .licences import normalise_licence
from .manifest import Candidate, ImportManifest
from .polite import PoliteClient
from .run import Page

DEFAULT_BASE_URL = "https://api.inaturalist.org/v1/"
SOURCE = "inaturalist.org"
PHOTO_SIZES = ("small", "medium", "large", "original")  # ~240, 500, 1024 px, full


def observation_pages(
    client: PoliteClient,
    manifest: ImportManifest,
    *,
    taxon: str,
    label: str,
    licences: frozenset[str],
    per_page: int = 200,
    photo_size: str = "medium",
    per_observation: int = 1,
    group_by: str = "observer",
):
    """A ``pages(cursor)`` function for :func:`run_import`."""
    params: dict[str, Any] = {
        "quality_grade": "research",
        "photos": "true",
        "photo_license": ",".join(sorted(licences)),
        "order_by": "id",
        "order": "asc",
        "per_page": per_page,
    }
    params["taxon_id" if taxon.isdigit() else "taxon_name"] = taxon
    retrieved = "retrieved " + datetime.now(UTC).date().isoformat()

    def pages(cursor: Any) -> Iterator[Page]:
        id_above = int(cursor or 0)
        while True:
            data = client.get_json("observations", {**params, "id_above": id_above or None})
            results = data.get("results") or []
            candidates: list[Candidate] = []
            for observation in results:
                candidates.extend(
                    _candidates(
                        observation,
                        manifest,
                        label=label,
                        licences=licences,
                        photo_size=photo_size,
                        per_observation=per_observation,
                        group_by=group_by,
                        retrieved=retrieved,
                    )
                )
            if results:
                id_above = max(int(o["id"]) for o in results)
            last = len(results) < per_page
            yield Page(candidates, id_above, last=last)
            if last:
                return

    return pages


def _candidates(
    observation: dict[str, Any],
    manifest: ImportManifest,
    *,
    label: str,
    licences: frozenset[str],
    photo_size: str,
    per_observation: int,
    group_by: str,
    retrieved: str,
) -> list[Candidate]:
    if observation.get("quality_grade") not in (None, "research"):
        manifest.rejected["not_research_grade"] += 1
        return []
    obs_id = str(observation["id"])
    user = observation.get("user") or {}
    observer = str(user.get("id") or user.get("login") or f"obs{obs_id}")
    group = f"inat-observer-{observer}" if group_by == "observer" else f"inat-obs-{obs_id}"
    taxon = (observation.get("taxon") or {}).get("name") or ""
    page_url = observation.get("uri") or f"https://www.inaturalist.org/observations/{obs_id}"
    found: list[Candidate] = []
    for photo in observation.get("photos") or []:
        licence = normalise_licence(photo.get("license_code"))
        if licence is None or licence.family not in licences:
            manifest.rejected["licence"] += 1
            continue
        url = str(photo.get("url") or "")
        if not url:
            continue
        for size in ("square", "thumb", "small", "medium", "large"):
            url = url.replace(f"/{size}.", f"/{photo_size}.")
        found.append(
            Candidate(
                source_id=f"inaturalist:photo:{photo['id']}",
                url=url,
                label=label,
                taxon=taxon,
                group=group,
                licence=licence.spdx,
                attribution=str(photo.get("attribution") or user.get("login") or ""),
                source=SOURCE,
                source_path=page_url,
                commit=retrieved,
            )
        )
        if len(found) >= per_observation:
            break
    return found
