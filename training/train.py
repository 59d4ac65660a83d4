"""``plantscout train CONFIG``: head mode (cached features, CPU) or full fine-tuning.

Both modes share one loop: class-balanced sampling (or loss), cosine learning rate with
warm-up, validation after every epoch, early stopping on the mean validation recall of the
controlled labels and their stand-ins (ties: lower validation loss), and a run directory:

    RUN/config.json        the resolved config (every default filled in)
    RUN/data.json          manifest path, content hash and counts per split and label
    RUN/metrics.csv        one row per epoch (losses, accuracy, recall per label, lr, time)
    RUN/checkpoints/       best.pt (by the early-stopping score) and last.pt
    RUN/summary.json       best epoch and its validation metrics
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from plantscout.datasets import Record, manifest_hash, read_records

from .backbones import get_spec
from .config import TrainConfig
from .data import Split, load_splits, sample_weights
from .features import cached_features
from .network import PlantNet, bridge_module, build_network, split_backbone
from .policy import is_controlled, monitored_labels

CHECKPOINT_FORMAT = 1
Log = Callable[[str], None]


@dataclass
class RunResult:
    run_dir: Path
    best_epoch: int
    best_metrics: dict[str, Any]
    epochs_run: int


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _progress(enabled: bool) -> Callable[[Iterable[Any], int, str], Iterable[Any]]:
    def wrap(items: Iterable[Any], total: int, desc: str) -> Iterable[Any]:
        if not enabled:
            return items
        from tqdm import tqdm

        return tqdm(items, total=total, desc=desc, leave=False, dynamic_ncols=True)

    return wrap


def default_run_dir(config: TrainConfig, root: Path = Path("runs")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return root / f"{config.name}-{config.version}-{stamp}"


def val_metrics(logits: np.ndarray, targets: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """Validation summary at the argmax: loss, accuracy, recall per label, monitored recall."""
    t = torch.from_numpy(targets)
    lg = torch.from_numpy(logits).float()
    loss = float(F.cross_entropy(lg, t)) if len(t) else float("nan")
    pred = logits.argmax(axis=1)
    recall = {}
    for i, label in enumerate(labels):
        mask = targets == i
        recall[label] = float((pred[mask] == i).mean()) if mask.any() else float("nan")
    watched = [recall[label] for label in monitored_labels(labels) if not math.isnan(recall[label])]
    present = [v for v in recall.values() if not math.isnan(v)]
    return {
        "val_loss": loss,
        "val_accuracy": float((pred == targets).mean()) if len(targets) else float("nan"),
        "val_balanced_accuracy": float(np.mean(present)) if present else float("nan"),
        "val_controlled_recall": float(np.mean(watched)) if watched else float("nan"),
        **{f"val_recall_{k}": v for k, v in recall.items()},
    }


def _score(metrics: dict[str, Any]) -> tuple[float, float]:
    recall = metrics["val_controlled_recall"]
    return (-1.0 if math.isnan(recall) else round(recall, 6), -metrics["val_loss"])


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _freeze_batchnorm(module: nn.Module) -> None:
    """Keep pretrained BN statistics: cached views are not i.i.d. batches of the real input."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


