"""Multi-resolution bundles and coarse-to-fine scanning (issue 16, items 1–2).

The tiny colour-rule bundle (green -> cannabis) with a card that serves 1–5 cm/px: which
resolution a frame is scanned at, where the refusal starts, and that a cascade finds the
alert regions a full scan finds while scoring far fewer tiles.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from plantscout.drone.resolution import card_resolutions, coarse_gsd, fine_gsd, scan_limit
from plantscout.drone.scan import ScanOptions, scan_frame
from plantscout.drone.synthetic import drone_jpeg
from plantscout.model.scorer import Scorer
from plantscout.model.testing import build_tiny_bundle

MULTI = {
    "tiles": {
        "gsd_m": [0.01, 0.02, 0.03, 0.04, 0.05],
        "max_gsd_m": 0.05,
        "cascade": {"coarse_gsd_m": 0.04, "thresholds": {"0.04": 0.2, "0.05": 0.2}},
    }
}


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    path = build_tiny_bundle(tmp_path_factory.mktemp("multi") / "b", card_overrides=MULTI)
    return Scorer(path, intra_op_threads=1)


def test_resolution_choice_from_the_card() -> None:
    res = card_resolutions(MULTI)
    assert res.served == (0.01, 0.02, 0.03, 0.04, 0.05) and res.max_gsd_m == 0.05
    assert fine_gsd(0.005, res, None) == 0.01  # finer frames are shrunk to 1 cm/px
    assert fine_gsd(0.023, res, None) == 0.03  # never enlarged when a coarser one exists
    assert fine_gsd(0.0399, res, None) == 0.04  # within 2 %: that resolution
    assert fine_gsd(0.02, res, 0.01) == 0.01  # --model-gsd wins
    assert scan_limit(res, None, 2.0) == 0.05
    assert coarse_gsd(0.01, res, None, None) == (0.04, 0.2, "")
    assert coarse_gsd(0.03, res, None, None)[:2] == (0.05, 0.2)  # 0.04 < 1.5 × 0.03
    coarse, _, why = coarse_gsd(0.04, res, None, None)
    assert coarse is None and "too little to save" in why
    # A card with one resolution and no limit reads as before: 1 cm/px, limit ×2.
    old = card_resolutions({"tiles": {"gsd_m": 0.01}})
    assert old.served == (0.01,) and scan_limit(old, None, 2.0) == 0.02
    assert coarse_gsd(0.01, old, None, None)[0] is None


def test_frames_up_to_the_cards_limit_are_scanned_beyond_it_refused(multi: Scorer) -> None:
    frame = drone_jpeg(size=(1200, 800), patches=((300, 200, 700, 600),))
    at_4cm = scan_frame(frame, multi, ScanOptions(gsd_m=0.04))
    assert at_4cm.verdict == "suspected" and at_4cm.plan["model_gsd_m"] == 0.04
    at_5cm = scan_frame(frame, multi, ScanOptions(gsd_m=0.05))
    assert at_5cm.verdict == "suspected" and at_5cm.plan["model_gsd_m"] == 0.05
    beyond = scan_frame(frame, multi, ScanOptions(gsd_m=0.06))
    assert beyond.verdict == "unusable" and beyond.tiles_scored == 0
    assert "6.0 cm/px is coarser than the 5.0 cm/px" in beyond.notes[-1]


def test_cascade_finds_the_full_scans_alert_regions_scoring_fewer_tiles(multi: Scorer) -> None:
    plots = drone_jpeg(size=(2400, 1600), patches=((600, 400, 1000, 800), (1900, 1200, 2300, 1560)))
    full = scan_frame(plots, multi, ScanOptions(gsd_m=0.01))
    cascade = scan_frame(plots, multi, ScanOptions(gsd_m=0.01, mode="cascade"))
    alerts = [(r.species, r.box, r.peak) for r in full.regions if r.level == "alert"]
    assert len(alerts) == 2
    assert [(r.species, r.box, r.peak) for r in cascade.regions if r.level == "alert"] == alerts
    info = cascade.plan["cascade"]
    assert info["coarse_gsd_m"] == 0.04 and info["fine_tiles"] == full.tiles_scored
    assert cascade.tiles_scored == info["coarse_scored"] + info["fine_scored"]
    assert cascade.tiles_scored < full.tiles_scored / 3

    clear = drone_jpeg(size=(2400, 1600), seed=3)
    quiet = scan_frame(clear, multi, ScanOptions(gsd_m=0.01, mode="cascade"))
    assert quiet.verdict == "clear" and quiet.plan["cascade"]["fine_scored"] == 0
    assert quiet.preview is not None  # the overlay still has a picture

    # Fine 4 cm/px: the coarsest resolution is too close to save anything: a full scan.
    near = scan_frame(plots, multi, ScanOptions(gsd_m=0.04, mode="cascade"))
    assert "cascade" not in near.plan and "too little to save" in near.notes[-1]
    assert near.verdict == "suspected"


def test_the_mode_is_part_of_the_options_fingerprint_but_old_results_stay_valid() -> None:
    assert ScanOptions().fingerprint() == ScanOptions(mode="full").fingerprint()
    assert ScanOptions(mode="cascade").fingerprint() != ScanOptions().fingerprint()
    with pytest.raises(ValueError, match="mode"):
        ScanOptions(mode="fast")


def test_scan_cli_cascade(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from plantscout.cli import cli

    bundle = build_tiny_bundle(tmp_path / "b", card_overrides=MULTI)
    flight = tmp_path / "flight"
    flight.mkdir()
    (flight / "a.jpg").write_bytes(drone_jpeg(size=(1600, 1200), patches=((0, 0, 400, 400),)))
    out = tmp_path / "out"
    args = ["scan", str(flight), "--out", str(out), "--model", str(bundle), "--gsd", "1", "-q"]
    result = CliRunner().invoke(cli, [*args, "--mode", "cascade", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "suspected 1" in (out / "summary.txt").read_text()
