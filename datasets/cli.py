"""``plantscout datasets build | stats``."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _parse_fractions(text: str) -> dict[str, float]:
    parts = [float(p) for p in text.split(",")]
    if len(parts) != 3:
        raise click.BadParameter("give three numbers: train,val,test (e.g. 0.7,0.15,0.15)")
    return dict(zip(("train", "val", "test"), parts, strict=True))


def _parse_label_map(items: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for item in items:
        folder, sep, label = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected FOLDER=LABEL")
        mapping[folder] = label
    return mapping


@click.group(name="datasets")
def app() -> None:
    """Build and inspect training datasets (manifests, duplicates, group-wise splits)."""


@app.command()
@click.option(
    "--manifest",
    "manifests",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A source or built manifest CSV (columns: datasets/README.md). Repeatable.",
)
@click.option(
    "--folder",
    "folders",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder tree LABEL/[GROUP/]*.jpg. Repeatable.",
)
@click.option("--folder-licence", default="not stated", help="Licence of the --folder photos.")
@click.option("--label-map", multiple=True, help="Rename a folder to a label: FOLDER=LABEL.")
@click.option(
    "--sources",
    "sources_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Source description TOML (provenance, drone GSD per group). Repeatable.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder.",
)
@click.option("--seed", default=0, show_default=True, help="Split seed.")
@click.option("--fractions", default="0.7,0.15,0.15", show_default=True, help="train,val,test.")
@click.option("--min-side", default=96, show_default=True, help="Reject images smaller than this.")
@click.option("--tile-gsd", default=0.01, show_default=True, help="Drone tile resolution (m/px).")
@click.option("--tile-size", default=224, show_default=True, help="Drone tile side (px).")
@click.option("--workers", default=2, show_default=True, help="Decoding threads.")
def build(
    manifests: tuple[Path, ...],
    folders: tuple[Path, ...],
    folder_licence: str,
    label_map: tuple[str, ...],
    sources_files: tuple[Path, ...],
    out: Path,
    seed: int,
    fractions: str,
    min_side: int,
    tile_gsd: float,
    tile_size: int,
    workers: int,
) -> None:
    """Validate, deduplicate, split and tile into OUT/manifest.csv."""
    from tqdm import tqdm

    from .build import BuildOptions, build_dataset
    from .folders import records_from_folder
    from .records import read_records
    from .sources import load_sources
    from .stats import dataset_stats, format_stats
    from .tiles import TileSpec

    if not manifests and not folders:
        raise click.UsageError("give at least one --manifest or --folder")
    records = []
    names = []
    for manifest in manifests:
        records.extend(read_records(manifest))
        names.append(str(manifest))
    mapping = _parse_label_map(label_map)
    for folder in folders:
        try:
            records.extend(records_from_folder(folder, licence=folder_licence, label_map=mapping))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        names.append(str(folder))
    options = BuildOptions(
        seed=seed,
        fractions=_parse_fractions(fractions),
        min_side=min_side,
        tiles=TileSpec(gsd_m=tile_gsd, size_px=tile_size),
        workers=workers,
    )

    def progress(items, total, desc):
        return tqdm(items, total=total, desc=desc, unit="img", leave=False)

    try:
        result = build_dataset(
            records,
            out,
            options=options,
            sources=[load_sources(p) for p in sources_files],
            input_names=names,
            progress=progress,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_stats(dataset_stats(result.records, result.info)))
    click.echo(f"\nwrote {result.manifest}")


@app.command()
@click.argument("dataset", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def stats(dataset: Path, as_json: bool) -> None:
    """Counts per label, source, group, view and split of DATASET (folder or manifest CSV)."""
    from .build import MANIFEST_FILE, load_info
    from .records import read_records
    from .stats import dataset_stats, format_stats

    manifest = dataset / MANIFEST_FILE if dataset.is_dir() else dataset
    records = read_records(manifest)
    result = dataset_stats(records, load_info(manifest.parent))
    click.echo(json.dumps(result, indent=2) if as_json else format_stats(result))


# `plantscout datasets import inaturalist|gbif|plantnet300k` (issue 7, datasets/importers).
from .importers.cli import import_group  # noqa: E402  (mounted after the group is defined)

app.add_command(import_group)
