"""``plantscout gallery``: add, list, remove, score with, and rebuild reference galleries.

    plantscout gallery add opium_poppy photos/case-2023-17/*.jpg --gallery poppy.npz \\
        --source "county office, eradication 2023-05" --licence "internal"
    plantscout gallery negatives photos/cleared/ --gallery poppy.npz
    plantscout gallery list --gallery poppy.npz
    plantscout gallery score new/*.jpg --gallery poppy.npz

Photos of one plant, field or case belong in one folder: the folder name is the reference's
group, and calibration holds groups out together (a photo is never "recognised" because its
twin from the same plant is in the gallery).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from .cli import model_option
from .errors import PlantscoutError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})
_GALLERY = click.option(
    "--gallery",
    "-g",
    "gallery_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gallery file (.npz).",
)


@click.group(name="gallery")
def app() -> None:
    """Reference galleries: teach a bundle a label from a few photos (no retraining)."""


def _scorer(model: Path | None):
    from .lifecycle.resolve import resolve_bundle
    from .scorer import Scorer

    try:
        return Scorer(resolve_bundle(model).path, intra_op_threads=None)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc


def _load_or_new(path: Path, scorer, name: str | None = None):
    from .gallery.gallery import Gallery

    try:
        if path.exists():
            gallery = Gallery.load(path)
            gallery.check_bundle(scorer.identity)
            return gallery
        dim = scorer.card.embedding_dim
        if dim is None:
            raise click.ClickException("the bundle's card does not state its embedding size")
        return Gallery.new(scorer.identity, dim, name=name or path.stem)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc


def _expand(items: tuple[Path, ...]) -> list[Path]:
    """Files as given; folders expanded to the images below them (sorted)."""
    paths: list[Path] = []
    for item in items:
        if item.is_dir():
            paths.extend(p for p in sorted(item.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(item)
    return paths


def _report_errors(errors: list[tuple[Path, str]]) -> None:
    for path, message in errors:
        click.secho(f"skipped {path}: {message}", err=True, fg="yellow")


@app.command()
@click.argument("label")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_GALLERY
@model_option
@click.option("--source", default="", help="Where the photos came from (office, case, site).")
@click.option("--licence", default="", help="Licence or terms of use of the photos.")
@click.option(
    "--group",
    default=None,
    help="One group for all these photos (default: each photo's folder name).",
)
def add(
    label: str,
    images: tuple[Path, ...],
    gallery_path: Path,
    model: Path | None,
    source: str,
    licence: str,
    group: str | None,
) -> None:
    """Add IMAGES (files or folders) as references of LABEL; creates the gallery if needed."""
    from .gallery.gallery import Reference, check_label
    from .gallery.gallery_scoring import embed_files

    try:
        check_label(label)
    except PlantscoutError as exc:
        raise click.BadParameter(exc.message, param_hint="LABEL") from exc
    scorer = _scorer(model)
    gallery = _load_or_new(gallery_path, scorer)
    embedded = embed_files(scorer, _expand(images))
    _report_errors(embedded.errors)
    references = [
        Reference(
            label=label,
            sha256=sha,
            source=source,
            licence=licence,
            group=group or path.resolve().parent.name,
            path=str(path.resolve()),
        )
        for path, sha in zip(embedded.paths, embedded.sha256, strict=True)
    ]
    added = gallery.add(references, embedded.embeddings)
    gallery.save(gallery_path)
    click.echo(f"added {added} reference(s) of {label} ({len(references) - added} already there)")
    _print_rules(gallery, only=label)


@app.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_GALLERY
@model_option
@click.option("--label", default="", help="What the photos show, if known (e.g. ornamental_poppy).")
@click.option("--source", default="", help="Where the photos came from.")
def negatives(
    images: tuple[Path, ...], gallery_path: Path, model: Path | None, label: str, source: str
) -> None:
    """Add photos known NOT to show the gallery's labels (look-alikes first): they bound false
    matches, and enough of them (300+) let a controlled label raise alerts, not just reviews."""
    from .gallery.gallery import Negative
    from .gallery.gallery_scoring import embed_files

    scorer = _scorer(model)
    gallery = _load_or_new(gallery_path, scorer)
    embedded = embed_files(scorer, _expand(images))
    _report_errors(embedded.errors)
    items = [
        Negative(sha256=sha, label=label, source=source, path=str(path.resolve()))
        for path, sha in zip(embedded.paths, embedded.sha256, strict=True)
    ]
    added = gallery.add_negatives(items, embedded.embeddings)
    gallery.save(gallery_path)
    click.echo(f"added {added} negative(s); the gallery now has {len(gallery.negatives)}")
    _print_rules(gallery)


@app.command(name="from-manifest")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_GALLERY
@model_option
@click.option(
    "--label", "labels", multiple=True, required=True, help="Label(s) to add as references."
)
@click.option(
    "--negatives/--no-negatives",
    default=False,
    help="Also add the manifest's other labels as negatives.",
)
@click.option("--group", "groups", multiple=True, help="Only rows of these groups (repeatable).")
def from_manifest(
    manifest: Path,
    gallery_path: Path,
    model: Path | None,
    labels: tuple[str, ...],
    negatives: bool,
    groups: tuple[str, ...],
) -> None:
    """Add references (and negatives) from a manifest CSV: an import's output, or a dataset.

    Licence, source and group come from each row, so attribution stays with every reference.
    """
    from .gallery.gallery import Negative, Reference
    from .gallery.gallery_scoring import embed_files

    with open(manifest, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if not groups or r.get("group") in groups]
    base = manifest.resolve().parent
    scorer = _scorer(model)
    gallery = _load_or_new(gallery_path, scorer)
    wanted = [r for r in rows if r["label"] in labels]
    others = [r for r in rows if r["label"] not in labels] if negatives else []
    for chosen, is_reference in ((wanted, True), (others, False)):
        if not chosen:
            continue
        embedded = embed_files(scorer, [base / r["path"] for r in chosen])
        _report_errors(embedded.errors)
        by_path = {(base / r["path"]).resolve(): r for r in chosen}
        rows_ok = [by_path[p.resolve()] for p in embedded.paths]
        if is_reference:
            items = [
                Reference(
                    label=r["label"],
                    sha256=sha,
                    source=r.get("source", ""),
                    licence=r.get("licence", ""),
                    group=r.get("group", ""),
                    path=str((base / r["path"]).resolve()),
                )
                for r, sha in zip(rows_ok, embedded.sha256, strict=True)
            ]
            added = gallery.add(items, embedded.embeddings)
            click.echo(f"added {added} reference(s)")
        else:
            negs = [
                Negative(sha256=sha, label=r["label"], source=r.get("source", ""))
                for r, sha in zip(rows_ok, embedded.sha256, strict=True)
            ]
            added = gallery.add_negatives(negs, embedded.embeddings)
            click.echo(f"added {added} negative(s)")
    gallery.save(gallery_path)
    _print_rules(gallery)


@app.command(name="list")
@_GALLERY
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--references", "show_refs", is_flag=True, help="List every reference too.")
def list_(gallery_path: Path, as_json: bool, show_refs: bool) -> None:
    """What the gallery holds: bundle, labels, calibration (thresholds and their evidence)."""
    from dataclasses import asdict

    from .gallery.gallery import Gallery

    try:
        gallery = Gallery.load(gallery_path)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        data = {
            **gallery.identity(),
            "bundle": gallery.bundle,
            "negatives": len(gallery.negatives),
            "rules": {k: v.as_dict() for k, v in gallery.rules.items()},
        }
        if show_refs:
            data["reference_list"] = [asdict(r) for r in gallery.references]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    b = gallery.bundle
    click.echo(f"gallery {gallery.name} ({gallery.sha256[:12]})")
    click.echo(f"bundle  {b.get('name')} {b.get('version')} ({b.get('sha256', '')[:12]})")
    click.echo(f"references {len(gallery.references)}, negatives {len(gallery.negatives)}")
    _print_rules(gallery)
    if show_refs:
        for ref in gallery.references:
            click.echo(
                f"  {ref.label:18} {ref.sha256[:12]}  {ref.group:24} {ref.licence:12} {ref.source}"
            )


@app.command()
@_GALLERY
@click.option("--label", default=None, help="Remove every reference of this label.")
@click.option(
    "--sha256", default=None, help="Remove the reference(s) with this image sha256 (prefix)."
)
def remove(gallery_path: Path, label: str | None, sha256: str | None) -> None:
    """Remove references by label and/or image sha256."""
    from .gallery.gallery import Gallery

    try:
        gallery = Gallery.load(gallery_path)
        removed = gallery.remove(label=label, sha256=sha256)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    gallery.save(gallery_path)
    click.echo(f"removed {removed} reference(s)")
    _print_rules(gallery)


@app.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@_GALLERY
@model_option
def score(images: tuple[Path, ...], gallery_path: Path, model: Path | None) -> None:
    """Score IMAGES with the classifier and the gallery (JSON lines)."""
    from .gallery.gallery import Gallery
    from .gallery.gallery_scoring import GalleryScorer

    scorer = _scorer(model)
    try:
        wrapped = GalleryScorer(scorer, Gallery.load(gallery_path))
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    failures = 0
    for path in _expand(images):
        try:
            result = wrapped.score_image(wrapped.read(path)).as_dict()
        except (PlantscoutError, OSError) as exc:
            failures += 1
            click.echo(json.dumps({"file": str(path), "error": str(exc)}, ensure_ascii=False))
            continue
        click.echo(json.dumps({"file": str(path), **result}, ensure_ascii=False))
    sys.stdout.flush()
    if failures:
        sys.exit(1)


@app.command()
@_GALLERY
@model_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def rebuild(gallery_path: Path, model: Path | None, out: Path) -> None:
    """Re-embed a gallery's stored photos with another bundle (after a model upgrade).

    Each photo is read again from the path it was added from and must still have the same
    sha256; photos that moved or changed are listed and left out.
    """
    from .gallery.gallery import Gallery, Negative, Reference
    from .gallery.gallery_scoring import embed_files

    old = Gallery.load(gallery_path)
    scorer = _scorer(model)
    new = Gallery.new(
        scorer.identity, scorer.card.embedding_dim or 0, name=old.name, policy=old.policy
    )
    for items, is_reference in ((old.references, True), (old.negatives, False)):
        usable = [i for i in items if i.path]
        embedded = embed_files(scorer, [Path(i.path) for i in usable])
        _report_errors(embedded.errors)
        by_path = {str(Path(i.path)): i for i in usable}
        keep, vectors = [], []
        for index, (path, sha) in enumerate(zip(embedded.paths, embedded.sha256, strict=True)):
            item = by_path[str(path)]
            if item.sha256 != sha:
                click.secho(
                    f"skipped {path}: the file changed since it was added", err=True, fg="yellow"
                )
                continue
            keep.append(item)
            vectors.append(embedded.embeddings[index])
        missing = len(items) - len(keep)
        if missing:
            click.secho(f"{missing} item(s) could not be re-embedded", err=True, fg="yellow")
        if keep:
            import numpy as np

            matrix = np.stack(vectors)
            if is_reference:
                new.add([i for i in keep if isinstance(i, Reference)], matrix)
            else:
                new.add_negatives([i for i in keep if isinstance(i, Negative)], matrix)
    new.save(out)
    click.echo(
        f"rebuilt {len(new.references)} reference(s), {len(new.negatives)} negative(s) -> {out}"
    )
    _print_rules(new)


def _print_rules(gallery, only: str | None = None) -> None:
    for label, rule in sorted(gallery.rules.items()):
        if only and label != only:
            continue

        def pct(value: float | None) -> str:
            return "—" if value is None else f"{100 * value:.0f}%"

        if rule.match is None:
            click.echo(
                f"  {label}: {rule.references} refs, {rule.groups} group(s) — not active: {rule.note}"
            )
            continue
        alert = "—" if rule.alert is None else f"{rule.alert:.3f}"
        click.echo(
            f"  {label}: {rule.references} refs / {rule.groups} groups; match ≥ {rule.match:.3f} "
            f"(held-out recall {pct(rule.recall_at_match)} of {rule.held_out_positives}, "
            f"false matches {pct(rule.false_rate_at_match)} of {rule.negatives} negatives); "
            f"alert ≥ {alert}"
            + (
                f" (recall {pct(rule.recall_at_alert)}, false {pct(rule.false_rate_at_alert)})"
                if rule.alert is not None
                else ""
            )
        )
        if rule.worst_negative_kind is not None:
            click.echo(
                f"    most false matches: {rule.worst_negative_kind} "
                f"({pct(rule.worst_false_rate_at_match)})"
            )
        if rule.note:
            click.echo(f"    note: {rule.note}")
