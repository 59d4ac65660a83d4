"""A sources file that lists images by repository, commit, path and sha256 (plants-v2).

``datasets/sources/plants-v2.toml`` names each repository once (``[[source]]``: commit,
licence as stated, licence flag, how its folders were selected) and points at a CSV with one
row per image (``images = "plants-v2.csv"``)::

    repo,path,sha256,label,taxon,group,view,kind,scene,family,gsd_m

``plantscout datasets build --sources plants-v2.toml`` fetches every listed file at its
commit (from ``--mirror`` or a partial clone), checks its sha256 and builds on the exact
bytes, so anyone can rebuild the set byte for byte. A sources file without ``images`` is
provenance only (plants-v1.toml) and fetches nothing.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plantscout.model import TAXONOMY

from .gitblobs import DEFAULT_REMOTE, CommitReader, GitError, find_mirror, partial_clone
from .licence_flags import FLAGS, licence_flag
from .records import KINDS, VIEWS, Record
from .reserved import reserved_among
from .taxa import TaxonTable, default_taxa

IMAGE_COLUMNS = (
    "repo",
    "path",
    "sha256",
    "label",
    "taxon",
    "group",
    "view",
    "kind",
    "scene",
    "family",
    "gsd_m",
)
_SHA = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
RAW_DIR = "raw"


class SourceListError(ValueError):
    """The sources file is inconsistent, names a reserved repository, or a fetch failed."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:20])
        more = f"\n  … and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} problem(s):\n  {shown}{more}")


@dataclass(frozen=True)
class RepoSource:
    repo: str
    commit: str
    licence: str
    licence_flag: str
    description: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.repo.replace("/", "__")


@dataclass(frozen=True)
class ImageEntry:
    repo: str
    path: str
    sha256: str
    label: str
    taxon: str
    group: str
    view: str = "unknown"
    kind: str = "photo"
    scene: str = ""
    family: str = ""
    gsd_m: float | None = None
    line: int = 0

    def as_row(self) -> dict[str, str]:
        row = {k: str(getattr(self, k) or "") for k in IMAGE_COLUMNS if k != "gsd_m"}
        row["gsd_m"] = "" if self.gsd_m is None else f"{self.gsd_m:g}"
        return row


@dataclass
class SourceList:
    name: str
    path: Path
    repos: dict[str, RepoSource]
    images: list[ImageEntry]
    base_licence_flags: dict[str, str] = field(default_factory=dict)
    base_families: dict[str, str] = field(default_factory=dict)
    base_scenes: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def read_image_list(path: Path) -> list[ImageEntry]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [
            c for c in ("repo", "path", "sha256", "label") if c not in (reader.fieldnames or ())
        ]
        if missing:
            raise SourceListError([f"{path}: missing column(s) {', '.join(missing)}"])
        out = []
        for line, row in enumerate(reader, start=2):
            gsd = (row.get("gsd_m") or "").strip()
            out.append(
                ImageEntry(
                    repo=row["repo"].strip(),
                    path=row["path"],
                    sha256=row["sha256"].strip().lower(),
                    label=row["label"].strip(),
                    taxon=(row.get("taxon") or "").strip(),
                    group=(row.get("group") or "").strip(),
                    view=(row.get("view") or "unknown").strip() or "unknown",
                    kind=(row.get("kind") or "photo").strip() or "photo",
                    scene=(row.get("scene") or "").strip(),
                    family=(row.get("family") or "").strip(),
                    gsd_m=float(gsd) if gsd else None,
                    line=line,
                )
            )
        return out


