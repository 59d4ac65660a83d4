"""``plantscout export RUN --out DIR``: a training run becomes a validated model bundle.

``export_run`` is these steps, in order:

1. ``_load_run``: the best checkpoint, its config, the data it names.
2. ``_export_graph``: ONNX (dynamic batch; ``logits`` + ``embedding``) and parity with PyTorch
   on ≥ 64 real validation images; refused past the tolerance.
3. ``_fit_decision``: temperature, thresholds and the familiarity cut — on the validation
   split scored *through the bundle*, or on the out-of-source protocol's predictions
   (``calibration.fit_on``); the familiarity references (training photos of the gated
   label, embedded through the bundle) are written beside the ONNX.
4. ``_card_extra`` + ``_write_card``: labels and stand-in policy, calibration, data hash,
   sources and licences, limitations, the training config; validated by ``Card``.
5. ``_measure``: val and test through the final bundle (``plantscout evaluate`` repeats
   exactly this) and the out-of-source metrics when the protocol ran; into the card.
6. ``_int8_variant`` (optional): a sibling bundle ``DIR-int8`` whose accuracy change (same
   test split, same thresholds) and speed change (this machine) are measured into both cards.
7. ``_write_evaluation``: ``DIR/evaluation/`` with the report, plots and predictions.

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
from plantscout.model import Bundle, Preprocessing, load_bundle
from plantscout.model.bundle import ONNX_FILE, file_sha256, write_card
from plantscout.model.familiarity import (
    FAMILIARITY_FILE,
    FamiliarityRule,
    as_stored,
    references_bytes,
    topk_mean_similarity,
)

from . import metrics as M
from .backbones import get_spec
from .calibration import Calibration, calibrate
from .card import build_card, source_table
from .config import TrainConfig, config_from_dict
from .data import eval_tensor
from .evaluate import Scored, compute_metrics, score_records, write_predictions
from .network import PlantNet
from .onnx_export import ExportRefused, Parity, check_parity, export_onnx
from .report import markdown_report
from .tiles_report import per_resolution
from .train import load_checkpoint

Log = Callable[[str], None]
Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]
OUT_OF_SOURCE_FILE = "out_of_source.npz"  # in the run directory, written by `train`


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
    # More test sets measured into the card: (card key, built manifest), e.g.
    # ("plants-v1-test", data/plants-v1/manifest.csv) — a set CI can rebuild from ../shared.
    also_evaluate: tuple[tuple[str, Path], ...] = ()


@dataclass
class ExportResult:
    bundle_dir: Path
    card: dict[str, Any]
    int8_dir: Path | None = None


@dataclass
class _Run:
    """A training run and the data it names, as export needs them."""

    directory: Path
    net: PlantNet
    checkpoint: dict[str, Any]
    config: TrainConfig
    labels: tuple[str, ...]
    spec: Preprocessing
    manifest: Path
    records: list[Record]
    by_split: dict[str, list[Record]]
    name: str
    version: str


@dataclass
class _Decision:
    """What step 3 fitted, and on what."""

    calibration: Calibration
    fitted_on: str
    images: int
    nll: tuple[float, float]  # before / after the temperature, on the images fitted on
    familiarity: FamiliarityRule | None
    out_of_source: Any | None  # OutOfSource predictions when the protocol was used


def _no_progress(items: Iterable[Any], total: int, desc: str) -> Iterable[Any]:
    return items


def export_run(
    run_dir: str | Path,
    out: str | Path,
    options: ExportOptions = ExportOptions(),
    *,
    log: Log = print,
    progress: Progress = _no_progress,
) -> ExportResult:
    torch.set_num_threads(max(1, options.threads))
    run = _load_run(Path(run_dir), options)
    out = Path(out)
    tmp = _prepare_out(out, options.force)
    int8_tmp: Path | None = None
    try:
        parity = _export_graph(run, tmp, options, log)
        common = _card_basics(run, tmp)
        decision = _fit_decision(run, tmp, common, options, log, progress)
        extra = _card_extra(run, parity, decision, options)
        bundle = _write_card(tmp, common, decision, extra)
        extra["metrics"], test_scored, per_gsd = _measure(bundle, run, decision, options, progress)
        if extra["tiles"] and per_gsd:  # a multi-resolution tile model: numbers per resolution
            extra["tiles"]["resolutions"] = per_gsd
        if options.int8:
            int8_tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-int8-", dir=out.parent))
            extra["variants"] = {
                "int8": _int8_variant(
                    tmp,
                    int8_tmp,
                    f"{out.name}-int8",
                    run,
                    options,
                    test_scored,
                    common,
                    decision,
                    extra,
                    log,
                    progress,
                )
            }
        card = _write_card(tmp, common, decision, extra).card
        if test_scored is not None and options.evaluate_split:
            _write_evaluation(tmp / "evaluation", test_scored, extra["metrics"], run, options)
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


# -- 1. the run --------------------------------------------------------------------------


def _load_run(run_dir: Path, options: ExportOptions) -> _Run:
    net, checkpoint = load_checkpoint(run_dir / "checkpoints" / options.checkpoint)
    config = config_from_dict(checkpoint["config"])
    labels = tuple(checkpoint["labels"])
    manifest = Path(options.manifest or config.data.manifest)
    records = [r for r in read_records(manifest) if r.label in labels]
    by_split = {s: [r for r in records if r.split == s] for s in ("train", "val", "test")}
    if len(by_split["val"]) < options.parity_images:  # fail before the slow export
        raise ExportRefused(
            f"parity needs {options.parity_images} real validation images but the val split "
            f"has {len(by_split['val'])}; lower --parity-images only for toy datasets"
        )
    return _Run(
        directory=run_dir,
        net=net,
        checkpoint=checkpoint,
        config=config,
        labels=labels,
        spec=get_spec(config.model.backbone).preprocessing,
        manifest=manifest,
        records=records,
        by_split=by_split,
        name=options.name or config.name,
        version=options.version or config.version,
    )


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


# -- 2. the graph ------------------------------------------------------------------------


def _export_graph(run: _Run, tmp: Path, options: ExportOptions, log: Log) -> Parity:
    onnx_path = tmp / ONNX_FILE
    log(f"export: ONNX opset 18, {run.config.model.backbone}, {len(run.labels)} labels")
    export_onnx(run.net, onnx_path, run.spec.input_size)
    parity = check_parity(
        run.net,
        onnx_path,
        run.by_split["val"],
        run.spec,
        images=options.parity_images,
        tolerance=options.tolerance,
        threads=options.threads,
    )
    log(
        f"parity on {parity.images} val images: max |Δlogits| {parity.max_abs_logits:.2e}, "
        f"max |Δembedding| {parity.max_abs_embedding:.2e}, top-1 agreement "
        f"{parity.top1_agreement:.3f}"
    )
    return parity


def _card_basics(run: _Run, tmp: Path) -> dict[str, Any]:
    """The card fields every version of this bundle's card shares."""
    cfg = run.config
    return dict(
        name=run.name,
        version=run.version,
        onnx_sha256=file_sha256(tmp / ONNX_FILE),
        architecture=f"{cfg.model.backbone} + "
        + (f"MLP head ({cfg.model.hidden})" if cfg.model.hidden else "linear head"),
        labels=run.labels,
        preprocessing=run.spec,
        embedding_dim=int(run.net.backbone.num_features),
        unusable_min_probability=cfg.calibration.unusable_min_probability,
        target_recall=cfg.calibration.alert_recall,
        records=run.records,
        notes=cfg.card_limitations,
    )


