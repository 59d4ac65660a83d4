"""``plantscout train CONFIG`` and ``plantscout export RUN --out DIR``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="train")
@click.argument("config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run directory (default: runs/NAME-VERSION-TIMESTAMP).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set optim.epochs=5 --set data.manifest=x.csv.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option(
    "--features-only",
    is_flag=True,
    help="Head mode: only fill the trunk-feature store (resumable; progress in the log).",
)
def train_app(
    config_file: Path,
    run_dir: Path | None,
    overrides: tuple[str, ...],
    quiet: bool,
    features_only: bool,
) -> None:
    """Train a classifier as CONFIG_FILE (TOML or YAML) describes."""
    from .config import load_config
    from .train import fill_features, train

    try:
        config = load_config(config_file, list(overrides))
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"{config_file}: {exc}") from exc
    if features_only:
        try:
            n = fill_features(config, log=click.echo, progress=not quiet)
        except (ValueError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"features stored for {n} images under {config.cache_dir}")
        return
    try:
        result = train(config, run_dir, log=click.echo, progress=not quiet)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"best epoch {result.best_epoch} of {result.epochs_run}: val controlled recall "
        f"{result.best_metrics.get('val_controlled_recall', float('nan')):.4f}, "
        f"val accuracy {result.best_metrics.get('val_accuracy', float('nan')):.4f}"
    )
    click.echo(f"run: {result.run_dir}")


@click.command(name="export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Bundle directory to write (default: RUN/bundle).",
)
@click.option("--checkpoint", default="best.pt", show_default=True)
@click.option(
    "--data",
    "manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Built manifest (default: the one the run trained on).",
)
@click.option(
    "--parity-images",
    default=64,
    show_default=True,
    help="Real validation images for the PyTorch/ONNX parity check.",
)
@click.option("--tolerance", default=1e-3, show_default=True, help="Max |Δ| allowed in parity.")
@click.option(
    "--evaluate-split",
    default="test",
    show_default=True,
    help="Split whose metrics go into the card ('none' to skip).",
)
@click.option("--int8", is_flag=True, help="Also write DIR-int8, with measured accuracy/speed.")
@click.option("--threads", default=2, show_default=True)
@click.option("--name", default=None, help="Bundle name (default: the config's).")
@click.option("--version", "version_", default=None, help="Bundle version (default: the config's).")
@click.option("--no-plots", is_flag=True)
@click.option(
    "--also-evaluate",
    "also_evaluate",
    multiple=True,
    metavar="KEY=MANIFEST",
    help="Also measure the test split of another built dataset into the card's metrics[KEY] "
    "(e.g. plants-v1-test=data/plants-v1/manifest.csv, which CI can rebuild).",
)
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def export_app(
    run_dir: Path,
    out: Path | None,
    checkpoint: str,
    manifest: Path | None,
    parity_images: int,
    tolerance: float,
    evaluate_split: str,
    int8: bool,
    threads: int,
    name: str | None,
    version_: str | None,
    no_plots: bool,
    also_evaluate: tuple[str, ...],
    force: bool,
    quiet: bool,
) -> None:
    """Export a training run as a model bundle (ONNX + card), checked and calibrated."""
    from tqdm import tqdm

    from .export import ExportOptions, export_run
    from .onnx_export import ExportRefused

    def progress(items, total, desc):
        return items if quiet else tqdm(items, total=total, desc=desc, leave=False)

    options = ExportOptions(
        checkpoint=checkpoint,
        manifest=manifest,
        parity_images=parity_images,
        tolerance=tolerance,
        evaluate_split=None if evaluate_split == "none" else evaluate_split,
        int8=int8,
        threads=threads,
        plots=not no_plots,
        force=force,
        name=name,
        version=version_,
        also_evaluate=tuple(_key_path(item) for item in also_evaluate),
    )
    try:
        result = export_run(
            run_dir, out or run_dir / "bundle", options, log=click.echo, progress=progress
        )
    except ExportRefused as exc:
        raise click.ClickException(f"export refused: {exc}") from exc
    except (FileExistsError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    targets = (
        result.card.get("metrics", {}).get(options.evaluate_split or "", {}).get("targets", {})
    )
    for key, t in targets.items():
        value = "—" if t["value"] is None else f"{t['value']:.4f}"
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        click.echo(f"  {key:<42} {value:>8}   target {t['target']}   {mark}")


def _key_path(item: str) -> tuple[str, Path]:
    key, sep, path = item.partition("=")
    if not sep or not key or not Path(path).is_file():
        raise click.BadParameter(f"{item!r}: expected KEY=MANIFEST with an existing manifest")
    return key, Path(path)