def write_image_list(path: Path, images: Iterable[ImageEntry]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(IMAGE_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for entry in sorted(images, key=lambda e: (e.repo, e.path)):
            writer.writerow(entry.as_row())
    os.replace(tmp, path)
    return path


def load_source_list(path: str | Path) -> SourceList | None:
    """The sources file with its image list, or ``None`` when it lists no images."""
    path = Path(path)
    data = tomllib.loads(path.read_text("utf-8"))
    if not data.get("images"):
        return None
    repos: dict[str, RepoSource] = {}
    problems: list[str] = []
    for item in data.get("source", []):
        repo = str(item.get("repo", "")).strip()
        licence = str(item.get("licence", "")).strip()
        flag = str(item.get("licence_flag") or licence_flag(licence))
        repos[repo] = RepoSource(
            repo=repo,
            commit=str(item.get("commit", "")).strip(),
            licence=licence or "none stated",
            licence_flag=flag,
            description=dict(item),
        )
        if flag not in FLAGS:
            problems.append(f"[[source]] {repo}: licence_flag {flag!r} is not one of {FLAGS}")
    if problems:
        raise SourceListError(problems)
    base = data.get("base", {}) or {}
    return SourceList(
        name=str(data.get("name", path.stem)),
        path=path,
        repos=repos,
        images=read_image_list(path.parent / str(data["images"])),
        base_licence_flags={str(k): str(v) for k, v in (base.get("licence_flags") or {}).items()},
        base_families={str(k): str(v) for k, v in (base.get("families") or {}).items()},
        base_scenes={str(k): str(v) for k, v in (base.get("scenes") or {}).items()},
        raw=data,
    )


def check_source_list(sources: SourceList) -> list[str]:
    """Everything wrong with a sources file, before anything is fetched."""
    problems: list[str] = []
    reserved = reserved_among([*sources.repos, *(e.repo for e in sources.images)])
    for repo in reserved:
        problems.append(
            f"{repo} is reserved for independent evaluation (issue 11) and must not be "
            "fetched or trained on; remove it from the sources file"
        )
    for repo, source in sources.repos.items():
        if "/" not in repo:
            problems.append(f"[[source]] {repo!r}: expected owner/name")
        if not _COMMIT.match(source.commit):
            problems.append(f"[[source]] {repo}: commit must be a full 40-hex sha")
    seen: set[tuple[str, str]] = set()
    for e in sources.images:
        where = f"{sources.path.name} line {e.line}"
        if e.repo not in sources.repos:
            problems.append(f"{where}: repo {e.repo} has no [[source]] (commit, licence)")
        if not _SHA.match(e.sha256):
            problems.append(f"{where}: sha256 {e.sha256!r} is not 64 hex digits")
        if e.label not in TAXONOMY:
            problems.append(f"{where}: label {e.label!r} is not one of {sorted(TAXONOMY)}")
        if e.kind not in KINDS or e.kind == "drone_tile":
            problems.append(f"{where}: kind {e.kind!r} must be photo or drone_frame")
        if e.view not in VIEWS:
            problems.append(f"{where}: view {e.view!r} is not one of {VIEWS}")
        if not e.group:
            problems.append(f"{where}: empty group (photos of one plant/series share one)")
        if (e.repo, e.path) in seen:
            problems.append(f"{where}: {e.repo}:{e.path} listed twice")
        seen.add((e.repo, e.path))
    return problems


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class FetchReport:
    reused: int = 0
    fetched: int = 0
    repos_from_mirror: list[str] = field(default_factory=list)
    repos_cloned: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reused": self.reused,
            "fetched": self.fetched,
            "repos_from_mirror": self.repos_from_mirror,
            "repos_cloned": self.repos_cloned,
        }


Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


def _no_progress(items: Iterable[Any], total: int, desc: str) -> Iterable[Any]:
    return items


def _reader_for(
    source: RepoSource,
    *,
    mirror: Path | None,
    clone_dir: Path,
    remote: str,
    offline: bool,
    paths: Sequence[str],
    report: FetchReport,
) -> CommitReader:
    if mirror is not None:
        git_dir = find_mirror(mirror, source.repo)
        if git_dir is not None:
            reader = CommitReader(git_dir, source.commit)
            if reader.has_commit():
                report.repos_from_mirror.append(source.repo)
                return reader
            if offline:
                raise SourceListError(
                    [f"{source.repo}: commit {source.commit} is not in {git_dir}"]
                )
    if offline:
        raise SourceListError([f"{source.repo}: no mirror below {mirror} and --offline given"])
    url = remote.format(
        repo=source.repo, owner=source.repo.split("/")[0], name=source.repo.split("/")[1]
    )
    report.repos_cloned.append(source.repo)
    return partial_clone(url, source.commit, clone_dir / source.slug, list(paths))


def materialise(
    sources: SourceList,
    data_dir: str | Path,
    *,
    mirror: str | Path | None = None,
    clone_dir: str | Path | None = None,
    remote: str = DEFAULT_REMOTE,
    offline: bool = False,
    progress: Progress = _no_progress,
) -> tuple[list[Record], FetchReport]:
    """Put every listed image under ``DATA/raw/owner__name/PATH`` with its sha256 checked.

    Files already there with the right hash are kept (a rebuild reads nothing from git). Any
    problem — a reserved repository, a path missing at the commit, bytes whose sha256 differ —
    stops the build with the full list; nothing half-checked is used.
    """
    problems = check_source_list(sources)
    if problems:
        raise SourceListError(problems)
    data_dir = Path(data_dir).resolve()
    raw = data_dir / RAW_DIR
    clone_root = Path(clone_dir) if clone_dir else data_dir / ".git-cache"
    mirror_root = Path(mirror) if mirror else None
    report = FetchReport()
    by_repo: dict[str, list[ImageEntry]] = defaultdict(list)
    for entry in sources.images:
        by_repo[entry.repo].append(entry)

    todo: dict[str, list[ImageEntry]] = defaultdict(list)
    for entry in progress(sources.images, len(sources.images), "check"):
        dest = raw / sources.repos[entry.repo].slug / entry.path
        if dest.is_file() and file_sha256(dest) == entry.sha256:
            report.reused += 1
        else:
            todo[entry.repo].append(entry)

    errors: list[str] = []
    for repo in sorted(todo):
        source = sources.repos[repo]
        entries = todo[repo]
        paths = [e.path for e in entries]
        try:
            reader = _reader_for(
                source,
                mirror=mirror_root,
                clone_dir=clone_root,
                remote=remote,
                offline=offline,
                paths=paths,
                report=report,
            )
            expected = {e.path: e for e in entries}
            for path, data in progress(reader.read(paths), len(paths), repo):
                entry = expected[path]
                if data is None:
                    errors.append(f"{repo}@{source.commit[:10]}: {path}: not found at the commit")
                    continue
                digest = hashlib.sha256(data).hexdigest()
                if digest != entry.sha256:
                    errors.append(
                        f"{repo}@{source.commit[:10]}: {path}: sha256 {digest} "
                        f"differs from the listed {entry.sha256}"
                    )
                    continue
                dest = raw / source.slug / path
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(dest.name + ".part")
                tmp.write_bytes(data)
                os.replace(tmp, dest)
                report.fetched += 1
        except (GitError, SourceListError) as exc:
            errors.append(f"{repo}: {exc}")
    if errors:
        raise SourceListError(errors)
    return to_records(sources, raw), report


def to_records(sources: SourceList, raw: Path, taxa: TaxonTable | None = None) -> list[Record]:
    taxa = taxa or default_taxa()
    records = []
    for e in sources.images:
        source = sources.repos[e.repo]
        found = taxa.lookup(e.taxon)
        records.append(
            Record(
                path=(raw / source.slug / e.path).resolve(),
                label=e.label,
                group=e.group,
                source=e.repo,
                licence=source.licence,
                taxon=found.taxon if found else e.taxon,
                taxon_zh=found.zh if found else "",
                view=e.view,
                kind=e.kind,
                sha256=e.sha256,
                gsd_m=e.gsd_m,
                source_path=e.path,
                commit=source.commit,
                scene=e.scene,
                source_family=f"{e.repo}:{e.family}" if e.family else e.repo,
                licence_flag=source.licence_flag,
            )
        )
    return records


def annotate_base(
    records: Sequence[Record], sources: SourceList | None, taxa: TaxonTable | None = None
) -> list[Record]:
    """Fill taxon (canonical), Chinese name, family and licence flag of base-set records.

    plants-v1 rows carry the names their sources used; the sources file maps each source to a
    licence flag and, for multi-folder sources, group prefixes to folder families.
    """
    taxa = taxa or default_taxa()
    flags = sources.base_licence_flags if sources else {}
    families = sources.base_families if sources else {}
    scenes = sources.base_scenes if sources else {}

    def matching(table: dict[str, str], r: Record) -> str | None:
        for prefix, value in table.items():
            source, _, group_prefix = prefix.partition(":")
            if r.source == source and r.group.startswith(group_prefix):
                return value
        return None

    out = []
    for r in records:
        found = taxa.lookup(r.taxon)
        family = r.source_family
        if not family:
            name = matching(families, r)
            family = f"{r.source}:{name}" if name else r.source
        out.append(
            r.with_(
                taxon=found.taxon if found else r.taxon,
                taxon_zh=r.taxon_zh or (found.zh if found else ""),
                source_family=family,
                licence_flag=r.licence_flag or flags.get(r.source) or licence_flag(r.licence),
                scene=r.scene or matching(scenes, r) or "",
            )
        )
    return out