# -- 3. the decision rule ----------------------------------------------------------------


def _fit_decision(
    run: _Run,
    tmp: Path,
    common: dict[str, Any],
    options: ExportOptions,
    log: Log,
    progress: Progress,
) -> _Decision:
    """Temperature, thresholds and familiarity cut, on val or out-of-source predictions."""
    cfg = run.config
    # Provisional card (T = 1, no thresholds, no gate): the bundle embeds and scores with it.
    write_card(tmp, build_card(thresholds={}, temperature=1.0, extra={}, **common))
    references = _familiarity_references(run, tmp, options, log, progress)
    if cfg.calibration.fit_on == "out_of_source":
        oos = _out_of_source_predictions(run, log)
        logits, targets = oos.logits.astype(np.float64), oos.targets
        sources = [r.source for r in oos.records]
        familiarity = oos.familiarity if references is not None else None
    else:
        oos = None
        scored = score_records(tmp, run.by_split["val"], threads=options.threads, progress=progress)
        logits, targets = scored.logits, scored.targets
        sources = [r.source for r in run.by_split["val"]]
        familiarity = (
            topk_mean_similarity(scored.embeddings, references, cfg.open_set.k)
            if references is not None and scored.embeddings is not None
            else None
        )
    fitted = calibrate(
        logits, targets, sources, run.labels, cfg.calibration, cfg.open_set, familiarity
    )
    log(
        f"fitted on {cfg.calibration.fit_on}: temperature {fitted.temperature:.4f}; thresholds "
        f"{json.dumps(fitted.thresholds)}; familiarity cut {fitted.alert_min_familiarity}"
    )
    known = targets >= 0
    rule = None
    if references is not None:
        data = references_bytes(references)
        (tmp / FAMILIARITY_FILE).write_bytes(data)
        rule = FamiliarityRule(
            label=cfg.open_set.label,
            k=cfg.open_set.k,
            references=len(references),
            sha256=_sha256(data),
            alert_min=fitted.alert_min_familiarity,
        )
    return _Decision(
        calibration=fitted,
        fitted_on=cfg.calibration.fit_on,
        images=int(known.sum()),
        nll=(
            M.nll(logits[known], targets[known], 1.0),
            M.nll(logits[known], targets[known], fitted.temperature),
        ),
        familiarity=rule,
        out_of_source=oos,
    )


