"""A whole flight: many frames, several worker processes, resumable, with progress.

Every frame's result is stored as ``frames/<sha256>.json`` the moment it is done (with its
overlay PNG), so an interrupted scan loses at most the frames in flight, and a re-run skips
every frame whose file hash, bundle and scan options match a stored result. Flight outputs
(CSV, GeoJSON, KML, summary) are rebuilt from the stored results at the end.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantscout.drone.exports import write_all
from plantscout.drone.scan import (
    FrameResult,
    ScanOptions,
    file_sha256,
    load_result,
    save_result,
    scan_frame,
)

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")
GEOTIFF_SUFFIXES = (".tif", ".tiff")


def collect_frames(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, folders searched recursively for images; sorted, duplicates dropped."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES
            )
        else:
            found.append(path)
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


@dataclass(frozen=True)
class Layout:
    """Where a scan writes (one output folder per flight), and how frames are named in it.

    ``names_from``: name frames by their path relative to this folder (a server names them
    by their file name, never by the path where it keeps them); None: as given.
    """

    out: Path
    names_from: Path | None = None

    def label(self, path: Path) -> str:
        if self.names_from is not None:
            try:
                return str(path.resolve().relative_to(self.names_from.resolve()))
            except ValueError:
                return path.name
        return str(path)

    def plain(self, message: str, path: Path) -> str:
        """An error message with the frame's path replaced by its label."""
        if self.names_from is None:
            return message
        for spelled in {str(path), str(path.resolve())}:
            message = message.replace(spelled, self.label(path))
        return message

    @property
    def frames(self) -> Path:
        return self.out / "frames"

    @property
    def overlays(self) -> Path:
        return self.out / "overlays"

    def result_path(self, sha256: str) -> Path:
        return self.frames / f"{sha256}.json"

    def overlay_path(self, file: str, sha256: str) -> Path:
        stem = Path(file).stem[:80] or "frame"
        return self.overlays / f"{stem}-{sha256[:10]}.png"

    def make(self) -> None:
        self.frames.mkdir(parents=True, exist_ok=True)
        self.overlays.mkdir(parents=True, exist_ok=True)


@dataclass
class Outcome:
    result: FrameResult
    resumed: bool


# -- worker side ------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(bundle: str | None, threads: int, options: ScanOptions, layout: Layout) -> None:
    from plantscout.model.scorer import Scorer

    _WORKER["scorer"] = Scorer(bundle, intra_op_threads=threads, batch_size=options.batch_size)
    _WORKER["options"] = options
    _WORKER["layout"] = layout


def _work(path: str) -> tuple[dict[str, Any], bool]:
    result, resumed = process_frame(
        Path(path), _WORKER["scorer"], _WORKER["options"], _WORKER["layout"]
    )
    return result.as_dict(), resumed


def process_frame(
    path: Path, scorer: Any, options: ScanOptions, layout: Layout
) -> tuple[FrameResult, bool]:
    """Scan one frame unless a matching result is stored; store it and its overlay."""
    from plantscout.drone.overlay import write_overlay

    label = layout.label(path)
    try:
        sha = file_sha256(path)
    except OSError as exc:
        return FrameResult(
            file=label,
            sha256="",
            verdict="error",
            error={"code": "unreadable", "message": layout.plain(str(exc), path)},
        ), False
    stored = load_result(layout.result_path(sha))
    if (
        stored is not None
        and stored.options == options.fingerprint()
        and stored.model.get("sha256") == scorer.identity["sha256"]
        and stored.verdict != "error"
    ):
        stored.file = label
        return stored, True
    try:
        if path.suffix.lower() in GEOTIFF_SUFFIXES and _is_geotiff(path):
            from plantscout.drone.ortho import scan_orthomosaic

            result = scan_orthomosaic(path, scorer, options, sha256=sha)
            result.file = label
        else:
            result = scan_frame(path, scorer, options, name=label, sha256=sha)
    except Exception as exc:  # noqa: BLE001 - one bad frame must not stop a flight
        result = FrameResult(
            file=label,
            sha256=sha,
            verdict="error",
            error={
                "code": "scan_failed",
                "message": layout.plain(f"{exc.__class__.__name__}: {exc}", path),
            },
        )
    if result.error and "message" in result.error:
        result.error = {**result.error, "message": layout.plain(result.error["message"], path)}
    if result.sha256:
        write_overlay(result, layout.overlay_path(result.file, result.sha256))
        if result.verdict != "error":
            save_result(result, layout.result_path(result.sha256))
    result.preview = None
    return result, False


def _is_geotiff(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    except OSError:
        return False


# -- driver side ------------------------------------------------------------------------

Progress = Callable[[int, int, FrameResult, bool], None]


def scan_flight(
    frames: Sequence[Path],
    out: Path,
    *,
    bundle: str | os.PathLike[str] | None = None,
    options: ScanOptions = ScanOptions(),
    workers: int = 1,
    threads: int | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    names_from: Path | None = None,
) -> tuple[list[FrameResult], dict[str, Path]]:
    """Scan ``frames`` into ``out``; returns results (input order) and the output paths.

    ``workers`` > 1 runs that many processes, each with its own ONNX session of ``threads``
    intra-op threads (default: cores / workers), so a 2-core laptop runs 2 × 1.
    ``names_from``: name frames (in results, outputs and error messages) by their path
    relative to this folder instead of as given.
    """
    layout = Layout(Path(out), names_from)
    layout.make()
    started = time.perf_counter()
    cores = os.cpu_count() or 1
    workers = max(1, min(workers, len(frames) or 1))
    threads = threads or max(1, cores // workers)
    by_path: dict[str, FrameResult] = {}
    resumed = 0
    done = 0

    def record(result: FrameResult, was_resumed: bool) -> None:
        nonlocal resumed, done
        done += 1
        resumed += int(was_resumed)
        by_path[result.file] = result
        if progress:
            progress(done, len(frames), result, was_resumed)

    if workers == 1:
        from plantscout.model.scorer import Scorer

        scorer = Scorer(bundle, intra_op_threads=threads, batch_size=options.batch_size)
        for path in frames:
            if cancelled and cancelled():
                break
            record(*process_frame(path, scorer, options, layout))
    else:
        context = multiprocessing.get_context("spawn")  # safe from threaded parents
        bundle_arg = None if bundle is None else os.fspath(bundle)
        with context.Pool(
            workers,
            initializer=_init_worker,
            initargs=(bundle_arg, threads, options, layout),
            maxtasksperchild=200,
        ) as pool:
            for data, was_resumed in pool.imap_unordered(_work, [str(p) for p in frames]):
                record(
                    FrameResult.from_dict(data) if "schema" in data else _error(data), was_resumed
                )
                if cancelled and cancelled():
                    pool.terminate()
                    break
    labels = [layout.label(p) for p in frames]
    results = [by_path[label] for label in labels if label in by_path]
    paths = write_all(results, layout.out, skipped=resumed, seconds=time.perf_counter() - started)
    return results, paths


def _error(data: dict[str, Any]) -> FrameResult:
    return FrameResult(file=data.get("file", "?"), sha256=data.get("sha256", ""), verdict="error")
