"""``plantscout evaluate RUN|BUNDLE --data MANIFEST --split test``: no torch needed.

Scores through the ONNX bundle (what ships), writes ``metrics.json``, ``predictions.csv``,
``report.md`` and PNG plots, and — when the card holds metrics for the same images — checks
that they are reproduced.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


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
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: runs/evaluations/NAME-VERSION-SPLIT).",
)
@click.option("--threads", default=2, show_default=True, help="ONNX Runtime threads.")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots (no matplotlib needed).")
@click.option(
    "--compare",
    "compare_with",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Another bundle (e.g. the one in service): score it on the same images and print "
    "the differences per label (TARGET is the candidate).",
)
@click.option(
    "--check-card",
    is_flag=True,
    help="Exit with status 1 unless the card's recorded metrics for this split are reproduced.",
)
def app(
    target: Path,
    manifest: Path | None,
    split: str,
    out: Path | None,
    threads: int,
    batch_size: int,
    no_plots: bool,
    compare_with: Path | None,
    check_card: bool,
) -> None:
    """Evaluate a model bundle (or an exported training run) on a dataset split."""
    from tqdm import tqdm

    from plantscout.datasets import load_info, read_records
    from plantscout.model import load_bundle

    from .evaluate import card_differences, evaluate, write_predictions
    from .report import markdown_report

    bundle_dir = resolve_bundle_dir(target)
    bundle = load_bundle(bundle_dir)
    if manifest is None:
        named = bundle.card.extra.get("data", {}).get("manifest")
        if not named or not Path(named).is_file():
            raise click.UsageError("give --data MANIFEST (the card names none that exists here)")
        manifest = Path(named)
    records = read_records(manifest)
    if split != "all":
        records = [r for r in records if r.split == split]
    if not records:
        raise click.ClickException(f"{manifest} has no records in split {split!r}")
    out = out or Path("runs/evaluations") / f"{bundle.name}-{bundle.version}-{split}"
    out.mkdir(parents=True, exist_ok=True)

    def progress(items, total, desc):
        return tqdm(items, total=total, desc=desc, leave=False)

    scored, result = evaluate(
        bundle_dir, records, threads=threads, batch_size=batch_size, progress=progress
    )
    recorded = bundle.card.extra.get("metrics", {}).get(split)
    differences = card_differences(recorded, result) if recorded else None
    plots = {}
    if not no_plots:
        from .plots import write_plots

        plots = write_plots(out, scored, result)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    write_predictions(out / "predictions.csv", scored)
    info = load_info(manifest.parent)
    report = markdown_report(
        result,
        split=split,
        manifest=str(manifest),
        dataset_hash=info.get("manifest_hash"),
        plots=plots,
        card_check=differences,
    )
    (out / "report.md").write_text(report, "utf-8")

    click.echo(f"{bundle.name} {bundle.version} on {split}: {result['images']} images")
    for name, t in result["targets"].items():
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        value = "—" if t["value"] is None else f"{t['value']:.4f}"
        click.echo(f"  {name:<42} {value:>8}   target {t['target']}   {mark}")
    if differences is None:
        click.echo("card: no recorded metrics for this split")
    elif differences:
        click.echo("card: metrics NOT reproduced:")
        for line in differences:
            click.echo(f"  {line}")
    else:
        click.echo("card: recorded metrics reproduced")
    click.echo(f"report: {out / 'report.md'}")
    if compare_with is not None:  # issue 7: candidate vs current on the same images
        from .compare import compare_scored, format_comparison

        other = load_bundle(resolve_bundle_dir(compare_with))
        current, _ = evaluate(other.path, records, threads=threads, batch_size=batch_size)
        comparison = compare_scored(current, scored)
        (out / "compare.json").write_text(json.dumps(comparison, indent=2) + "\n", "utf-8")
        names = (f"{other.name} {other.version}", f"{bundle.name} {bundle.version}")
        click.echo(format_comparison(comparison, *names))
    if check_card and (differences is None or differences):
        raise SystemExit(1)