def _familiarity_references(
    run: _Run, tmp: Path, options: ExportOptions, log: Log, progress: Progress
) -> np.ndarray | None:
    """Training photos of the gated label, embedded through the bundle (None: no gate)."""
    from .oos import choose_references

    label = run.config.open_set.label
    if not label:
        return None
    positives = [r for r in run.by_split["train"] if r.label == label]
    chosen = [
        positives[i] for i in choose_references(positives, run.config.open_set.max_references)
    ]
    log(f"familiarity: embedding {len(chosen)} training images of {label} through the bundle")
    scored = score_records(tmp, chosen, threads=options.threads, progress=progress)
    assert scored.embeddings is not None
    return as_stored(scored.embeddings)


def _out_of_source_predictions(run: _Run, log: Log) -> Any:
    """The protocol's predictions saved by ``train`` (recomputed if missing or stale)."""
    from .oos import OutOfSource, protocol_key, run_out_of_source

    records = run.records
    path = run.directory / OUT_OF_SOURCE_FILE
    oos = OutOfSource.load(path, records, protocol_key(run.config, records))
    if oos is None:
        log(f"out-of-source: {path} is missing or stale; running the protocol")
        oos = run_out_of_source(run.config, records, log=log)
        oos.save(path)
    return oos


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# -- 4. the card -------------------------------------------------------------------------


def _card_extra(
    run: _Run, parity: Parity, decision: _Decision, options: ExportOptions
) -> dict[str, Any]:
    cfg = run.config
    info = load_info(run.manifest.parent)
    tile_gsd = sorted({r.gsd_m for r in run.records if r.kind == "drone_tile" and r.gsd_m})
    return {
        "calibration": {
            "fitted_on": decision.fitted_on,
            "images": decision.images,
            "nll_before": decision.nll[0],
            "nll_after": decision.nll[1],
            "thresholds": decision.calibration.notes,
        },
        "data": {
            "manifest": str(run.manifest),
            "manifest_hash": manifest_hash(run.records),
            "dataset_hash": info.get("manifest_hash"),
            "split_seed": info.get("seed"),
            "counts": {s: dict(sorted(_count(rs).items())) for s, rs in run.by_split.items()},
        },
        "sources": source_table(run.records),
        "tiles": _tiles_section(tile_gsd, run.spec.input_size),
        "training": {
            "backbone": cfg.model.backbone,
            "config": run.checkpoint["config"],
            "run": run.directory.name,
            "checkpoint": options.checkpoint,
            "epoch": run.checkpoint["epoch"],
            "val_at_checkpoint": run.checkpoint["metrics"],
            "weights": get_spec(cfg.model.backbone).licence,
        },
        "export": {
            "opset": 18,
            "torch": torch.__version__,
            "onnxruntime": _ort_version(),
            "parity": parity.as_dict(),
        },
        **options.extra,
    }


