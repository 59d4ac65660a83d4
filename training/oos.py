"""The out-of-source protocol: every image scored by a model that never saw its source family.

The in-source test split overestimates transfer — its groups share sources, cameras and
porches with training. Here each fold (``families.make_folds``) holds out families of one
source; a head is fitted exactly as the shipped one (same config, same stored trunk outputs,
early stopping on the *other* families' validation images) and scores every held-out image,
whatever its split. Head mode makes this cheap: one trunk-feature store, then one head fit
per fold.

Out of the folds come, per image: logits, and the familiarity to the gated label's training
photos *of that fold*. They serve twice: the card's temperature and thresholds are fitted on
them (``calibration.fit_on = "out_of_source"``), and ``plantscout evaluate --protocol
out-of-source`` turns them into the same metrics as the in-source test, through the card's
own decision rule (``plantscout.model.score``). Since the shipped thresholds are fitted on
these same predictions, a *cross-fitted* estimate is reported beside them: each fold scored
with a temperature and thresholds fitted on the other folds only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from plantscout.datasets import Record, manifest_hash
from plantscout.model import Card
from plantscout.model.familiarity import as_stored, topk_mean_similarity
from plantscout.model.score import score_from_logits

from .calibration import Calibration, calibrate
from .config import TrainConfig
from .evaluate import Scored, level_of, take
from .families import Fold, fold_index, make_folds
from .featurestore import record_key

Log = Callable[[str], None]
PREDICTIONS_FORMAT = 1


@dataclass
class OutOfSource:
    """Out-of-source predictions of every record (record order)."""

    records: list[Record]
    labels: tuple[str, ...]
    folds: list[Fold]
    fold_of: np.ndarray  # (N,) fold index
    logits: np.ndarray  # (N, labels) float32
    familiarity: np.ndarray  # (N,) similarity to the fold's gated-label photos; nan: no gate
    luma: np.ndarray  # (N,) clean-input luma (too_dark rule)
    epochs: list[int]  # best epoch per fold
    key: str  # config + data fingerprint the predictions belong to

    @property
    def targets(self) -> np.ndarray:
        index = {k: i for i, k in enumerate(self.labels)}
        return np.array([index.get(r.label, -1) for r in self.records], np.int64)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": PREDICTIONS_FORMAT,
            "key": self.key,
            "labels": list(self.labels),
            "records": [record_key(r) for r in self.records],
            "folds": [[f.name, f.source, list(f.families)] for f in self.folds],
            "epochs": self.epochs,
        }
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            meta=np.array(json.dumps(meta)),
            fold_of=self.fold_of,
            logits=self.logits,
            familiarity=self.familiarity,
            luma=self.luma,
        )
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path, records: Sequence[Record], key: str) -> OutOfSource | None:
        """The saved predictions if they belong to these records and this key, else None."""
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if (
                meta.get("format") != PREDICTIONS_FORMAT
                or meta["key"] != key
                or meta["records"] != [record_key(r) for r in records]
            ):
                return None
            return cls(
                records=list(records),
                labels=tuple(meta["labels"]),
                folds=[Fold(n, s, tuple(f)) for n, s, f in meta["folds"]],
                fold_of=np.asarray(data["fold_of"]),
                logits=np.asarray(data["logits"]),
                familiarity=np.asarray(data["familiarity"]),
                luma=np.asarray(data["luma"]),
                epochs=list(meta["epochs"]),
                key=meta["key"],
            )


def protocol_key(config: TrainConfig, records: Sequence[Record]) -> str:
    """What the predictions depend on: the training recipe and the data (not the run name)."""
    recipe = config.as_dict()
    for key in ("name", "version", "card_limitations", "calibration"):
        recipe.pop(key, None)
    recipe["data"] = {"labels": list(config.data.labels)}
    text = json.dumps({"recipe": recipe, "data": manifest_hash(records)}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def choose_references(records: Sequence[Record], limit: int) -> list[int]:
    """Indices of at most ``limit`` records, spread evenly over their content hashes (the
    same rule for the folds and the shipped bundle, and independent of record order)."""
    order = sorted(range(len(records)), key=lambda i: record_key(records[i]))
    if len(order) <= limit:
        return sorted(order)
    step = len(order) / limit
    return sorted(order[int(i * step)] for i in range(limit))


def run_out_of_source(
    config: TrainConfig,
    records: Sequence[Record],
    *,
    log: Log = print,
    progress: bool = False,
) -> OutOfSource:
    """One head fit per fold on the stored trunk outputs; predictions for every record."""
    if config.mode != "head":
        raise ValueError("the out-of-source protocol needs a head-mode config")
    records = list(records)
    fitter = _FoldFitter(config, records, log, progress)
    folds = make_folds(records, config.out_of_source.max_folds_per_source)
    fold_of = np.asarray(fold_index(records, folds))
    logits = np.zeros((len(records), len(fitter.labels)), np.float32)
    familiarity = np.full(len(records), np.nan, np.float64)
    epochs = []
    for i, fold in enumerate(folds):
        held = fold_of == i
        logits[held], familiarity[held], epoch = fitter.fit(held)
        epochs.append(epoch)
        log(
            f"out-of-source fold {i + 1}/{len(folds)} {fold.name}: {int(held.sum())} images "
            f"held out, {int(fitter.trained_on(held).sum())} trained on, best epoch {epoch}"
        )
    return OutOfSource(
        records=records,
        labels=fitter.labels,
        folds=folds,
        fold_of=fold_of,
        logits=logits,
        familiarity=familiarity,
        luma=trainer_luma(config, fitter.trainer, records),
        epochs=epochs,
        key=protocol_key(config, records),
    )


class _FoldFitter:
    """Fits the config's head without a fold's families and scores what it held out."""

    def __init__(
        self, config: TrainConfig, records: list[Record], log: Log, progress: bool
    ) -> None:
        from .train import _Trainer, head_features, head_network

        self.config = config
        self.records = records
        self.labels = tuple(config.data.labels)
        index = {k: i for i, k in enumerate(self.labels)}
        self.targets = np.array([index.get(r.label, -1) for r in records], np.int64)
        if (self.targets < 0).any():
            raise ValueError("every record's label must be one of the config's labels")
        self.trainer = _Trainer(config, None, log, progress)
        net, trunk, _ = head_network(config, self.trainer.device)
        self.features = head_features(self.trainer, net, trunk, records, "all")
        self.splits = np.array([r.split for r in records], dtype=object)
        self.gated = index.get(config.open_set.label) if config.open_set.label else None
        self.quiet = _Trainer(config, None, lambda _: None, False)

    def trained_on(self, held: np.ndarray) -> np.ndarray:
        return (self.splits == "train") & ~held

    def fit(self, held: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """(logits, familiarity, best epoch) of the held-out records."""
        from .train import fit_mined, head_outputs

        train = self.trained_on(held)
        val = (self.splits == "val") & ~held
        self.quiet.kept.clear()
        net, top, result = fit_mined(
            self.quiet,
            (self.features[train], self.targets[train], self._weights(train)),
            (self.features[val, 0], self.targets[val]),
        )
        device = self.trainer.device
        logits, embeddings = head_outputs(net, top, self.features[held, 0], device)
        familiarity = np.full(int(held.sum()), np.nan)
        if self.gated is not None:
            positives = np.flatnonzero(train & (self.targets == self.gated))
            limit = self.config.open_set.max_references
            chosen = positives[choose_references([self.records[j] for j in positives], limit)]
            _, refs = head_outputs(net, top, self.features[chosen, 0], device)
            familiarity = topk_mean_similarity(embeddings, as_stored(refs), self.config.open_set.k)
        return logits, familiarity, result.best_epoch

    def _weights(self, train: np.ndarray) -> np.ndarray:
        from .data import sample_weights

        o = self.config.optim
        if o.balance == "none":
            return np.ones(int(train.sum()))
        chosen = [r for r, keep in zip(self.records, train, strict=True) if keep]
        return sample_weights(chosen, self.targets[train], o.label_power, o.source_power)


def trainer_luma(config: TrainConfig, trainer: Any, records: Sequence[Record]) -> np.ndarray:
    from .features import feature_store

    store = feature_store(
        Path(config.cache_dir),
        config.model.backbone,
        config.model.train_blocks,
        config.augment.views,
        config.augment,
        config.seed,
        trainer.spec,
    )
    return store.luma(records)


def calibrate_out_of_source(oos: OutOfSource, config: TrainConfig) -> Calibration:
    """The card's temperature, thresholds and familiarity cut from out-of-source predictions."""
    return calibrate(
        oos.logits.astype(np.float64),
        oos.targets,
        [r.source for r in oos.records],
        oos.labels,
        config.calibration,
        config.open_set,
        oos.familiarity if config.open_set.label else None,
    )


