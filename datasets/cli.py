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
@click.option(
    "--mirror",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of local git mirrors (owner+name/repo, owner/name …) to read listed images "
    "from; repositories not found there are partially cloned.",
)
@click.option(
    "--clone-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where partial clones go (default OUT/.git-cache).",
)
@click.option(
    "--remote",
    default="https://github.com/{repo}",
    show_default=True,
    help="Clone URL template ({repo}, {owner}, {name}).",
)
@click.option("--offline", is_flag=True, help="Never clone: every listed repo must be mirrored.")
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
    mirror: Path | None,
    clone_dir: Path | None,
    remote: str,
    offline: bool,
) -> None:
    """Validate, deduplicate, split and tile into OUT/manifest.csv.

    A --sources file that lists images (plants-v2.toml) is fetched first: every file at its
    commit, sha256-checked, into OUT/raw/.
    """
    from tqdm import tqdm

    from .build import BuildOptions, build_dataset
    from .folders import records_from_folder
    from .records import read_records
    from .sourcelist import (
        SourceListError,
        annotate_base,
        file_sha256,
        load_source_list,
        materialise,
    )
    from .sources import load_sources
    from .stats import dataset_stats, format_stats
    from .tiles import TileSpec

    try:
        lists = [sl for sl in (load_source_list(p) for p in sources_files) if sl is not None]
    except SourceListError as exc:
        raise click.ClickException(str(exc)) from exc
    if not manifests and not folders and not lists:
        raise click.UsageError(
            "give at least one --manifest or --folder, or a --sources file that lists images"
        )
    records = []
    names = []
    hashes = {file_sha256(m): m for m in manifests}
    for sl in lists:
        base = sl.raw.get("base", {}) or {}
        wanted = str(base.get("manifest_sha256", ""))
        if wanted and wanted not in hashes:
            raise click.ClickException(
                f"{sl.path.name} extends {base.get('name', 'a base set')}: give its manifest "
                f"with --manifest ({base.get('manifest', '')}, sha256 {wanted})"
            )
    for manifest in manifests:
        records.extend(annotate_base(read_records(manifest), lists[0] if lists else None))
        names.append(str(manifest))
    mapping = _parse_label_map(label_map)
    for folder in folders:
        try:
            records.extend(records_from_folder(folder, licence=folder_licence, label_map=mapping))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        names.append(str(folder))
    fetch_reports = {}
    for sl in lists:
        try:
            fetched, report = materialise(
                sl,
                out,
                mirror=mirror,
                clone_dir=clone_dir,
                remote=remote,
                offline=offline,
                progress=lambda items, total, desc: tqdm(
                    items, total=total, desc=desc, unit="img", leave=False
                ),
            )
        except SourceListError as exc:
            raise click.ClickException(f"{sl.path}: {exc}") from exc
        records.extend(fetched)
        names.append(str(sl.path))
        fetch_reports[sl.name] = report.as_dict()
        click.echo(f"{sl.name}: {report.fetched} fetched, {report.reused} already present")
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
            extra_info={"fetch": fetch_reports} if fetch_reports else None,
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


@app.command()
@click.argument("sources_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mirror",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of local git mirrors holding each [[source]] at its commit.",
)
@click.option("--only", multiple=True, help="Re-curate only this repository (owner/name).")
def curate(sources_file: Path, mirror: Path, only: tuple[str, ...]) -> None:
    """Apply the [[source.select]] rules of SOURCES_FILE and write its image list.

    Rows of repositories not curated in this run (see --only) are kept as they are.
    """
    import tomllib
    from collections import Counter

    from .curate import curate as run_curate
    from .sourcelist import SourceListError, read_image_list, write_image_list

    data = tomllib.loads(sources_file.read_text("utf-8"))
    if not data.get("images"):
        raise click.ClickException(f"{sources_file}: no `images = ...` list to write")
    target = sources_file.parent / str(data["images"])
    try:
        fresh = run_curate(sources_file, mirror, only=only)
    except (SourceListError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    known = {str(s.get("repo")) for s in data.get("source", [])}
    kept = [
        e
        for e in (read_image_list(target) if target.exists() else [])
        if e.repo not in fresh and e.repo in known
    ]
    rows = kept + [e for entries in fresh.values() for e in entries]
    write_image_list(target, rows)
    for repo, entries in sorted(fresh.items()):
        labels = Counter(e.label for e in entries)
        taxa = len({e.taxon for e in entries})
        click.echo(f"{repo}: {len(entries)} images, {taxa} taxa, {dict(labels)}")
    click.echo(f"wrote {target} ({len(rows)} images)")


# `plantscout datasets import inaturalist|gbif|plantnet300k` (issue 7, datasets/importers).
from .importers.cli import import_group  # noqa: E402  (mounted after the group is defined)

app.add_command(import_group)