def _write_card(
    directory: Path,
    common: dict[str, Any],
    decision: _Decision,
    extra: dict[str, Any],
    **overrides: Any,
) -> Bundle:
    """Build, validate and write the card; load the bundle exactly as the service does."""
    card = build_card(
        thresholds=decision.calibration.thresholds,
        temperature=decision.calibration.temperature,
        extra=extra,
        familiarity=decision.familiarity,
        **{**common, **overrides},
    )
    write_card(directory, card)
    return load_bundle(directory)


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


def _count(records: list[Record]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.label] = counts.get(r.label, 0) + 1
    return counts


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


# -- 5. measurements ---------------------------------------------------------------------


def _measure(
    bundle: Bundle,
    run: _Run,
    decision: _Decision,
    options: ExportOptions,
    progress: Progress,
) -> tuple[dict[str, Any], Scored | None, dict[str, Any]]:
    """val / test through the final bundle; out-of-source under the final card; for a
    multi-resolution tile model, val / test numbers per resolution."""
    val = score_records(bundle, run.by_split["val"], threads=options.threads, progress=progress)
    metrics: dict[str, Any] = {"val": compute_metrics(val, bundle)}
    test_scored = None
    if options.evaluate_split:
        records = run.by_split.get(options.evaluate_split) or [
            r for r in run.records if r.split == options.evaluate_split
        ]
        test_scored = score_records(bundle, records, threads=options.threads, progress=progress)
        metrics[options.evaluate_split] = compute_metrics(test_scored, bundle)
    per_gsd = {}
    if len({r.gsd_m for r in run.records if r.kind == "drone_tile" and r.gsd_m}) > 1:
        scored_splits = (("val", val), (options.evaluate_split, test_scored))
        per_gsd = {
            split: per_resolution(scored)
            for split, scored in scored_splits
            if split and scored is not None
        }
    for key, manifest in options.also_evaluate:
        metrics[key] = _other_test_set(bundle, run, manifest, options, progress)
    if decision.out_of_source is not None:
        from .protocol import out_of_source_metrics

        metrics["out_of_source"] = out_of_source_metrics(
            decision.out_of_source, bundle, run.config
        )[1]
    return metrics, test_scored, per_gsd


def _other_test_set(
    bundle: Bundle, run: _Run, manifest: Path, options: ExportOptions, progress: Progress
) -> dict[str, Any]:
    """The test split of another built dataset, and how many of its images this bundle
    trained or early-stopped on (a re-split dataset can move test images into training)."""
    from .featurestore import record_key

    records = [r for r in read_records(manifest) if r.split == "test" and r.label in run.labels]
    seen = {record_key(r) for r in run.by_split["train"] + run.by_split["val"]}
    result = compute_metrics(
        score_records(bundle, records, threads=options.threads, progress=progress), bundle
    )
    result["data"] = {
        "manifest": str(manifest),
        "split": "test",
        "dataset_hash": load_info(manifest.parent).get("manifest_hash"),
        "images_in_this_bundles_train_or_val": sum(record_key(r) in seen for r in records),
    }
    return result


# -- 7. the evaluation folder ------------------------------------------------------------