def scored_under(card: Card, oos: OutOfSource, mask: np.ndarray | None = None) -> Scored:
    """The out-of-source predictions through ``card``'s decision rule, exactly as the
    Scorer applies it (photos: unusable / too_small / too_dark; tiles: no unusable rule)."""
    if tuple(card.label_keys) != oos.labels:
        raise ValueError(f"card labels {card.label_keys} differ from the protocol's {oos.labels}")
    keep = np.ones(len(oos.records), bool) if mask is None else mask
    tile_card = replace(card, decision=replace(card.decision, unusable_label=None))
    identity = {"name": card.name, "version": card.version, "sha256": card.onnx_sha256}
    gated = card.familiarity is not None
    scores = []
    rows = np.flatnonzero(keep)
    for i in rows:
        record = oos.records[i]
        quality = None
        if not record.is_tile:
            if min(record.width, record.height) < card.decision.min_side:
                quality = "too_small"
            elif oos.luma[i] < card.decision.min_mean_luma:
                quality = "too_dark"
        scores.append(
            score_from_logits(
                tile_card if record.is_tile else card,
                oos.logits[i].astype(np.float64),
                identity,
                quality_reason=quality,
                familiarity=float(oos.familiarity[i]) if gated else None,
            )
        )
    return scored_from_scores([oos.records[i] for i in rows], card, scores)


