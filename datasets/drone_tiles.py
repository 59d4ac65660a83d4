"""Drone tiles at several ground resolutions, with hold-outs as honest as the flights allow.

A mapping flight at 80–120 m sees the ground at 2–4 cm/px; the hemp flight the data holds was
flown at 3–6 m (≈ 5 mm/px in the plants-v1 copies). Resampling its frames to 1, 2, … 5 cm/px
gives the model those resolutions, but the data limits what can be claimed:

* **Cannabis has one flight.** Holding out flights whole is impossible for it, so the frames
  are split in *capture order* (file-name order) into contiguous blocks — train, then val,
  then test — with ``buffer_frames`` dropped between blocks so that neighbouring, overlapping
  frames never straddle a split. Test frames are other parts of the *same field on the same
  day*: a measure of spatial generalisation inside one flight, not across flights.
* **Background has two flights** (ODM's Inspire 1 ``DJI_*`` and Phantom 3 ``1JI_*`` frames
  of one site): a label with two or more flights holds the smallest flight out whole for
  test; the others are split into blocks like the single flight.
* **Resolutions the frames cannot give.** A hemp frame is ≈ 8 × 4.5 m: at 3–5 cm/px it is
  smaller than one 224 px tile, so the frames of one block are laid side by side in capture
  order into a *composite* (``scene = "composite"``, ``parent`` lists every frame) and
  tiles are cut from that, half a tile apart. The ODM frames are ≈ 13 cm/px: they are tiled
  only where that needs at most ``max_upsample`` × enlargement (4 and 5 cm/px by default),
  so at 1–3 cm/px no drone background exists and photos stand in for it.

Every tile names its resolution (``gsd_m``), its frame(s) and its block (``group``), so
evaluation can be reported per resolution and per hold-out.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from plantscout.model import TAXONOMY, Role, read_image

from .records import Record
from .tiles import _slug, vegetation_fraction

BLOCK_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class MultiResSpec:
    """How tiles are cut at each resolution."""

    gsds_m: tuple[float, ...] = (0.01, 0.02, 0.03, 0.04, 0.05)
    size_px: int = 224
    max_upsample: float = 3.5  # frames needing more enlargement than this are not tiled
    min_vegetation: float = 0.5  # plant-labelled tiles need this much green cover
    max_tiles_per_frame: int = 24  # per frame and resolution, spread evenly over the frame
    block_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)  # train, val, test
    buffer_frames: int = 1  # dropped between consecutive blocks of one flight
    composite_stride: float = 0.5  # of a tile, in composites (they are small)
    jpeg_quality: int = 95

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TileReport:
    """What was cut, what was not and why, per flight and resolution."""

    flights: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[tuple[str, float, str]] = field(default_factory=list)  # (frame, gsd, why)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict[str, Any]:
        return {
            "flights": self.flights,
            "skipped": [{"frame": f, "gsd_m": g, "reason": r} for f, g, r in self.skipped],
            "counts": dict(sorted(self.counts.items())),
        }


def flight_of(record: Record) -> str:
    """A flight: the frame's group plus its file-name prefix (DJI_ vs 1JI_: another camera)."""
    name = Path(record.source_path or record.path).name
    prefix = re.split(r"[_-]", name, maxsplit=1)[0] if re.search(r"[_-]", name) else ""
    return f"{record.group}:{prefix}" if prefix else record.group


def capture_order(record: Record) -> tuple[str, str]:
    return (Path(record.source_path or record.path).name, str(record.path))


def assign_blocks(
    frames: Sequence[Record], spec: MultiResSpec = MultiResSpec()
) -> tuple[dict[str, list[Record]], dict[str, dict[str, Any]]]:
    """Frames -> ``{split: frames}`` by the rules in the module docstring; and a report."""
    by_label: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for frame in frames:
        by_label[frame.label][flight_of(frame)].append(frame)
    out: dict[str, list[Record]] = {s: [] for s in BLOCK_SPLITS}
    report: dict[str, dict[str, Any]] = {}
    for label, flights in sorted(by_label.items()):
        ordered = {k: sorted(v, key=capture_order) for k, v in sorted(flights.items())}
        held_out = None
        if len(ordered) >= 2:
            held_out = min(ordered, key=lambda k: (len(ordered[k]), k))
        for flight, members in ordered.items():
            if flight == held_out:
                out["test"].extend(_tag(members, flight, "test", "held-out flight"))
                report[flight] = {"label": label, "frames": len(members), "test": len(members)}
                report[flight]["design"] = "flight held out whole for test"
                continue
            fractions = spec.block_fractions
            if held_out is not None:  # test comes from the held-out flight
                kept = fractions[0] + fractions[1]
                fractions = (fractions[0] / kept, fractions[1] / kept, 0.0)
            blocks = _blocks(members, fractions, spec.buffer_frames)
            entry: dict[str, Any] = {"label": label, "frames": len(members)}
            for split, chosen in blocks.items():
                out[split].extend(_tag(chosen, flight, split, "capture-order block"))
                entry[split] = len(chosen)
                if chosen:
                    entry[f"{split}_range"] = [
                        Path(chosen[0].source_path or chosen[0].path).name,
                        Path(chosen[-1].source_path or chosen[-1].path).name,
                    ]
            entry["buffer_dropped"] = len(members) - sum(len(b) for b in blocks.values())
            entry["design"] = (
                "contiguous capture-order blocks of one flight (not independent flights)"
            )
            report[flight] = entry
    return out, report


