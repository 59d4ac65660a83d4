"""``plantscout export RUN --out DIR``: a training run becomes a validated model bundle.

1. ONNX export of the best checkpoint (dynamic batch; ``logits`` + ``embedding``).
2. Parity with PyTorch on ≥ 64 real validation images; refused past the tolerance.
3. Validation split scored *through the bundle*; temperature and thresholds fitted on it.
4. The card: labels and stand-in policy, calibration, data hash, sources and licences,
   limitations, the training config; validated by ``plantscout.model.Card``.
5. The test split evaluated through the final bundle (``plantscout evaluate`` repeats exactly
   this); its metrics go into the card and a report into ``DIR/evaluation/``.
6. Optionally int8: a sibling bundle ``DIR-int8`` whose accuracy change (on the same test
   split, same thresholds) and speed change (this machine) are measured into both cards.

Everything is written to a temporary folder and moved into place at the end, so a refused or
failed export leaves no half-made bundle.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from plantscout.datasets import Record, load_info, manifest_hash, read_records
from plantscout.model import load_bundle
from plantscout.model.bundle import ONNX_FILE, file_sha256, write_card

from . import metrics as M
from .backbones import get_spec
from .calibration import choose_thresholds
from .card import build_card, source_table
from .config import config_from_dict
from .data import eval_tensor
from .evaluate import compute_metrics, score_records, write_predictions
from .onnx_export import ExportRefused, check_parity, export_onnx
from .report import markdown_report
from .tiles_report import per_resolution
from .train import load_checkpoint

Log = Callable[[str], None]
Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]


@dataclass(frozen=True)
class ExportOptions:
    checkpoint: str = "best.pt"
    manifest: Path | None = None  # default: the run's training manifest
    parity_images: int = 64
    tolerance: float = 1e-3
    evaluate_split: str | None = "test"
    int8: bool = False
    int8_calibration_images: int = 128
    threads: int = 2
    plots: bool = True
    force: bool = False
    name: str | None = None
    version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportResult:
    bundle_dir: Path
    card: dict[str, Any]
    int8_dir: Path | None = None


def _no_progress(items: Iterable[Any], total: int, desc: str) -> Iterable[Any]:
    return items


def _prepare_out(out: Path, force: bool) -> Path:
    if out.exists():
        if not force:
            raise FileExistsError(f"{out} exists; pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))


def _commit(tmp: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be read by others
    tmp.rename(out)


def export_run(
    run_dir: str | Path,
    out: str | Path,
    options: ExportOptions = ExportOptions(),
    *,
    log: Log = print,
    progress: Progress = _no_progress,
) -> ExportResult:
    run_dir, out = Path(run_dir), Path(out)
    torch.set_num_threads(max(1, options.threads))
    net, checkpoint = load_checkpoint(run_dir / "checkpoints" / options.checkpoint)
    config = config_from_dict(checkpoint["config"])
    labels = tuple(checkpoint["labels"])
    spec = get_spec(config.model.backbone).preprocessing
    manifest = Path(options.manifest or config.data.manifest)
    all_records = [r for r in read_records(manifest) if r.label in labels]
    by_split = {s: [r for r in all_records if r.split == s] for s in ("train", "val", "test")}
    name = options.name or config.name
    version = options.version or config.version

    if len(by_split["val"]) < options.parity_images:  # fail before the slow export
        raise ExportRefused(
            f"parity needs {options.parity_images} real validation images but the val split "
            f"has {len(by_split['val'])}; lower --parity-images only for toy datasets"
        )
    tmp = _prepare_out(out, options.force)
    int8_tmp: Path | None = None
    try:
        onnx_path = tmp / ONNX_FILE
        log(f"export: ONNX opset 18, {config.model.backbone}, {len(labels)} labels")
        export_onnx(net, onnx_path, spec.input_size)
        parity = check_parity(
            net,
            onnx_path,
            by_split["val"],
            spec,
            images=options.parity_images,
            tolerance=options.tolerance,
            threads=options.threads,
        )
        log(
            f"parity on {parity.images} val images: max |Δlogits| {parity.max_abs_logits:.2e}, "
            f"max |Δembedding| {parity.max_abs_embedding:.2e}, top-1 agreement "
            f"{parity.top1_agreement:.3f}"
        )
        sha = file_sha256(onnx_path)
        embedding_dim = int(net.backbone.num_features)
        common = dict(
            name=name,
            version=version,
            onnx_sha256=sha,
            architecture=f"{config.model.backbone} + "
            + (f"MLP head ({config.model.hidden})" if config.model.hidden else "linear head"),
            labels=labels,
            preprocessing=spec,
            embedding_dim=embedding_dim,
            unusable_min_probability=config.calibration.unusable_min_probability,
            target_recall=config.calibration.alert_recall,
            records=all_records,
            notes=config.card_limitations,
        )

        # Provisional card (T = 1, no thresholds) to score validation through the bundle.
        write_card(tmp, build_card(thresholds={}, temperature=1.0, extra={}, **common))
        val_scored = score_records(tmp, by_split["val"], threads=options.threads, progress=progress)
        known = val_scored.targets >= 0
        temperature = M.fit_temperature(val_scored.logits[known], val_scored.targets[known])
        val_probs = M.softmax(val_scored.logits, temperature)
        thresholds, notes = choose_thresholds(
            val_probs,
            val_scored.targets,
            [r.source for r in by_split["val"]],
            labels,
            config.calibration,
        )
        log(f"temperature {temperature:.4f}; thresholds {json.dumps(thresholds)}")

        info = load_info(manifest.parent)
        tile_gsd = sorted({r.gsd_m for r in all_records if r.kind == "drone_tile" and r.gsd_m})
        extra: dict[str, Any] = {
            "calibration": {
                "fitted_on": "val",
                "images": int(known.sum()),
                "nll_before": M.nll(val_scored.logits[known], val_scored.targets[known], 1.0),
                "nll_after": M.nll(
                    val_scored.logits[known], val_scored.targets[known], temperature
                ),
                "thresholds": notes,
            },
            "data": {
                "manifest": str(manifest),
                "manifest_hash": manifest_hash(all_records),
                "dataset_hash": info.get("manifest_hash"),
                "split_seed": info.get("seed"),
                "counts": {s: dict(sorted(_count(rs).items())) for s, rs in by_split.items()},
            },
            "sources": source_table(all_records),
            "tiles": _tiles_section(tile_gsd, spec.input_size),
            "training": {
                "backbone": config.model.backbone,
                "config": checkpoint["config"],
                "run": run_dir.name,
                "checkpoint": options.checkpoint,
                "epoch": checkpoint["epoch"],
                "val_at_checkpoint": checkpoint["metrics"],
                "weights": get_spec(config.model.backbone).licence,
            },
            "export": {
                "opset": 18,
                "torch": torch.__version__,
                "onnxruntime": _ort_version(),
                "parity": parity.as_dict(),
            },
            **options.extra,
        }
        card = build_card(thresholds=thresholds, temperature=temperature, extra=extra, **common)
        write_card(tmp, card)

        bundle = load_bundle(tmp)
        val_scored = score_records(
            bundle, by_split["val"], threads=options.threads, progress=progress
        )
        metrics = {"val": compute_metrics(val_scored, bundle)}
        test_scored = None
        if options.evaluate_split:
            test_records = by_split.get(options.evaluate_split) or [
                r for r in all_records if r.split == options.evaluate_split
            ]
            test_scored = score_records(
                bundle, test_records, threads=options.threads, progress=progress
            )
            metrics[options.evaluate_split] = compute_metrics(test_scored, bundle)
        extra["metrics"] = metrics
        if extra["tiles"] and len(tile_gsd) > 1:  # a multi-resolution tile model: per resolution
            extra["tiles"]["resolutions"] = {
                split: per_resolution(scored)
                for split, scored in (("val", val_scored), (options.evaluate_split, test_scored))
                if split and scored is not None
            }

        if options.int8:
            int8_tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-int8-", dir=out.parent))
            extra["variants"] = {
                "int8": _int8_variant(
                    tmp,
                    int8_tmp,
                    f"{out.name}-int8",
                    by_split,
                    spec,
                    options,
                    test_scored,
                    common,
                    thresholds,
                    temperature,
                    extra,
                    log,
                    progress,
                )
            }
        card = build_card(thresholds=thresholds, temperature=temperature, extra=extra, **common)
        write_card(tmp, card)
        load_bundle(tmp)  # the final bundle must load exactly as the service loads it

        if test_scored is not None and options.evaluate_split:
            _write_evaluation(
                tmp / "evaluation",
                test_scored,
                metrics[options.evaluate_split],
                options.evaluate_split,
                manifest,
                info,
                options.plots,
            )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if int8_tmp is not None:
            shutil.rmtree(int8_tmp, ignore_errors=True)
        raise
    _commit(tmp, out)
    int8_dir = None
    if int8_tmp is not None:
        int8_dir = out.parent / f"{out.name}-int8"
        _commit(int8_tmp, int8_dir)
    log(f"bundle: {out}" + (f" (+ {int8_dir})" if int8_dir else ""))
    return ExportResult(out, card.as_dict(), int8_dir)


def _count(records: list[Record]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.label] = counts.get(r.label, 0) + 1
    return counts


def _tiles_section(tile_gsd: list[float], size: int) -> dict[str, Any] | None:
    """The card's ``tiles``: resolutions served (and, for several, the coarsest frame
    scanned: ``max_gsd_m``), read by ``plantscout.drone.resolution``."""
    if not tile_gsd:
        return None
    if len(tile_gsd) == 1:
        return {
            "gsd_m": tile_gsd[0],
            "size_px": size,
            "note": "drone frames are scored as tiles resampled to this ground resolution",
        }
    return {
        "gsd_m": tile_gsd,
        "max_gsd_m": tile_gsd[-1],
        "size_px": size,
        "note": "drone frames are scored as tiles at the finest of these resolutions not finer "
        "than the frame; frames coarser than max_gsd_m are not scanned",
    }


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def _write_evaluation(
    directory: Path,
    scored: Any,
    result: dict[str, Any],
    split: str,
    manifest: Path,
    info: dict[str, Any],
    plots: bool,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    if plots:
        from .plots import write_plots

        names = write_plots(directory, scored, result)
    (directory / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    (directory / "report.md").write_text(
        markdown_report(
            result,
            split=split,
            manifest=str(manifest),
            dataset_hash=info.get("manifest_hash"),
            plots=names,
        ),
        "utf-8",
    )
    # Per-image predictions hold local paths: kept beside the bundle for error analysis,
    # excluded from releases by model/releases/.gitignore.
    write_predictions(directory / "predictions.csv", scored)


def _int8_variant(
    fp32_dir: Path,
    int8_dir: Path,
    int8_name: str,
    by_split: dict[str, list[Record]],
    spec: Any,
    options: ExportOptions,
    test_scored: Any,
    common: dict[str, Any],
    thresholds: dict[str, Any],
    temperature: float,
    extra: dict[str, Any],
    log: Log,
    progress: Progress,
) -> dict[str, Any]:
    """Quantize, then measure accuracy and speed change against fp32; write the int8 bundle."""
    from .quantize import compare_speed, quantize_int8

    train = sorted(by_split["train"], key=lambda r: r.sha256)
    step = max(1, len(train) // max(1, options.int8_calibration_images))
    calib_records = train[::step][: options.int8_calibration_images]
    calibration = np.stack([eval_tensor(r, spec) for r in calib_records]).astype(np.float32)
    int8_onnx = int8_dir / ONNX_FILE
    log(f"int8: static quantization calibrated on {len(calib_records)} training images")
    quantize_int8(fp32_dir / ONNX_FILE, int8_onnx, calibration)
    variant_card = build_card(
        thresholds=thresholds,
        temperature=temperature,
        extra={**extra, "variant_of": {"name": common["name"], "sha256": common["onnx_sha256"]}},
        **{
            **common,
            "onnx_sha256": file_sha256(int8_onnx),
            "architecture": common["architecture"] + " (int8 QDQ)",
        },
    )
    write_card(int8_dir, variant_card)
    int8_bundle = load_bundle(int8_dir)
    speed = compare_speed(
        fp32_dir / ONNX_FILE, int8_onnx, calibration[:16], threads=options.threads
    )
    result: dict[str, Any] = {
        "directory": int8_name,
        "sha256": int8_bundle.sha256,
        "size_bytes": int8_onnx.stat().st_size,
        "fp32_size_bytes": (fp32_dir / ONNX_FILE).stat().st_size,
        "speed": speed,
        "calibration_images": len(calib_records),
    }
    if test_scored is not None and options.evaluate_split:
        int8_scored = score_records(
            int8_bundle, test_scored.records, threads=options.threads, progress=progress
        )
        int8_metrics = compute_metrics(int8_scored, int8_bundle)
        fp32_metrics = extra["metrics"][options.evaluate_split]
        agreement = float((int8_scored.probs.argmax(1) == test_scored.probs.argmax(1)).mean())
        verdicts = float(
            np.mean(
                [a == b for a, b in zip(int8_scored.verdicts, test_scored.verdicts, strict=True)]
            )
        )
        result["accuracy_change"] = {
            "split": options.evaluate_split,
            "images": len(test_scored.records),
            "top1_agreement_with_fp32": agreement,
            "verdict_agreement_with_fp32": verdicts,
            "max_abs_probability_change": float(
                np.abs(int8_scored.probs - test_scored.probs).max()
            ),
            "accuracy_fp32": fp32_metrics["accuracy"],
            "accuracy_int8": int8_metrics["accuracy"],
            "targets_int8": {k: v["value"] for k, v in int8_metrics["targets"].items()},
            "targets_fp32": {k: v["value"] for k, v in fp32_metrics["targets"].items()},
        }
        variant_extra = {
            **extra,
            "variant_of": {"name": common["name"], "sha256": common["onnx_sha256"]},
        }
        variant_extra["metrics"] = {options.evaluate_split: int8_metrics}
        variant_extra["variants"] = {"int8": result}
        write_card(
            int8_dir,
            build_card(
                thresholds=thresholds,
                temperature=temperature,
                extra=variant_extra,
                **{
                    **common,
                    "onnx_sha256": int8_bundle.sha256,
                    "architecture": common["architecture"] + " (int8 QDQ)",
                },
            ),
        )
    log(
        f"int8: {speed['int8_images_per_second']:.1f} vs fp32 {speed['fp32_images_per_second']:.1f} "
        f"images/s (×{speed['int8_speedup']:.2f})"
        + (
            f", top-1 agreement {result['accuracy_change']['top1_agreement_with_fp32']:.4f}"
            if "accuracy_change" in result
            else ""
        )
    )
    return result
