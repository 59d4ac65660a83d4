"""``plantscout evaluate RUN|BUNDLE --data MANIFEST [--protocol in-source|out-of-source]``.

``in-source`` (default; no torch needed) scores one split through the ONNX bundle (what
ships). ``out-of-source`` reruns the protocol of ``training/oos.py`` with the training
recipe recorded in the card — one head per held-out source family on the stored trunk
outputs (torch needed; the store is filled first if empty) — and applies the card's own
decision rule to the predictions. Both write ``metrics.json``, ``predictions.csv``,
``report.md`` and plots, and with ``--check-card`` fail unless the card's recorded numbers for
that protocol are reproduced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

PROTOCOLS = ("in-source", "out-of-source")
OUT_OF_SOURCE = "out_of_source"  # the card's metrics key for the out-of-source protocol


def resolve_bundle_dir(target: Path) -> Path:
    """A bundle directory, or a run directory whose export went to RUN/bundle."""
    if (target / "card.json").is_file():
        return target
    if (target / "bundle" / "card.json").is_file():
        return target / "bundle"
    if (target / "checkpoints").is_dir():
        raise click.ClickException(
            f"{target} is a training run that has not been exported: run "
            f"`plantscout export {target}` first (evaluation scores the exported ONNX bundle)"
        )
    raise click.ClickException(f"{target} is neither a model bundle nor a training run")


@click.command(name="evaluate")
@click.argument("target", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--data",
    "manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Built manifest CSV (default: the manifest named in the card, if present).",
)
@click.option("--split", default="test", show_default=True, help="train, val, test or all.")
@click.option(
    "--protocol",
    type=click.Choice(PROTOCOLS),
    default="in-source",
    show_default=True,
    help="in-source: one split through the bundle. out-of-source: every image scored by a "
    "head that never saw its source family (all splits; needs torch and the feature store).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="out-of-source: the trunk-feature store (default: the card's training cache_dir).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: runs/evaluations/NAME-VERSION-SPLIT|out-of-source).",
)
@click.option("--threads", default=2, show_default=True, help="ONNX Runtime / torch threads.")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots (no matplotlib needed).")
@click.option(
    "--compare",
    "compare_with",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Another bundle (e.g. the one in service): evaluate it the same way on the same "
    "images and print the differences per label (TARGET is the candidate).",
)
@click.option(
    "--check-card",
    is_flag=True,
    help="Exit with status 1 unless the card's recorded metrics for this split / protocol "
    "are reproduced.",
)
def app(
    target: Path,
    manifest: Path | None,
    split: str,
    protocol: str,
    cache: Path | None,
    out: Path | None,
    threads: int,
    batch_size: int,
    no_plots: bool,
    compare_with: Path | None,
    check_card: bool,
) -> None:
    """Evaluate a model bundle (or an exported training run) in-source or out-of-source."""
    from plantscout.datasets import load_info
    from plantscout.model import load_bundle

    from .evaluate import card_differences, write_predictions
    from .report import markdown_report

    bundle = load_bundle(resolve_bundle_dir(target))
    manifest = _manifest(bundle, manifest)
    out_of_source = protocol == "out-of-source"
    key = OUT_OF_SOURCE if out_of_source else split
    out = out or Path("runs/evaluations") / f"{bundle.name}-{bundle.version}-{protocol}" + (
        "" if out_of_source else f"-{split}"
    )
    out.mkdir(parents=True, exist_ok=True)

    if out_of_source:
        scored, result = _out_of_source(bundle, manifest, cache)
    else:
        scored, result = _in_source(bundle, manifest, split, threads, batch_size)
    recorded = recorded_metrics(bundle.card.extra.get("metrics", {}), key, result)
    differences = card_differences(recorded, result) if recorded else None
    plots = {}
    if not no_plots:
        from .plots import write_plots

        plots = write_plots(out, scored, result)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    write_predictions(out / "predictions.csv", scored)
    (out / "report.md").write_text(
        markdown_report(
            result,
            split="all (out-of-source)" if out_of_source else split,
            manifest=str(manifest),
            dataset_hash=load_info(manifest.parent).get("manifest_hash"),
            plots=plots,
            card_check=differences,
        ),
        "utf-8",
    )
    _echo_summary(bundle, key, result, differences, out)
    if compare_with is not None:  # issue 7: candidate vs current on the same images
        other = _load(compare_with)
        candidate = (scored, result)
        if out_of_source:
            current, candidate = _unseen_by(other, bundle, scored, threads, batch_size)
        else:
            current = _in_source(other, manifest, split, threads, batch_size)
        _compare(other, current, bundle, candidate, out)
    if check_card and (differences is None or differences):
        raise SystemExit(1)


def recorded_metrics(
    recorded: dict[str, Any], key: str, result: dict[str, Any]
) -> dict[str, Any] | None:
    """The card's entry measured on the same images as ``result`` (a card may hold several
    for one split: e.g. the test split of the data it trained on, and of plants-v1 which CI
    can rebuild), else the entry named ``key``."""
    for entry in recorded.values():
        if isinstance(entry, dict) and entry.get("records_hash") == result["records_hash"]:
            return entry
    return recorded.get(key)


def _manifest(bundle: Any, manifest: Path | None) -> Path:
    if manifest is not None:
        return manifest
    named = bundle.card.extra.get("data", {}).get("manifest")
    if not named or not Path(named).is_file():
        raise click.UsageError("give --data MANIFEST (the card names none that exists here)")
    return Path(named)


def _in_source(
    bundle: Any, manifest: Path, split: str, threads: int, batch_size: int
) -> tuple[Any, dict[str, Any]]:
    from tqdm import tqdm

    from plantscout.datasets import read_records

    from .evaluate import evaluate

    records = read_records(manifest)
    if split != "all":
        records = [r for r in records if r.split == split]
    if not records:
        raise click.ClickException(f"{manifest} has no records in split {split!r}")

    def progress(items, total, desc):
        return tqdm(items, total=total, desc=desc, leave=False)

    return evaluate(bundle.path, records, threads=threads, batch_size=batch_size, progress=progress)


def _out_of_source(bundle: Any, manifest: Path, cache: Path | None) -> tuple[Any, dict[str, Any]]:
    """Torch threads come from the card's recipe: the folds must refit exactly."""
    try:
        from .protocol import evaluate_out_of_source
    except ImportError as exc:  # torch is not installed: say what to install
        raise click.ClickException(
            f"the out-of-source protocol trains heads and needs the [train] extra ({exc})"
        ) from exc
    try:
        return evaluate_out_of_source(bundle, manifest, cache=cache, log=click.echo)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc


