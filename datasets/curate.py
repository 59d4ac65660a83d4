"""``plantscout datasets curate``: the selection rules of a sources file -> its image list.

Each ``[[source]]`` of a sources file carries ``[[source.select]]`` rules saying which folders
of the repository become which label and taxon, how photos are grouped and how many are
kept. Curating reads the repository at its commit (a local mirror), applies the rules with a
fixed seed and writes the frozen image list (``repo,path,sha256,…``) that the build fetches.
The rules stay in the sources file as the record of *why* each image is in the set.

Rule keys (``[[source.select]]``):

``folder``  path prefix in the repository (required; ``""`` for the whole tree)
``label``   plantscout label; ``labels = {SUBFOLDER = LABEL}`` overrides per subfolder
``taxon``   scientific name; ``taxa = {KEY = TAXON}`` maps the first sub-folder level (or,
            with ``key = "re:REGEX"``, the first capture group of REGEX on the path below
            ``folder``); a key not in ``taxa`` is skipped unless ``taxon`` is given
``match`` / ``exclude``   regular expressions on the path below ``folder``
``group``   ``image`` (each photo alone), ``folder`` (the whole rule), ``taxon`` (one group per
            taxon in the rule), ``subfolder`` (first
            level below ``folder``), ``parent`` (the file's own folder) or ``re:REGEX`` (the
            first capture group of REGEX on the path below ``folder``)
``cap``     most photos kept per taxon (per subfolder when ``taxa`` is used)
``view``, ``kind``, ``scene``, ``family``, ``gsd_m``   copied to every row
"""

from __future__ import annotations

import hashlib
import random
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantscout.model import TAXONOMY

from .gitblobs import CommitReader, find_mirror
from .reserved import reserved_among
from .sourcelist import ImageEntry, SourceListError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Candidate:
    path: str
    taxon: str
    label: str
    group: str
    rule: int


def _group_for(rule: dict[str, Any], repo: str, folder: str, rel: str) -> str:
    mode = str(rule.get("group", "image"))
    if mode == "taxon":
        return ""  # set by the caller, which knows the taxon
    parts = rel.split("/")
    base = f"{repo}:{folder}".rstrip("/:")
    if mode == "image":
        return f"{base}/{rel}"
    if mode == "folder":
        return base
    if mode == "subfolder":
        return f"{base}/{parts[0]}" if len(parts) > 1 else f"{base}/{rel}"
    if mode == "parent":
        return f"{base}/{'/'.join(parts[:-1])}" if len(parts) > 1 else base
    if mode.startswith("re:"):
        # The key names the group across the whole repository (one plant photographed
        # in several folders stays one group).
        match = re.search(mode[3:], rel)
        if not match:
            return f"{base}/{rel}"
        return f"{repo}#{match.group(1)}"
    raise ValueError(f"group rule {mode!r}: expected image, folder, subfolder, parent or re:…")


def _candidates(
    repo: str, index: int, rule: dict[str, Any], paths: Iterable[str]
) -> list[Candidate]:
    folder = str(rule.get("folder", "")).strip("/")
    prefix = f"{folder}/" if folder else ""
    taxa: dict[str, str] = dict(rule.get("taxa", {}) or {})
    labels: dict[str, str] = dict(rule.get("labels", {}) or {})
    match = re.compile(rule["match"]) if rule.get("match") else None
    key_re = str(rule.get("key", ""))
    key_pattern = re.compile(key_re[3:]) if key_re.startswith("re:") else None
    exclude = re.compile(rule["exclude"]) if rule.get("exclude") else None
    out = []
    for path in paths:
        if not path.startswith(prefix) or not path.lower().endswith(IMAGE_SUFFIXES):
            continue
        rel = path[len(prefix) :]
        if (match and not match.search(rel)) or (exclude and exclude.search(rel)):
            continue
        sub = rel.split("/")[0] if "/" in rel else ""
        if key_pattern is not None:
            found = key_pattern.search(rel)
            sub = found.group(1) if found else ""
        if taxa:
            taxon = taxa.get(sub) or rule.get("taxon")
            if not taxon:
                continue
        else:
            taxon = rule.get("taxon", "")
        label = labels.get(sub) or rule.get("label")
        if label not in TAXONOMY:
            raise ValueError(f"{repo} rule {index}: label {label!r} not in {sorted(TAXONOMY)}")
        group = _group_for(rule, repo, folder, rel)
        if rule.get("group") == "taxon":
            group = f"{repo}:{folder}#{taxon}"
        out.append(Candidate(path, str(taxon), str(label), group, index))
    return out