def _tag(frames: Iterable[Record], flight: str, split: str, scene: str) -> list[Record]:
    return [f.with_(split=split, group=f"{flight}#{split}", scene=scene) for f in frames]


def _blocks(
    frames: Sequence[Record], fractions: tuple[float, float, float], buffer: int
) -> dict[str, list[Record]]:
    n = len(frames)
    wanted = [s for s, f in zip(BLOCK_SPLITS, fractions, strict=True) if f > 0]
    usable = max(len(wanted), n - buffer * (len(wanted) - 1))
    sizes = [
        max(1, round(usable * f)) for s, f in zip(BLOCK_SPLITS, fractions, strict=True) if f > 0
    ]
    sizes[0] = max(1, usable - sum(sizes[1:]))
    out: dict[str, list[Record]] = {s: [] for s in BLOCK_SPLITS}
    start = 0
    for split, size in zip(wanted, sizes, strict=True):
        out[split] = list(frames[start : start + size])
        start += size + buffer
    return out


def cut_multires(
    blocks: dict[str, list[Record]],
    out_dir: Path,
    spec: MultiResSpec = MultiResSpec(),
    progress: Callable[[Iterable[Any], int, str], Iterable[Any]] | None = None,
) -> tuple[list[Record], TileReport]:
    """Tiles of every frame at every resolution (composites where frames are too small)."""
    report = TileReport()
    tiles: list[Record] = []
    frames = [f for split in BLOCK_SPLITS for f in blocks[split]]
    wrap = progress or (lambda items, total, desc: items)
    pending: dict[tuple[str, str, float], list[tuple[Record, np.ndarray]]] = defaultdict(list)
    for frame in wrap(frames, len(frames), "drone tiles"):
        if not frame.gsd_m:
            report.skipped.append((str(frame.path), 0.0, "ground resolution unknown"))
            continue
        image = read_image(frame.path).image
        for gsd in spec.gsds_m:
            scale = frame.gsd_m / gsd
            if scale > spec.max_upsample:
                report.skipped.append(
                    (
                        str(frame.path),
                        gsd,
                        f"frame {frame.gsd_m * 100:g} cm/px would be enlarged ×{scale:.1f} "
                        f"(limit ×{spec.max_upsample:g})",
                    )
                )
                continue
            pixels = _resample(image, scale)
            if min(pixels.shape[:2]) < spec.size_px:
                pending[(frame.group, frame.split, gsd)].append((frame, pixels))
                continue
            tiles.extend(_cut(frame, [frame], pixels, gsd, spec, out_dir, scale))
    for (_group, _split, gsd), parts in sorted(pending.items(), key=lambda kv: kv[0]):
        canvas = _composite([p for _, p in parts])
        if min(canvas.shape[:2]) < spec.size_px:
            report.skipped.extend(
                (str(f.path), gsd, "block too small for one tile even as a composite")
                for f, _ in parts
            )
            continue
        members = [f for f, _ in parts]
        tiles.extend(_cut(members[0], members, canvas, gsd, spec, out_dir, None))
    for tile in tiles:
        report.counts[f"{tile.split}|{tile.label}|{tile.gsd_m * 100:g}cm|{tile.scene}"] += 1
    return tiles, report


def _resample(image: Image.Image, scale: float) -> np.ndarray:
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    return np.asarray(image.convert("RGB").resize(size, method))