def scored_from_scores(records: Sequence[Record], card: Card, scores: Sequence[Any]) -> Scored:
    labels = card.label_keys
    index = {k: i for i, k in enumerate(labels)}
    probs = np.array([[s.probabilities[k] for k in labels] for s in scores], np.float64)
    probs = probs.reshape(len(records), len(labels))
    species = [s.key for s in scores[0].species] if scores else []
    return Scored(
        records=list(records),
        labels=labels,
        targets=np.array([index.get(r.label, -1) for r in records], np.int64),
        probs=probs,
        logits=card.temperature * np.log(np.clip(probs, 1e-300, None)),
        verdicts=[s.verdict.value for s in scores],
        levels={k: [level_of(s.species_score(k)) for s in scores] for k in species},
        temperature=card.temperature,
        familiarity=np.array(
            [
                np.nan
                if (sp := s.species_score(card.familiarity.label)) is None
                else (np.nan if sp.familiarity is None else sp.familiarity)
                for s in scores
            ]
        )
        if card.familiarity is not None
        else None,
    )


def card_with(card: Card, calibration: Calibration) -> Card:
    """``card`` with another temperature, thresholds and familiarity cut (cross-fitting)."""
    from plantscout.model.bundle import Thresholds

    labels = tuple(
        replace(
            label,
            thresholds=Thresholds(**calibration.thresholds[label.key])
            if label.key in calibration.thresholds
            else label.thresholds,
        )
        for label in card.labels
    )
    gate = card.familiarity
    if gate is not None:
        gate = replace(gate, alert_min=calibration.alert_min_familiarity)
    return replace(card, labels=labels, temperature=calibration.temperature, familiarity=gate)


def cross_fitted(oos: OutOfSource, card: Card, config: TrainConfig) -> Scored:
    """Each fold scored under a calibration fitted on the other folds' predictions only."""
    parts: list[tuple[np.ndarray, Scored]] = []
    targets = oos.targets
    sources = [r.source for r in oos.records]
    for i in range(len(oos.folds)):
        held = oos.fold_of == i
        if not held.any():
            continue
        rest = ~held
        fitted = calibrate(
            oos.logits[rest].astype(np.float64),
            targets[rest],
            [s for s, keep in zip(sources, rest, strict=True) if keep],
            oos.labels,
            config.calibration,
            config.open_set,
            oos.familiarity[rest] if card.familiarity is not None else None,
        )
        parts.append((np.flatnonzero(held), scored_under(card_with(card, fitted), oos, held)))
    order = np.concatenate([rows for rows, _ in parts])
    inverse = np.argsort(order)
    merged = _concat([s for _, s in parts])
    return take(merged, inverse)


def _concat(parts: Sequence[Scored]) -> Scored:
    first = parts[0]
    return Scored(
        records=[r for p in parts for r in p.records],
        labels=first.labels,
        targets=np.concatenate([p.targets for p in parts]),
        probs=np.concatenate([p.probs for p in parts]),
        logits=np.concatenate([p.logits for p in parts]),
        verdicts=[v for p in parts for v in p.verdicts],
        levels={k: [v for p in parts for v in p.levels[k]] for k in first.levels},
        temperature=float("nan"),
        familiarity=None
        if first.familiarity is None
        else np.concatenate([p.familiarity for p in parts]),
    )
