"""Validation, duplicate merging and group-wise splits on real photos."""

from __future__ import annotations

import io
import shutil
from collections import Counter
from pathlib import Path

from PIL import Image

from plantscout.datasets import Record, assign_splits, check_disjoint, read_records
from plantscout.datasets.dedup import deduplicate
from plantscout.datasets.validate import check_record, check_records


def _copy_resized(src: Path, dst: Path, scale: float, quality: int) -> Path:
    image = Image.open(src).convert("RGB")
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    image.save(dst, quality=quality)
    return dst


def test_validation_rejects_bad_images_with_reasons(tmp_path: Path, real_photo) -> None:
    good = real_photo("other_plant")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:2000])
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (60, 60), (0, 128, 0)).save(tiny)
    text = tmp_path / "not-an-image.jpg"
    text.write_text("hello", "utf-8")
    records = [
        Record(path=p, label="other_plant", group=p.name) for p in (good, truncated, tiny, text)
    ]
    checked = {c.record.path.name: c for c in check_records(records, workers=1)}
    assert checked[good.name].ok and checked[good.name].record.width > 0
    assert checked["truncated.jpg"].error.startswith("truncated_image")
    assert checked["tiny.png"].error.startswith("image_too_small")
    assert checked["not-an-image.jpg"].error.startswith("unsupported_format")
    wrong_sha = check_record(Record(path=good, label="other_plant", sha256="0" * 64))
    assert wrong_sha.error.startswith("sha256_mismatch")


def test_near_and_exact_duplicates_merge_groups(tmp_path: Path, real_photo) -> None:
    original = real_photo("cannabis", 3)
    resized = _copy_resized(original, tmp_path / "resized.jpg", 0.6, 70)
    exact = tmp_path / "exact.jpg"
    shutil.copy(original, exact)
    contradicting = tmp_path / "contradicting.jpg"
    shutil.copy(real_photo("background", 5), contradicting)
    records = [
        Record(path=original, label="cannabis", group="plant-a"),
        Record(path=resized, label="cannabis", group="plant-b"),  # near duplicate
        Record(path=exact, label="cannabis", group="plant-c"),  # byte-identical copy
        Record(path=real_photo("cannabis", 200), label="cannabis", group="plant-d"),
        Record(path=real_photo("background", 5), label="background", group="tex-1"),
        Record(path=contradicting, label="other_plant", group="tex-2"),  # same bytes, new label
    ]
    result = deduplicate(check_records(records, workers=1))
    groups = {r.path.name: r.group for r in result.records}
    assert groups[original.name] == groups["resized.jpg"] == "plant-a"
    assert "exact.jpg" not in groups  # collapsed into the original
    assert groups[real_photo("cannabis", 200).name] == "plant-d"  # a different photo stays apart
    dropped = {r.path.name: reason for r, reason in result.dropped}
    assert "contradicting.jpg" in dropped and "labels" in dropped["contradicting.jpg"]
    assert any(p.cross_label for p in result.pairs)
    assert result.merged_groups["plant-a"] == ["plant-a", "plant-b", "plant-c"]


def test_split_is_groupwise_stratified_and_seeded(plants_v1: Path) -> None:
    records = [r for r in read_records(plants_v1 / "manifest.csv") if r.kind == "photo"]
    first = assign_splits(records, seed=3)
    again = assign_splits(list(reversed(records)), seed=3)
    other = assign_splits(records, seed=4)
    split_of = {r.path: r.split for r in first}
    assert all(split_of[r.path] == r.split for r in again)  # order does not matter
    assert any(split_of[r.path] != r.split for r in other)  # the seed does
    assert check_disjoint(first) == []
    # Every (label, source) stratum with >= 3 groups reaches val and test.
    strata: dict[tuple[str, str], set[str]] = {}
    groups: Counter[tuple[str, str]] = Counter()
    seen: set[str] = set()
    for r in first:
        strata.setdefault((r.label, r.source), set()).add(r.split)
        if r.group not in seen:
            seen.add(r.group)
            groups[(r.label, r.source)] += 1
    for stratum, n in groups.items():
        if n >= 3:
            assert strata[stratum] == {"train", "val", "test"}, stratum
    # The five Thai strain folders are five groups: three train, one val, one test.
    thai = Counter(
        r.split for r in first if r.group.startswith("thai-") and r.path.name.endswith("0.jpg")
    )
    assert set(thai) == {"train", "val", "test"}
    counts = Counter(r.split for r in first)
    assert 0.6 < counts["train"] / len(first) < 0.8


def test_lone_group_goes_to_train(real_photo) -> None:
    records = [
        Record(path=real_photo("cannabis", i), label="cannabis", group="one", source="s")
        for i in range(3)
    ]
    assert {r.split for r in assign_splits(records, seed=0)} == {"train"}


def test_decoding_png_and_webp_works(tmp_path: Path, real_photo) -> None:
    image = Image.open(real_photo("ornamental_poppy")).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP")
    webp = tmp_path / "x.webp"
    webp.write_bytes(buffer.getvalue())
    assert check_record(Record(path=webp, label="ornamental_poppy")).ok
