"""``plantscout datasets import inaturalist|gbif|plantnet300k``: public photos into a manifest.

Each command writes images and ``manifest.csv`` into ``--out`` and can be run again with the
same arguments to resume; ``--limit`` counts the images of that source and label already in
``--out``, so a larger limit continues where a smaller one stopped.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .licences import DEFAULT_FILTER, parse_licence_filter

_GROUP_BY = click.Choice(["observer", "observation"])


def _licences(spec: str) -> frozenset[str]:
    try:
        return parse_licence_filter(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--licence") from exc


def _report(summary: dict, added: int) -> None:
    click.echo(json.dumps({"added": added, **summary}, ensure_ascii=False, indent=2))


def _common(function):
    options = [
        click.option(
            "--out",
            "out",
            required=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Output folder: images/ and manifest.csv (resumable).",
        ),
        click.option(
            "--licence",
            "licence",
            default=DEFAULT_FILTER,
            show_default=True,
            help="Accepted licence families, comma-separated (cc0, cc-by, cc-by-sa, cc-by-nc, "
            "…) or an alias: open = cc0,cc-by,cc-by-sa; cc = any Creative Commons.",
        ),
        click.option(
            "--label",
            default=None,
            help="plantscout label for these images (default: known from the taxon name).",
        ),
        click.option(
            "--group-by",
            type=_GROUP_BY,
            default="observer",
            show_default=True,
            help="Leakage-safe group: one observer's photos (safer) or one observation.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _network(function):
    options = [
        click.option("--taxon", required=True, help="Taxon name or the source's numeric id."),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            required=True,
            help="Images of this label from this source to have in --out.",
        ),
        click.option("--base-url", default=None, help="API base URL (tests, mirrors)."),
        click.option(
            "--delay",
            type=click.FloatRange(min=0.0),
            default=1.0,
            show_default=True,
            help="Minimum seconds between requests (downloads included).",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=4,
            show_default=True,
            help="Retries of a failed request (429/5xx/connection), with back-off.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group(name="import")
def import_group() -> None:
    """Import photos from public sources (iNaturalist, GBIF, Pl@ntNet-300K)."""


@import_group.command(name="inaturalist")
@_network
@_common
@click.option(
    "--size",
    type=click.Choice(["small", "medium", "large", "original"]),
    default="medium",
    show_default=True,
    help="iNaturalist photo size (medium ≈ 500 px).",
)
@click.option("--per-observation", type=click.IntRange(min=1), default=1, show_default=True)
def inaturalist_command(
    taxon: str,
    limit: int,
    base_url: str | None,
    delay: float,
    retries: int,
    out: Path,
    licence: str,
    label: str | None,
    group_by: str,
    size: str,
    per_observation: int,
) -> None:
    """Research-grade iNaturalist observations of TAXON."""
    from . import inaturalist
    from .manifest import ImportManifest
    from .polite import FetchError, PoliteClient
    from .run import run_import

    licences = _licences(licence)
    label = _label(taxon, label)
    manifest = ImportManifest(out)
    client = PoliteClient(
        base_url or inaturalist.DEFAULT_BASE_URL, min_interval_s=delay, retries=retries
    )
    pages = inaturalist.observation_pages(
        client,
        manifest,
        taxon=taxon,
        label=label,
        licences=licences,
        photo_size=size,
        per_observation=per_observation,
        group_by=group_by,
    )
    key = f"inaturalist|{taxon}|{label}|{','.join(sorted(licences))}|{size}|{group_by}"
    try:
        result = run_import(
            manifest,
            client,
            pages,
            query_key=key,
            limit=limit,
            belongs=lambda r: r["source"] == inaturalist.SOURCE and r["label"] == label,
        )
    except FetchError as exc:
        raise click.ClickException(f"{exc} — run the same command again to resume") from exc
    _report(manifest.summary(), result.added)


@import_group.command(name="gbif")
@_network
@_common
@click.option(
    "--basis-of-record",
    default="HUMAN_OBSERVATION",
    show_default=True,
    help="GBIF basisOfRecord filter ('any' for all; specimens are pressed plants).",
)
def gbif_command(
    taxon: str,
    limit: int,
    base_url: str | None,
    delay: float,
    retries: int,
    out: Path,
    licence: str,
    label: str | None,
    group_by: str,
    basis_of_record: str,
) -> None:
    """GBIF occurrences of TAXON that carry photos."""
    from . import gbif
    from .manifest import ImportManifest
    from .polite import FetchError, PoliteClient
    from .run import run_import

    licences = _licences(licence)
    manifest = ImportManifest(out)
    client = PoliteClient(base_url or gbif.DEFAULT_BASE_URL, min_interval_s=delay, retries=retries)
    try:
        taxon_key, name = gbif.resolve_taxon_key(client, taxon)
        label = _label(name, label)
        pages = gbif.occurrence_pages(
            client,
            manifest,
            taxon_key=taxon_key,
            label=label,
            licences=licences,
            basis_of_record=None if basis_of_record.lower() == "any" else basis_of_record,
            group_by=group_by,
        )
        key = f"gbif|{taxon_key}|{label}|{','.join(sorted(licences))}|{basis_of_record}|{group_by}"
        result = run_import(
            manifest,
            client,
            pages,
            query_key=key,
            limit=limit,
            belongs=lambda r: r["source"] == gbif.SOURCE and r["label"] == label,
        )
    except FetchError as exc:
        raise click.ClickException(f"{exc} — run the same command again to resume") from exc
    _report(manifest.summary(), result.added)


@import_group.command(name="plantnet300k")
@click.option(
    "--archive",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The Pl@ntNet-300K folder or its .zip.",
)
@click.option(
    "--species",
    "species",
    multiple=True,
    required=True,
    help="Species id, optionally =LABEL (1363130 = P. somniferum, 1363128 = P. rhoeas).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N per species.")
@click.option(
    "--split",
    "splits",
    multiple=True,
    type=click.Choice(["train", "val", "test"]),
    help="Pl@ntNet splits to read (default: all; plantscout re-splits by group).",
)
@_common
def plantnet_command(
    archive: Path,
    species: tuple[str, ...],
    limit: int | None,
    splits: tuple[str, ...],
    out: Path,
    licence: str,
    label: str | None,
    group_by: str,
) -> None:
    """Species from a downloaded Pl@ntNet-300K archive (no network)."""
    from .manifest import ImportManifest
    from .plantnet300k import SPLITS, SpeciesChoice, import_plantnet

    licences = _licences(licence)
    try:
        choices = [SpeciesChoice.parse(s) for s in species]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--species") from exc
    if label:
        choices = [SpeciesChoice(c.species_id, c.label or label) for c in choices]
    manifest = ImportManifest(out)
    try:
        results = import_plantnet(
            archive,
            manifest,
            choices,
            licences=licences,
            limit=limit,
            splits=splits or SPLITS,
            group_by=group_by,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    _report(manifest.summary(), sum(r.added for r in results.values()))


@import_group.command(name="reviews")
@click.option(
    "--base",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The built dataset the current model was trained on (folder or manifest.csv).",
)
@click.option(
    "--export",
    "export",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The service's reviewed-records export (zip, folder or manifest.csv), or any "
    "manifest to add (e.g. an import's manifest.csv).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder for the extended dataset.",
)
@click.option("--seed", default=0, show_default=True, help="Split seed for the new groups.")
@click.option("--workers", default=2, show_default=True, help="Decoding threads.")
def reviews_command(base: Path, export: Path, out: Path, seed: int, workers: int) -> None:
    """Add reviewed inspection photos to a built dataset, keeping its splits unchanged.

    Then: plantscout train CONFIG --set data.manifest=OUT/manifest.csv, and
    plantscout evaluate NEW_BUNDLE --data OUT/manifest.csv --compare CURRENT_BUNDLE.
    """
    from .reviews import extend_with_reviews

    try:
        result = extend_with_reviews(base, export, out, seed=seed, workers=workers)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        json.dumps(
            {"manifest": str(result.manifest), "added": result.added, "skipped": result.skipped},
            ensure_ascii=False,
            indent=2,
        )
    )


# The same command under the name that fits imports too: any manifest (an iNaturalist /
# GBIF / Pl@ntNet import, a folder build) can extend a base dataset without re-splitting it.
import_group.add_command(reviews_command, name="extend")


def _label(taxon: str, explicit: str | None) -> str:
    from .taxa import label_for

    try:
        return label_for(taxon, explicit)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--label") from exc
