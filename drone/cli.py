"""``plantscout scan PATH… --out DIR``: scan a flight's frames for suspected spots.

Without ``--model`` the bundle comes from :func:`plantscout.model.lifecycle.resolve.resolve_bundle`
(the registry's current bundle, else ``$PLANTSCOUT_MODEL``, else the released default), the
same order every command and the service follow.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from plantscout.model import environment
from plantscout.model.cli import model_option
from plantscout.model.errors import PlantscoutError


@click.command(name="scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Output folder.")
@model_option
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per CPU core).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="ONNX Runtime threads per worker (default: cores / workers).",
)
@click.option(
    "--gsd",
    "gsd_cm",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Ground resolution of the frames in cm/px (overrides altitude and camera).",
)
@click.option(
    "--model-gsd",
    "model_gsd_cm",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Ground size of one model-input pixel in cm (default: the bundle card's).",
)
@click.option(
    "--tile-px",
    type=click.IntRange(min=32),
    default=None,
    help="Tile side in frame pixels when the ground resolution is unknown (default: 2 × model input).",
)
@click.option(
    "--overlap",
    type=click.FloatRange(0.0, 0.8),
    default=0.25,
    show_default=True,
    help="Tile overlap fraction.",
)
@click.option(
    "--height",
    "height_m",
    type=click.FloatRange(min=0.5),
    default=None,
    help="Camera height above ground in metres (overrides relative altitude).",
)
@click.option(
    "--ground-elevation",
    "ground_elevation_m",
    type=float,
    default=None,
    help="Ground elevation in metres, same datum as the GPS altitude.",
)
@click.option(
    "--sensor-width",
    "sensor_width_mm",
    type=click.FloatRange(min=0.5),
    default=None,
    help="Camera sensor width in mm, for cameras not in the built-in table.",
)
@click.option(
    "--focal-length",
    "focal_length_mm",
    type=click.FloatRange(min=0.5),
    default=None,
    help="Lens focal length in mm (overrides EXIF).",
)
@click.option(
    "--max-upsample",
    type=click.FloatRange(min=1.0),
    default=2.0,
    show_default=True,
    help="Refuse frames coarser than the model's ground resolution by more than this factor.",
)
@click.option(
    "--assume-nadir/--no-assume-nadir",
    default=True,
    show_default=True,
    help="Treat frames without a trustworthy gimbal pitch as pointing straight down (flagged in outputs).",
)
@click.option(
    "--include-thermal",
    is_flag=True,
    help="Also score thermal frames (the colour model is not made for them).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Tiles per network call.",
)
@click.option(
    "--post",
    "post_url",
    default=None,
    help="Service URL: file frames with suspected regions as inspection records.",
)
@click.option(
    "--key",
    "api_key",
    default=None,
    envvar=environment.API_KEY.name,
    help=f"API key for --post (or ${environment.API_KEY.name}).",
)
@click.option(
    "--post-review",
    is_flag=True,
    help="With --post, also file frames whose regions are only at review level.",
)
@click.option(
    "--site-type",
    default="other",
    show_default=True,
    help="Site type of posted records (farmland, remote_plot, …).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def app(
    paths: tuple[Path, ...],
    out: Path,
    model: Path | None,
    workers: int | None,
    threads: int | None,
    gsd_cm: float | None,
    model_gsd_cm: float | None,
    tile_px: int | None,
    overlap: float,
    height_m: float | None,
    ground_elevation_m: float | None,
    sensor_width_mm: float | None,
    focal_length_mm: float | None,
    max_upsample: float,
    assume_nadir: bool,
    include_thermal: bool,
    batch_size: int,
    post_url: str | None,
    api_key: str | None,
    post_review: bool,
    site_type: str,
    quiet: bool,
) -> None:
    """Scan drone frames (files or folders; JPEG, PNG, GeoTIFF orthomosaics) into OUT.

    Writes detections.csv / .geojson / .kml (one entry per suspected region), an overlay PNG
    per frame, and summary.json / summary.txt. Re-running with the same OUT skips frames
    already scanned with the same model and settings (keyed by file hash).
    """
    from plantscout.drone.runner import collect_frames, scan_flight
    from plantscout.drone.scan import ScanOptions
    from plantscout.model.bundle import load_bundle
    from plantscout.model.lifecycle.resolve import resolve_bundle

    if post_url and not api_key:
        raise click.UsageError(f"--post needs --key (or ${environment.API_KEY.name})")
    frames = collect_frames(paths)
    if not frames:
        raise click.ClickException("no frames found (JPEG, PNG, WebP or GeoTIFF)")
    try:
        bundle = load_bundle(resolve_bundle(model).path)  # checked once, before any worker starts
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    options = ScanOptions(
        model_gsd_m=model_gsd_cm / 100 if model_gsd_cm else None,
        gsd_m=gsd_cm / 100 if gsd_cm else None,
        tile_px=tile_px,
        overlap=overlap,
        sensor_width_mm=sensor_width_mm,
        focal_length_mm=focal_length_mm,
        height_m=height_m,
        ground_elevation_m=ground_elevation_m,
        assume_nadir=assume_nadir,
        max_upsample=max_upsample,
        skip_thermal=not include_thermal,
        batch_size=batch_size,
    )
    cores = os.cpu_count() or 1
    workers = workers or max(1, min(len(frames), cores))

    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(frames), unit="frame", dynamic_ncols=True, file=sys.stderr)

    def progress(done: int, total: int, result, resumed: bool) -> None:  # noqa: ANN001
        if bar is not None:
            bar.set_postfix_str(
                f"{Path(result.file).name}: {result.verdict}{' (resumed)' if resumed else ''}"
            )
            bar.update(1)

    results, outputs = scan_flight(
        frames,
        out,
        bundle=bundle.path,
        options=options,
        workers=workers,
        threads=threads,
        progress=progress,
    )
    if bar is not None:
        bar.close()
    click.echo((out / "summary.txt").read_text("utf-8"), nl=False)
    for name, path in outputs.items():
        click.echo(f"{name}: {path}")

    if post_url:
        _post_all(results, post_url, api_key or "", out, post_review, site_type)
    if any(r.verdict == "error" for r in results):
        sys.exit(1)


def _post_all(results, url: str, key: str, out: Path, include_review: bool, site_type: str) -> None:  # noqa: ANN001
    from plantscout.drone.post import post_frame, should_post

    log_path = out / "posted.json"
    log: dict[str, dict] = json.loads(log_path.read_text("utf-8")) if log_path.is_file() else {}
    failures = 0
    for result in results:
        if not should_post(result, include_review):
            continue
        answer = post_frame(result, Path(result.file), url, key, site_type=site_type)
        log[result.sha256] = answer.as_dict()
        if answer.ok:
            state = "filed" if answer.created else "already filed"
            click.echo(f"{Path(result.file).name}: {state} as {answer.record_id}")
        else:
            failures += 1
            click.secho(
                f"{Path(result.file).name}: not filed ({answer.status}) {answer.message}",
                err=True,
                fg="red",
            )
        log_path.write_text(json.dumps(log, indent=1), "utf-8")
    if failures:
        raise click.ClickException(f"{failures} frame(s) could not be filed; re-run to retry")