class _Trainer:
    """One training loop. ``run_dir=None`` fits in memory (out-of-source folds): no files,
    the best state is kept in ``self.kept["best.pt"]``."""

    def __init__(self, config: TrainConfig, run_dir: Path | None, log: Log, progress: bool) -> None:
        self.config = config
        self.run_dir = run_dir
        self.kept: dict[str, dict[str, torch.Tensor]] = {}
        self.data_info: dict[str, Any] = {}
        self.log = log
        self.progress = _progress(progress)
        self.device = pick_device(config.device)
        if self.device.type == "cpu":
            torch.set_num_threads(max(1, config.threads))
        self.spec = get_spec(config.model.backbone).preprocessing
        self.labels = tuple(config.data.labels)

    # -- set-up --------------------------------------------------------------------------
    def prepare(self) -> dict[str, Split]:
        splits = load_splits(self.config.data)
        all_records = [r for s in splits.values() for r in s.records]
        data = {
            "manifest": str(Path(self.config.data.manifest).resolve()),
            "manifest_hash": manifest_hash(all_records),
            "counts": {
                name: {
                    label: int((split.targets == i).sum()) for i, label in enumerate(self.labels)
                }
                for name, split in splits.items()
            },
        }
        (self.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(self.config.to_json() + "\n", "utf-8")
        (self.run_dir / "data.json").write_text(json.dumps(data, indent=2) + "\n", "utf-8")
        self.data_info = data
        return splits

    def weights(self, split: Split) -> np.ndarray:
        o = self.config.optim
        if o.balance == "none":
            return np.ones(len(split), np.float64)
        return sample_weights(
            split.records, split.targets, o.label_power, o.source_power, o.source_key
        )

    def optimiser(self, head: nn.Module, body: nn.Module | None) -> torch.optim.Optimizer:
        o = self.config.optim
        groups = [{"params": [p for p in head.parameters() if p.requires_grad], "lr": o.lr}]
        if body is not None:
            params = [p for p in body.parameters() if p.requires_grad]
            if params:
                groups.append({"params": params, "lr": o.backbone_lr})
        for g in groups:
            g["base_lr"] = g["lr"]
        return torch.optim.AdamW(groups, weight_decay=o.weight_decay)

    # -- the loop ------------------------------------------------------------------------
    def fit(
        self,
        net: PlantNet,
        train_epoch: Callable[[int, torch.optim.Optimizer, Callable[[], None]], float],
        validate: Callable[[], np.ndarray],
        optimiser: torch.optim.Optimizer,
        val_targets: np.ndarray,
        steps_per_epoch: int,
    ) -> RunResult:
        cfg = self.config
        total = cfg.optim.epochs * steps_per_epoch
        warmup = cfg.optim.warmup_epochs * steps_per_epoch
        step = 0

        def schedule() -> None:
            nonlocal step
            factor = _lr_factor(step, total, warmup)
            for g in optimiser.param_groups:
                g["lr"] = g["base_lr"] * factor
            step += 1

        best: tuple[float, float] | None = None
        best_epoch, best_metrics, stale = 0, {}, 0
        epoch = 0
        for epoch in range(1, cfg.optim.epochs + 1):
            started = time.perf_counter()
            train_loss = train_epoch(epoch, optimiser, schedule)
            logits = validate()
            metrics = {
                "epoch": epoch,
                "train_loss": train_loss,
                **val_metrics(logits, val_targets, self.labels),
                "lr": optimiser.param_groups[0]["lr"],
                "seconds": round(time.perf_counter() - started, 2),
            }
            self.record_epoch(metrics)
            score = _score(metrics)
            improved = best is None or (
                score[0] > best[0] + cfg.early_stopping.min_delta
                or (score[0] >= best[0] - 1e-12 and score[1] > best[1])
            )
            self.save(net, "last.pt", epoch, metrics)
            if improved:
                best, best_epoch, best_metrics, stale = score, epoch, metrics, 0
                self.save(net, "best.pt", epoch, metrics)
            else:
                stale += 1
            self.log(
                f"epoch {epoch:3d}  train {train_loss:.4f}  val loss {metrics['val_loss']:.4f}  "
                f"acc {metrics['val_accuracy']:.3f}  controlled recall "
                f"{metrics['val_controlled_recall']:.3f}{'  *' if improved else ''}"
            )
            if stale >= cfg.early_stopping.patience:
                self.log(f"early stop: no improvement for {stale} epochs")
                break
        if self.run_dir is not None:
            summary = {
                "best_epoch": best_epoch,
                "epochs_run": epoch,
                "best": best_metrics,
                "data": self.data_info,
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            (self.run_dir / "summary.json").write_text(
                json.dumps(summary, indent=2) + "\n", "utf-8"
            )
        return RunResult(self.run_dir or Path(), best_epoch, best_metrics, epoch)

    def record_epoch(self, metrics: dict[str, Any]) -> None:
        if self.run_dir is None:
            return
        with open(self.run_dir / "metrics.csv", "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(metrics), lineterminator="\n")
            if metrics["epoch"] == 1:
                writer.writeheader()
            writer.writerow(metrics)

    def save(self, net: PlantNet, name: str, epoch: int, metrics: dict[str, Any]) -> None:
        if self.run_dir is None:
            self.kept[name] = {k: v.detach().clone() for k, v in net.state_dict().items()}
            return
        torch.save(
            {
                "format": CHECKPOINT_FORMAT,
                "config": self.config.as_dict(),
                "labels": list(self.labels),
                "epoch": epoch,
                "metrics": metrics,
                "data": self.data_info,
                "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            },
            self.run_dir / "checkpoints" / name,
        )

    def draw(self, weights: np.ndarray, generator: torch.Generator) -> np.ndarray:
        n = len(weights)
        if self.config.optim.balance == "sampler":
            w = torch.from_numpy(weights)
            return torch.multinomial(w, n, replacement=True, generator=generator).numpy()
        return torch.randperm(n, generator=generator).numpy()


def _loss(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None, smoothing: float
) -> torch.Tensor:
    per = F.cross_entropy(logits, targets, reduction="none", label_smoothing=smoothing)
    if weights is not None:
        return (per * weights).sum() / weights.sum()
    return per.mean()


def head_network(
    config: TrainConfig, device: torch.device
) -> tuple[PlantNet, nn.Module, nn.Module]:
    """A fresh network with pretrained weights, split into frozen trunk and trainable top."""
    net = build_network(
        config.model.backbone,
        len(config.data.labels),
        hidden=config.model.hidden,
        dropout=config.model.dropout,
    ).to(device)
    trunk, top = split_backbone(net.backbone, config.model.train_blocks)
    for p in net.backbone.parameters():
        p.requires_grad_(False)
    for p in top.parameters():
        p.requires_grad_(True)
    return net, trunk, top


def head_features(
    trainer: _Trainer, net: PlantNet, trunk: nn.Module, records: Sequence[Record], desc: str
) -> np.ndarray:
    """Stored trunk outputs (N, 1 + views, ...) of ``records``, computing what is missing.

    Every image gets the configured augmented views, whatever its split: the out-of-source
    protocol trains on test and validation images of the other sources too.
    """
    cfg = trainer.config
    return np.asarray(
        cached_features(
            Path(cfg.cache_dir),
            trunk,
            records,
            trainer.spec,
            backbone=cfg.model.backbone,
            train_blocks=cfg.model.train_blocks,
            views=cfg.augment.views,
            augment=cfg.augment,
            seed=cfg.seed,
            batch_size=cfg.optim.batch_size,
            device=trainer.device,
            progress=trainer.progress,
            desc=desc,
            log=trainer.log,
            bridge_for=lambda deeper: bridge_module(net.backbone, deeper, cfg.model.train_blocks),
        )
    )


def fit_head(
    trainer: _Trainer,
    net: PlantNet,
    top: nn.Module,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
) -> RunResult:
    """Train top + head on stored features: ``train`` = (features (N, V, ...), targets,
    sample weights), ``val`` = (clean features (M, ...), targets)."""
    cfg = trainer.config
    x_train, targets, weights = train
    x_val, val_targets = val
    y_train = torch.from_numpy(targets)
    generator = torch.Generator().manual_seed(cfg.seed)
    batch = cfg.optim.batch_size
    n_views = x_train.shape[1]
    steps = math.ceil(len(y_train) / batch)
    optimiser = trainer.optimiser(net.head, top)
    loss_weights = torch.from_numpy(weights).float() if cfg.optim.balance == "loss" else None

    def forward(x: np.ndarray) -> torch.Tensor:
        features = top(torch.from_numpy(x.astype(np.float32)).to(trainer.device))
        return net.head(features)

    def train_epoch(epoch: int, opt: torch.optim.Optimizer, schedule: Callable[[], None]) -> float:
        net.head.train()
        top.train()
        _freeze_batchnorm(top)
        order = trainer.draw(weights, generator)
        view = torch.randint(0, n_views, (len(order),), generator=generator).numpy()
        total, count = 0.0, 0
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            x = x_train[idx, view[start : start + batch]]
            y = y_train[idx].to(trainer.device)
            w = None if loss_weights is None else loss_weights[idx].to(trainer.device)
            schedule()
            loss = _loss(forward(x), y, w, cfg.optim.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        return total / max(1, count)

    @torch.no_grad()
    def validate() -> np.ndarray:
        net.eval()
        out = [forward(x_val[i : i + 256]).cpu().numpy() for i in range(0, len(x_val), 256)]
        return np.concatenate(out) if out else np.zeros((0, len(trainer.labels)), np.float32)

    return trainer.fit(net, train_epoch, validate, optimiser, val_targets, steps)


@torch.no_grad()
def head_outputs(
    net: PlantNet, top: nn.Module, features: np.ndarray, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """(logits, L2-normalised embeddings) of clean-view features, as the bundle outputs them."""
    net.eval()
    logits, embeddings = [], []
    for start in range(0, len(features), 256):
        x = torch.from_numpy(np.asarray(features[start : start + 256], np.float32)).to(device)
        pooled = top(x)
        logits.append(net.head(pooled).cpu().numpy())
        embeddings.append(F.normalize(pooled, dim=1).cpu().numpy())
    return np.concatenate(logits), np.concatenate(embeddings)


def train_head_mode(trainer: _Trainer, splits: dict[str, Split]) -> RunResult:
    """Head mode: frozen trunk outputs from the store, last blocks + head trained on them."""
    net, trunk, _ = head_network(trainer.config, trainer.device)
    records = [r for name in ("train", "val", "test") for r in splits[name].records]
    features = head_features(trainer, net, trunk, records, "all")
    n_train, n_val = len(splits["train"]), len(splits["val"])
    _, _, result = fit_mined(
        trainer,
        (features[:n_train], splits["train"].targets, trainer.weights(splits["train"])),
        (features[n_train : n_train + n_val, 0], splits["val"].targets),
    )
    return result


def fit_mined(
    trainer: _Trainer,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
) -> tuple[PlantNet, nn.Module, RunResult]:
    """``fit_head`` on a fresh network, then — with hard-negative mining on — once more from
    scratch with the hardest training negatives weighted up. Returns the best network."""
    cfg = trainer.config
    share = cfg.optim.hard_negative_share
    first = trainer if share <= 0 else _Trainer(cfg, None, lambda _: None, False)
    seed_everything(cfg.seed)
    net, _, top = head_network(cfg, trainer.device)
    result = fit_head(first, net, top, train, val)
    if share <= 0:
        return _best(first, net), top, result
    _best(first, net)
    weights = mined_weights(cfg, net, top, train, trainer.device)
    seed_everything(cfg.seed)
    net, _, top = head_network(cfg, trainer.device)
    result = fit_head(trainer, net, top, (train[0], train[1], weights), val)
    return _best(trainer, net), top, result


def _best(trainer: _Trainer, net: PlantNet) -> PlantNet:
    """The best epoch's state (in-memory fits keep it; run-directory fits saved it)."""
    if "best.pt" in trainer.kept:
        net.load_state_dict(trainer.kept["best.pt"])
    elif trainer.run_dir is not None:
        state = torch.load(trainer.run_dir / "checkpoints" / "best.pt", weights_only=True)
        net.load_state_dict(state["state_dict"])
    return net


def mined_weights(
    cfg: TrainConfig,
    net: PlantNet,
    top: nn.Module,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    device: torch.device,
) -> np.ndarray:
    """Sample weights with the hardest negatives (highest controlled-label probability on
    their clean view) multiplied by ``hard_negative_factor``; still averaging 1."""
    features, targets, weights = train
    labels = list(cfg.data.labels)
    controlled = [labels.index(k) for k in labels if is_controlled(k)]
    logits, _ = head_outputs(net, top, features[:, 0], device)
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    score = probs[:, controlled].max(axis=1)
    negatives = np.flatnonzero(~np.isin(targets, controlled))
    n_hard = int(round(cfg.optim.hard_negative_share * len(negatives)))
    hardest = negatives[np.argsort(-score[negatives], kind="stable")[:n_hard]]
    mined = weights.astype(np.float64).copy()
    mined[hardest] *= cfg.optim.hard_negative_factor
    return mined * len(mined) / mined.sum()


def train_finetune_mode(trainer: _Trainer, splits: dict[str, Split]) -> RunResult:
    from .augment import Augmenter
    from .data import eval_tensor, load_pixels, tile_pixels

    cfg = trainer.config
    device = trainer.device
    spec = trainer.spec
    net = build_network(
        cfg.model.backbone, len(trainer.labels), hidden=cfg.model.hidden, dropout=cfg.model.dropout
    ).to(device)
    train_split, val_split = splits["train"], splits["val"]

    class TrainSet(torch.utils.data.Dataset):
        def __init__(self) -> None:
            self.augmenter: Augmenter | None = None

        def __len__(self) -> int:
            return len(train_split)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            if self.augmenter is None:  # one per worker process, seeded by torch
                self.augmenter = Augmenter(
                    spec.input_size, cfg.augment, torch.initial_seed() % 2**31
                )
            record = train_split.records[i]
            pixels = load_pixels(record, spec)
            if record.is_tile:
                pixels = tile_pixels(pixels, spec)
            from plantscout.model.preprocess import normalize

            x = normalize(self.augmenter(pixels, record.is_tile), spec)
            return torch.from_numpy(x), int(train_split.targets[i])

    class ValSet(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(val_split)

        def __getitem__(self, i: int) -> torch.Tensor:
            return torch.from_numpy(eval_tensor(val_split.records[i], spec))

    weights = trainer.weights(train_split)
    generator = torch.Generator().manual_seed(cfg.seed)
    batch = cfg.optim.batch_size
    steps = math.ceil(len(train_split) / batch)
    optimiser = trainer.optimiser(net.head, net.backbone)
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_weights = torch.from_numpy(weights).float() if cfg.optim.balance == "loss" else None
    train_set = TrainSet()

    def train_epoch(epoch: int, opt: torch.optim.Optimizer, schedule: Callable[[], None]) -> float:
        net.train()
        order = trainer.draw(weights, generator).tolist()
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(train_set, order),
            batch_size=batch,
            num_workers=cfg.optim.workers,
            shuffle=False,
        )
        total, count = 0.0, 0
        position = 0
        for x, y in trainer.progress(loader, len(loader), f"epoch {epoch}"):
            idx = order[position : position + len(y)]
            position += len(y)
            x, y = x.to(device, non_blocking=True), y.to(device)
            w = None if loss_weights is None else loss_weights[idx].to(device)
            schedule()
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                logits, _ = net(x)
            loss = _loss(logits.float(), y, w, cfg.optim.label_smoothing)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            total += loss.item() * len(y)
            count += len(y)
        return total / max(1, count)

    @torch.no_grad()
    def validate() -> np.ndarray:
        net.eval()
        loader = torch.utils.data.DataLoader(
            ValSet(), batch_size=batch, num_workers=cfg.optim.workers
        )
        out = []
        for x in loader:
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                logits, _ = net(x.to(device))
            out.append(logits.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(trainer.labels)), np.float32)

    return trainer.fit(net, train_epoch, validate, optimiser, val_split.targets, steps)


def train(
    config: TrainConfig,
    run_dir: Path | None = None,
    *,
    log: Log = print,
    progress: bool = True,
) -> RunResult:
    """Train per ``config``; returns the run directory and the best epoch's val metrics."""
    seed_everything(config.seed)
    run_dir = Path(run_dir) if run_dir else default_run_dir(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = _Trainer(config, run_dir, log, progress)
    splits = trainer.prepare()
    log(
        f"training {config.name} {config.version}: {config.mode} mode, "
        f"{config.model.backbone}, device {trainer.device}, run {run_dir}"
    )
    if config.mode != "head":
        return train_finetune_mode(trainer, splits)
    result = train_head_mode(trainer, splits)
    if config.calibration.fit_on == "out_of_source":
        run_protocol(config, splits, run_dir, log)
    return result


def run_protocol(config: TrainConfig, splits: dict[str, Split], run_dir: Path, log: Log) -> Path:
    """The out-of-source protocol's predictions, saved for ``export`` to calibrate on."""
    from .export import OUT_OF_SOURCE_FILE
    from .oos import run_out_of_source

    # Manifest order, as export and `evaluate --protocol out-of-source` read the records: the
    # folds' fits depend on the order, and export reuses only predictions made in its order.
    records = [r for r in read_records(config.data.manifest) if r.label in config.data.labels]
    if len(records) != sum(len(splits[name].records) for name in ("train", "val", "test")):
        raise ValueError(f"{config.data.manifest}: records outside train/val/test")
    log("out-of-source protocol: one head per held-out source family")
    oos = run_out_of_source(config, records, log=log)
    return oos.save(run_dir / OUT_OF_SOURCE_FILE)


def fill_features(config: TrainConfig, *, log: Log = print, progress: bool = False) -> int:
    """Head mode's one-time cost alone: store the trunk outputs of every image of the
    manifest (resumable; run it niced in the background). Returns the number of images."""
    if config.mode != "head":
        raise ValueError("only head mode caches trunk outputs")
    seed_everything(config.seed)
    trainer = _Trainer(config, None, log, progress)
    splits = load_splits(config.data)
    records = [r for name in ("train", "val", "test") for r in splits[name].records]
    net, trunk, _ = head_network(config, trainer.device)
    head_features(trainer, net, trunk, records, "all")
    return len(records)


def load_checkpoint(path: Path) -> tuple[PlantNet, dict[str, Any]]:
    """Rebuild the network of a checkpoint (no pretrained weights needed: all are stored)."""
    from .config import config_from_dict

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: unknown checkpoint format {checkpoint.get('format')!r}")
    config = config_from_dict(checkpoint["config"])
    net = build_network(
        config.model.backbone,
        len(checkpoint["labels"]),
        hidden=config.model.hidden,
        dropout=config.model.dropout,
        pretrained=False,
    )
    net.load_state_dict(checkpoint["state_dict"], strict=True)
    net.eval()
    return net, checkpoint
