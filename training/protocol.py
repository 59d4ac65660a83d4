"""The out-of-source protocol as an evaluation of a bundle (``evaluate --protocol
out-of-source``) and as the card's ``metrics.out_of_source`` entry (``export``).

Both call ``out_of_source_metrics``: the card's decision rule applied to the protocol's
predictions, the usual metrics on them, what the folds were, and — when the card's
thresholds were fitted on these very predictions — the cross-fitted estimate beside them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from plantscout.datasets import read_records
from plantscout.model import Bundle

from .config import TrainConfig, config_from_dict
from .evaluate import Scored
from .measures import compute_metrics
from .oos import OutOfSource, cross_fitted, run_out_of_source, scored_under

Log = Callable[[str], None]


def training_config(bundle: Bundle, cache: Path | None = None) -> TrainConfig:
    """The recipe recorded in the card (the protocol refits it per fold)."""
    recorded = bundle.card.extra.get("training", {}).get("config")
    if not recorded:
        raise ValueError(f"{bundle.path}: the card records no training config")
    config = config_from_dict(recorded)
    if cache is not None:
        config = replace(config, cache_dir=str(cache))
    return config


def out_of_source_metrics(
    oos: OutOfSource, bundle: Bundle, config: TrainConfig
) -> tuple[Scored, dict[str, Any]]:
    scored = scored_under(bundle.card, oos)
    result = compute_metrics(scored, bundle)
    result["protocol"] = {
        "name": "out-of-source",
        "folds": len(oos.folds),
        "families": sum(len(f.families) for f in oos.folds),
        "max_folds_per_source": config.out_of_source.max_folds_per_source,
        "held_out_per_fold": {
            f.name: int((oos.fold_of == i).sum()) for i, f in enumerate(oos.folds)
        },
        "best_epochs": dict(Counter(oos.epochs)),
        "thresholds_fitted_on": config.calibration.fit_on,
    }
    if config.calibration.fit_on == "out_of_source":
        cross = compute_metrics(cross_fitted(oos, bundle.card, config), bundle)
        result["cross_fitted"] = {
            "note": "each fold scored with a temperature, thresholds and familiarity cut "
            "fitted on the other folds' predictions only",
            "targets": cross["targets"],
            "controlled": cross["controlled"],
            "stand_ins": cross["stand_ins"],
            "negative_species_above_2_percent": cross.get("negative_species", {}).get(
                "above_2_percent"
            ),
        }
    return scored, result


def evaluate_out_of_source(
    bundle: Bundle,
    manifest: Path,
    *,
    cache: Path | None = None,
    log: Log = print,
) -> tuple[Scored, dict[str, Any]]:
    """Rerun the protocol with the card's recipe on ``manifest``; metrics under the card."""
    config = training_config(bundle, cache)
    records = [r for r in read_records(manifest) if r.label in config.data.labels]
    if not records:
        raise ValueError(f"{manifest} has no images of the bundle's labels")
    oos = run_out_of_source(config, records, log=log)
    return out_of_source_metrics(oos, bundle, config)