def _pick(cands: list[Candidate], cap: int | None, seed: str) -> list[Candidate]:
    """Up to ``cap`` photos, spread over as many groups as possible, reproducibly."""
    if cap is None or len(cands) <= cap:
        return sorted(cands, key=lambda c: c.path)
    rng = random.Random(seed)
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for c in sorted(cands, key=lambda c: c.path):
        groups[c.group].append(c)
    order = sorted(groups)
    rng.shuffle(order)
    for name in order:
        rng.shuffle(groups[name])
    picked: list[Candidate] = []
    while len(picked) < cap:
        progressed = False
        for name in order:
            if groups[name] and len(picked) < cap:
                picked.append(groups[name].pop())
                progressed = True
        if not progressed:
            break
    return sorted(picked, key=lambda c: c.path)


def curate_source(source: dict[str, Any], mirror: Path, seed: int = 0) -> list[ImageEntry]:
    repo = str(source["repo"])
    commit = str(source["commit"])
    git_dir = find_mirror(mirror, repo)
    if git_dir is None:
        raise SourceListError([f"{repo}: no mirror below {mirror} (fetch it first)"])
    reader = CommitReader(git_dir, commit)
    if not reader.has_commit():
        raise SourceListError([f"{repo}: commit {commit} is not in {git_dir}"])
    entries = reader.entries()
    rules = list(source.get("select", []))
    chosen: list[tuple[Candidate, dict[str, Any]]] = []
    claimed: set[str] = set()
    for index, rule in enumerate(rules):
        cands = [c for c in _candidates(repo, index, rule, entries) if c.path not in claimed]
        # Only blobs the mirror holds can be listed (a snapshot lacks files of 4 MiB and up)
        # and byte-identical copies are listed once.
        held = reader.present([c.path for c in cands])
        present: dict[str, Candidate] = {}
        for c in cands:
            if c.path in held:
                present.setdefault(entries[c.path].oid, c)
        cands = list(present.values())
        by_taxon: dict[str, list[Candidate]] = defaultdict(list)
        for c in cands:
            by_taxon[c.taxon].append(c)
        cap = rule.get("cap")
        for taxon, items in sorted(by_taxon.items()):
            for c in _pick(items, cap, f"{seed}:{repo}:{index}:{taxon}"):
                chosen.append((c, rule))
                claimed.add(c.path)
    digests = {
        path: hashlib.sha256(data).hexdigest()
        for path, data in reader.read([c.path for c, _ in chosen])
        if data is not None
    }
    out = []
    for c, rule in chosen:
        gsd = rule.get("gsd_m")
        out.append(
            ImageEntry(
                repo=repo,
                path=c.path,
                sha256=digests[c.path],
                label=c.label,
                taxon=c.taxon,
                group=c.group,
                view=str(rule.get("view", "unknown")),
                kind=str(rule.get("kind", "photo")),
                scene=str(rule.get("scene", "")),
                family=str(rule.get("family", "")),
                gsd_m=float(gsd) if gsd is not None else None,
            )
        )
    return out


def curate(
    sources_file: Path, mirror: Path, *, only: Iterable[str] = ()
) -> dict[str, list[ImageEntry]]:
    """Image lists per repository for every ``[[source]]`` with selection rules."""
    data = tomllib.loads(Path(sources_file).read_text("utf-8"))
    seed = int(data.get("seed", 0))
    sources = [s for s in data.get("source", []) if s.get("select")]
    reserved = reserved_among(str(s.get("repo", "")) for s in sources)
    if reserved:
        raise SourceListError([f"{r} is reserved for independent evaluation" for r in reserved])
    wanted = set(only)
    out: dict[str, list[ImageEntry]] = {}
    for source in sources:
        if wanted and source["repo"] not in wanted:
            continue
        out[str(source["repo"])] = curate_source(source, Path(mirror), seed)
    return out