def _echo_summary(
    bundle: Any, key: str, result: dict[str, Any], differences: list[str] | None, out: Path
) -> None:
    click.echo(f"{bundle.name} {bundle.version} on {key}: {result['images']} images")
    for name, t in result["targets"].items():
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        value = "—" if t["value"] is None else f"{t['value']:.4f}"
        click.echo(f"  {name:<44} {value:>8}   target {t['target']}   {mark}")
    cross = result.get("cross_fitted", {}).get("targets")
    if cross:
        click.echo("  cross-fitted (each fold's thresholds fitted without it):")
        for name, t in cross.items():
            value = "—" if t["value"] is None else f"{t['value']:.4f}"
            click.echo(f"    {name:<42} {value:>8}")
    if differences is None:
        click.echo("card: no recorded metrics for this split")
    elif differences:
        click.echo("card: metrics NOT reproduced:")
        for line in differences:
            click.echo(f"  {line}")
    else:
        click.echo("card: recorded metrics reproduced")
    click.echo(f"report: {out / 'report.md'}")


def _unseen_by(
    other: Any, bundle: Any, scored: Any, threads: int, batch_size: int
) -> tuple[tuple[Any, dict[str, Any]], tuple[Any, dict[str, Any]]]:
    """Out-of-source comparison: the images of sources ``other`` never trained on, scored by
    ``other`` as it stands (for it they are out-of-source already) and by the candidate's
    out-of-source predictions. Refitting ``other``'s own recipe per fold is not attempted:
    a trained-blocks recipe costs hours per fold set on a 2-core CPU."""
    from .evaluate import evaluate, take
    from .measures import compute_metrics

    seen = {s["source"] for s in other.card.extra.get("sources", [])}
    rows = [i for i, r in enumerate(scored.records) if r.source not in seen]
    if not rows:
        raise click.ClickException(
            f"{other.name} {other.version} trained on every source of this dataset: no image "
            "is out-of-source for it, so there is nothing to compare on"
        )
    subset = take(scored, rows)
    unseen = sorted({r.source for r in subset.records})
    click.echo(
        f"comparing on {len(rows)} images from {len(unseen)} sources "
        f"{other.name} {other.version} never saw: {', '.join(unseen)}"
    )
    current = evaluate(other.path, subset.records, threads=threads, batch_size=batch_size)
    return current, (subset, compute_metrics(subset, bundle))


def _load(directory: Path) -> Any:
    from plantscout.model import load_bundle

    return load_bundle(resolve_bundle_dir(directory))


def _compare(
    other: Any,
    current: tuple[Any, dict[str, Any]],
    bundle: Any,
    candidate: tuple[Any, dict[str, Any]],
    out: Path,
) -> None:
    """Current (``other``) vs candidate on the same images: per label and per target."""
    from .compare import compare_scored, format_comparison

    comparison = compare_scored(current[0], candidate[0])
    comparison["targets"] = {
        name: {
            "current": current[1]["targets"].get(name, {}).get("value"),
            "candidate": entry["value"],
            "target": entry["target"],
        }
        for name, entry in candidate[1]["targets"].items()
    }
    (out / "compare.json").write_text(json.dumps(comparison, indent=2) + "\n", "utf-8")
    (out / "compare-current-metrics.json").write_text(
        json.dumps(current[1], indent=2) + "\n", "utf-8"
    )
    names = (f"{other.name} {other.version}", f"{bundle.name} {bundle.version}")
    click.echo(format_comparison(comparison, *names))