def _composite(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Frames of one block side by side in capture order, in a near-square grid."""
    h, w = parts[0].shape[:2]
    cols = max(1, min(len(parts), round(math.sqrt(len(parts) * h / w))))
    rows = math.ceil(len(parts) / cols)
    full_rows = len(parts) // cols  # a ragged last row would leave a black gap: drop it
    rows = full_rows if full_rows else rows
    canvas = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, part in enumerate(parts[: rows * cols]):
        r, c = divmod(i, cols)
        ph, pw = min(h, part.shape[0]), min(w, part.shape[1])
        canvas[r * h : r * h + ph, c * w : c * w + pw] = part[:ph, :pw]
    return canvas


def _starts(length: int, size: int, stride: int) -> list[int]:
    if length <= size:
        return [0]
    n = max(1, round((length - size) / stride)) + 1
    return [round(i * (length - size) / (n - 1)) for i in range(n)]


def _cut(
    frame: Record,
    members: Sequence[Record],
    pixels: np.ndarray,
    gsd: float,
    spec: MultiResSpec,
    out_dir: Path,
    scale: float | None,
) -> list[Record]:
    """Tiles side by side (a frame) or half a tile apart (a composite, ``scale`` None)."""
    size = spec.size_px
    composite = scale is None
    stride = max(1, int(size * (spec.composite_stride if composite else 1.0)))
    plant = TAXONOMY[frame.label].role is not Role.NON_PLANT
    boxes = [
        (x, y)
        for y in _starts(pixels.shape[0], size, stride)
        for x in _starts(pixels.shape[1], size, stride)
    ]
    if len(boxes) > spec.max_tiles_per_frame:  # spread evenly, deterministically
        pick = np.linspace(0, len(boxes) - 1, spec.max_tiles_per_frame).round().astype(int)
        boxes = [boxes[i] for i in sorted(set(pick.tolist()))]
    folder = out_dir / frame.split / f"{round(gsd * 1000)}mm"
    folder.mkdir(parents=True, exist_ok=True)
    stem = _slug(frame.path) if not composite else _composite_slug(members)
    made: list[Record] = []
    for x, y in boxes:
        tile = pixels[y : y + size, x : x + size]
        if plant and vegetation_fraction(tile) < spec.min_vegetation:
            continue
        path = folder / f"{stem}_x{x}_y{y}.jpg"
        Image.fromarray(np.ascontiguousarray(tile)).save(path, quality=spec.jpeg_quality)
        crop = (
            ",".join(str(round(v / scale)) for v in (x, y, size, size))
            if scale is not None
            else f"composite:{x},{y},{size},{size}"
        )
        made.append(
            frame.with_(
                path=path.resolve(),
                kind="drone_tile",
                width=size,
                height=size,
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                gsd_m=gsd,
                parent=";".join(str(m.path) for m in members),
                crop=crop,
                scene="composite" if composite else frame.scene,
            )
        )
    return made


def _composite_slug(members: Sequence[Record]) -> str:
    digest = hashlib.sha1(";".join(str(m.path) for m in members).encode()).hexdigest()[:8]
    return f"composite-{len(members)}frames-{digest}"


def sample_photos(
    records: Sequence[Record], labels: Sequence[str], caps: dict[str, int]
) -> list[Record]:
    """Photos of ``labels`` from a built dataset, at most ``caps[split]`` per label and split,
    drawn round-robin over sources (sorted by sha256: deterministic) so no source dominates."""
    chosen: list[Record] = []
    for split, cap in caps.items():
        for label in labels:
            by_source: dict[str, list[Record]] = defaultdict(list)
            for r in records:
                if r.kind == "photo" and r.split == split and r.label == label:
                    by_source[r.source].append(r)
            queues = [sorted(v, key=lambda r: r.sha256) for _, v in sorted(by_source.items())]
            taken = 0
            while taken < cap and any(queues):
                for q in queues:
                    if q and taken < cap:
                        chosen.append(q.pop(0))
                        taken += 1
    return chosen


def build_drone_tiles(
    frames: Sequence[Record],
    out_dir: str | Path,
    *,
    spec: MultiResSpec = MultiResSpec(),
    photos: Sequence[Record] = (),
    labels: Sequence[str] = ("cannabis", "other_plant", "background"),
    photo_caps: dict[str, int] | None = None,
    progress: Callable[[Iterable[Any], int, str], Iterable[Any]] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write ``OUT/manifest.csv`` (tiles + sampled photos) and ``OUT/dataset.json``.

    ``frames`` are drone frames with ``gsd_m`` (source manifest + sources file); ``photos``
    a built dataset whose photos (in its own splits) stand in where no drone data exists.
    """
    import json
    from datetime import UTC, datetime

    from .records import manifest_hash, write_records

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    drone = [f for f in frames if f.kind == "drone_frame" and f.label in labels]
    blocks, flights = assign_blocks(drone, spec)
    tiles, report = cut_multires(blocks, out / "tiles", spec, progress)
    report.flights = flights
    caps = photo_caps if photo_caps is not None else {"train": 600, "val": 120, "test": 120}
    sampled = sample_photos(photos, labels, caps) if photos else []
    records = sorted(
        tiles + sampled, key=lambda r: (r.split, r.label, r.kind, r.gsd_m or 0, str(r.path))
    )
    manifest = write_records(out / "manifest.csv", records)
    info = {
        "schema": "plantscout.dataset/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "manifest": "manifest.csv",
        "manifest_hash": manifest_hash(records),
        "kind": "drone multi-resolution tiles",
        "labels": list(labels),
        "tiles": spec.as_dict(),
        "photo_caps": caps,
        "photos": len(sampled),
        "drone": report.as_dict(),
        "seed": None,
    }
    (out / "dataset.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    return manifest, info