def _write_evaluation(
    directory: Path,
    scored: Scored,
    metrics: dict[str, Any],
    run: _Run,
    options: ExportOptions,
) -> None:
    split = options.evaluate_split or "test"
    result = metrics[split]
    info = load_info(run.manifest.parent)
    directory.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    if options.plots:
        from .plots import write_plots

        names = write_plots(directory, scored, result)
    (directory / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    (directory / "report.md").write_text(
        markdown_report(
            result,
            split=split,
            manifest=str(run.manifest),
            dataset_hash=info.get("manifest_hash"),
            plots=names,
        ),
        "utf-8",
    )
    if "out_of_source" in metrics:
        (directory / "out-of-source.md").write_text(
            markdown_report(
                metrics["out_of_source"],
                split="all (out-of-source)",
                manifest=str(run.manifest),
                dataset_hash=info.get("manifest_hash"),
                plots={},
                title=f"# Out-of-source evaluation: {run.name} {run.version}",
            ),
            "utf-8",
        )
    # Per-image predictions hold local paths: kept beside the bundle for error analysis,
    # excluded from releases by model/releases/.gitignore.
    write_predictions(directory / "predictions.csv", scored)


# -- 6. int8 -----------------------------------------------------------------------------


def _int8_variant(
    fp32_dir: Path,
    int8_dir: Path,
    int8_name: str,
    run: _Run,
    options: ExportOptions,
    test_scored: Scored | None,
    common: dict[str, Any],
    decision: _Decision,
    extra: dict[str, Any],
    log: Log,
    progress: Progress,
) -> dict[str, Any]:
    """Quantize, then measure accuracy and speed change against fp32; write the int8 bundle."""
    from .quantize import compare_speed, quantize_int8

    train = sorted(run.by_split["train"], key=lambda r: r.sha256)
    step = max(1, len(train) // max(1, options.int8_calibration_images))
    calib_records = train[::step][: options.int8_calibration_images]
    calibration = np.stack([eval_tensor(r, run.spec) for r in calib_records]).astype(np.float32)
    int8_onnx = int8_dir / ONNX_FILE
    log(f"int8: static quantization calibrated on {len(calib_records)} training images")
    quantize_int8(fp32_dir / ONNX_FILE, int8_onnx, calibration)
    if decision.familiarity is not None:
        shutil.copyfile(fp32_dir / FAMILIARITY_FILE, int8_dir / FAMILIARITY_FILE)
    variant_of = {"name": common["name"], "sha256": common["onnx_sha256"]}
    int8_common = {
        "onnx_sha256": file_sha256(int8_onnx),
        "architecture": common["architecture"] + " (int8 QDQ)",
    }
    int8_bundle = _write_card(
        int8_dir, common, decision, {**extra, "variant_of": variant_of}, **int8_common
    )
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
        split = options.evaluate_split
        int8_scored = score_records(
            int8_bundle, test_scored.records, threads=options.threads, progress=progress
        )
        int8_metrics = compute_metrics(int8_scored, int8_bundle)
        result["accuracy_change"] = _accuracy_change(
            int8_scored, test_scored, int8_metrics, extra["metrics"][split], split
        )
        variant_extra = {
            **extra,
            "variant_of": variant_of,
            "metrics": {split: int8_metrics},
            "variants": {"int8": result},
        }
        _write_card(int8_dir, common, decision, variant_extra, **int8_common)
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


def _accuracy_change(
    int8: Scored,
    fp32: Scored,
    int8_metrics: dict[str, Any],
    fp32_metrics: dict[str, Any],
    split: str,
) -> dict[str, Any]:
    verdicts = [a == b for a, b in zip(int8.verdicts, fp32.verdicts, strict=True)]
    return {
        "split": split,
        "images": len(fp32.records),
        "top1_agreement_with_fp32": float((int8.probs.argmax(1) == fp32.probs.argmax(1)).mean()),
        "verdict_agreement_with_fp32": float(np.mean(verdicts)),
        "max_abs_probability_change": float(np.abs(int8.probs - fp32.probs).max()),
        "accuracy_fp32": fp32_metrics["accuracy"],
        "accuracy_int8": int8_metrics["accuracy"],
        "targets_int8": {k: v["value"] for k, v in int8_metrics["targets"].items()},
        "targets_fp32": {k: v["value"] for k, v in fp32_metrics["targets"].items()},
    }
