"""Pl@ntNet-300K: species folders from the downloaded archive (no network).

Layout (Zenodo record 5645731, as a folder or the ``.zip`` itself)::

    plantnet_300K/
      images/{train,val,test}/<species_id>/<image_id>.jpg
      plantnet300K_species_id_2_name.json   {"1363130": "Papaver somniferum L.", ...}
      plantnet300K_metadata.json            {"<image_id>": {"species_id", "obs_id", "organ",
                                              "author", "license", "split", ...}, ...}

*Papaver somniferum* is species 1363130 and *P. rhoeas* 1363128. Pl@ntNet's own
train/val/test split is not kept: plantscout splits by group (observation or author) so the
photos of one plant never straddle train and test.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from .licences import normalise_licence
from .manifest import Candidate, ImportManifest
from .run import ImportResult
from .taxa import label_for

SOURCE = "plantnet-300k"
METADATA = "plantnet300K_metadata.json"
SPECIES_NAMES = "plantnet300K_species_id_2_name.json"
SPLITS = ("train", "val", "test")


class Archive:
    """Read files from the archive folder or zip by their path inside ``plantnet_300K/``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        if self.path.is_file() and zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
            names = [n for n in self._zip.namelist() if n.endswith(METADATA)]
            if not names:
                raise FileNotFoundError(f"{self.path} holds no {METADATA}")
            self._prefix = str(PurePosixPath(names[0]).parent)
            self._prefix = "" if self._prefix == "." else self._prefix + "/"
        elif self.path.is_dir():
            found = sorted(self.path.glob(METADATA)) or sorted(self.path.glob(f"*/{METADATA}"))
            if not found:
                raise FileNotFoundError(f"{self.path} holds no {METADATA} (Pl@ntNet-300K layout)")
            self._root = found[0].parent
        else:
            raise FileNotFoundError(f"{self.path} is neither a folder nor a zip archive")

    def read(self, inner: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + inner)
        return (self._root / inner).read_bytes()

    def exists(self, inner: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(self._prefix + inner)
                return True
            except KeyError:
                return False
        return (self._root / inner).is_file()

    def json(self, inner: str) -> Any:
        return json.loads(self.read(inner).decode("utf-8"))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


@dataclass(frozen=True)
class SpeciesChoice:
    """``1363130`` or ``1363130=opium_poppy`` on the command line."""

    species_id: str
    label: str | None = None

    @classmethod
    def parse(cls, text: str) -> SpeciesChoice:
        species, _, label = text.partition("=")
        if not species.strip().isdigit():
            raise ValueError(f"--species wants a Pl@ntNet species id (e.g. 1363130), not {text!r}")
        return cls(species.strip(), label.strip() or None)


def import_plantnet(
    archive_path: str | Path,
    manifest: ImportManifest,
    species: Sequence[SpeciesChoice],
    *,
    licences: frozenset[str],
    limit: int | None = None,
    splits: Sequence[str] = SPLITS,
    group_by: str = "observer",
    progress: Callable[[int], None] | None = None,
) -> dict[str, ImportResult]:
    """Copy the chosen species' images into ``manifest``; at most ``limit`` per species."""
    archive = Archive(archive_path)
    try:
        names: dict[str, str] = archive.json(SPECIES_NAMES)
        metadata: dict[str, dict[str, Any]] = archive.json(METADATA)
        results: dict[str, ImportResult] = {}
        for choice in species:
            if choice.species_id not in names:
                raise ValueError(f"species {choice.species_id} is not in {SPECIES_NAMES}")
            taxon = names[choice.species_id]
            label = label_for(taxon, choice.label)
            results[choice.species_id] = _import_species(
                archive,
                manifest,
                metadata,
                choice.species_id,
                taxon=re.sub(r"\s+", " ", taxon).strip(),
                label=label,
                licences=licences,
                limit=limit,
                splits=splits,
                group_by=group_by,
                archive_name=Path(archive_path).name,
                progress=progress,
            )
        return results
    finally:
        archive.close()


def _import_species(
    archive: Archive,
    manifest: ImportManifest,
    metadata: dict[str, dict[str, Any]],
    species_id: str,
    *,
    taxon: str,
    label: str,
    licences: frozenset[str],
    limit: int | None,
    splits: Sequence[str],
    group_by: str,
    archive_name: str,
    progress: Callable[[int], None] | None,
) -> ImportResult:
    prefix = f"{SOURCE}:{species_id}:"
    have = sum(1 for r in manifest.rows if r["source_id"].startswith(prefix))
    result = ImportResult(already=have)
    for image_id, meta in _entries(metadata, species_id, splits):
        if limit is not None and have >= limit:
            break
        candidate = _candidate(image_id, meta, species_id, taxon, label, group_by, archive_name)
        if manifest.has(candidate.source_id):
            continue
        licence = normalise_licence(str(meta.get("license") or ""))
        if licence is None or licence.family not in licences:
            manifest.rejected["licence"] += 1
            continue
        if not archive.exists(candidate.url):
            manifest.rejected["missing_in_archive"] += 1
            continue
        candidate = _with_licence(candidate, licence.spdx)
        if manifest.add(candidate, archive.read(candidate.url)) is not None:
            have += 1
            result.added += 1
            if progress:
                progress(have)
    result.skipped = dict(manifest.rejected)
    return result


def _entries(
    metadata: dict[str, dict[str, Any]], species_id: str, splits: Sequence[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    # Sorted, so that a limit picks the same images on every run (resumable, reproducible).
    for image_id in sorted(metadata):
        meta = metadata[image_id]
        if str(meta.get("species_id")) == species_id and meta.get("split") in splits:
            yield image_id, meta


def _candidate(
    image_id: str,
    meta: dict[str, Any],
    species_id: str,
    taxon: str,
    label: str,
    group_by: str,
    archive_name: str,
) -> Candidate:
    author = str(meta.get("author") or "").strip()
    obs = str(meta.get("obs_id") or image_id)
    if group_by == "observer" and author:
        group = "plantnet-author-" + re.sub(r"[^a-z0-9]+", "-", author.lower()).strip("-")
    else:
        group = f"plantnet-obs-{obs}"
    inner = f"images/{meta.get('split')}/{species_id}/{image_id}.jpg"
    organ = str(meta.get("organ") or "")
    return Candidate(
        source_id=f"{SOURCE}:{species_id}:{image_id}",
        url=inner,
        label=label,
        taxon=taxon + (f" ({organ})" if organ else ""),
        group=group,
        licence="",
        attribution=f"© {author or 'unknown'} / Pl@ntNet (Pl@ntNet-300K, Garcin et al. 2021)",
        source=SOURCE,
        source_path=f"plantnet_300K/{inner}",
        commit=f"{archive_name} (zenodo.org/record/5645731)",
        view="ground" if organ == "habit" else "closeup",  # habit = the whole plant
    )


def _with_licence(candidate: Candidate, licence: str) -> Candidate:
    return replace(candidate, licence=licence)
