"""Coarse-to-fine scanning: thresholds from val frames, seconds and recall on test frames.

    python benchmarks/drone_cascade.py --model DIR [--calibrate [--write-card]]
                                        [--gsd-cm 1,2,4] [--survey N] [--full N] [--threads 2]

1. ``--calibrate``: on *val* composite frames (``benchmarks/drone_survey.py``: the hemp
   flight's val block on the ODM Inspire flight's val frames) at 1, 2 and 3 cm/px, a full
   scan finds the alert-level tiles; for each coarse resolution the bundle serves (≥ 1.5 ×
   the fine one), the threshold is the lowest coarse score over any of those tiles, times
   ``--margin`` (0.5): a cascade at that threshold would have found every one of them.
   ``--write-card`` stores the thresholds and the coarse resolution that scored fewest
   tiles in the bundle's ``card.json`` (``tiles.cascade``).
2. On *test* composite frames (the hemp flight's test block, the ODM Phantom flight: never
   used for training or for thresholds) at each ``--gsd-cm``: ``--survey`` survey-like frames
   (hemp under 5 % of the ground) and ``--full`` full-cannabis frames, each scanned in full
   and as a cascade in the same process, alternately, with ``--threads`` ONNX threads:
   seconds per frame, tiles scored, and the alert regions of both (the same frames and
   regions, or the differences listed). The six native test hemp frames (~5 mm/px, scanned at
   1 cm/px) are compared too.

All frames are composites of real pixels, not survey frames (see drone_survey.py).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drone_survey  # noqa: E402


def _alerts(result) -> list[tuple]:  # noqa: ANN001
    return sorted(
        (r.species, tuple(r.box), round(r.peak, 4)) for r in result.regions if r.level == "alert"
    )


def calibrate(model: Path, fine_cm: list[float], margin: float, frames: int, threads: int) -> dict:
    from plantscout.drone.cascade import _plan_fields, alert_cover, coarse_values, fine_cells
    from plantscout.drone.resolution import MIN_CASCADE_RATIO, card_resolutions
    from plantscout.drone.scan import ScanOptions, scan_frame
    from plantscout.drone.tiling import TilePlan
    from plantscout.model.scorer import Scorer

    scorer = Scorer(model, intra_op_threads=threads)
    res = card_resolutions(scorer.card.extra)
    pool = drone_survey.frame_pool("val")
    cover: dict[float, list[float]] = {}
    kept: list[tuple[float, TilePlan, TilePlan, np.ndarray]] = []  # survey-like frames
    counts = {"frames": 0, "alert_tiles": 0}
    with tempfile.TemporaryDirectory() as folder:
        for fine in (c / 100 for c in fine_cm):
            built = [drone_survey.survey_like(pool, fine, seed=s)[0] for s in range(frames)]
            built.append(drone_survey.full_cannabis(pool, fine, seed=0))
            for i, pixels in enumerate(built):
                path = drone_survey.save_jpeg(pixels, Path(folder) / f"val-{fine}-{i}.jpg")
                full = scan_frame(path, scorer, ScanOptions(gsd_m=fine))
                counts["frames"] += 1
                for coarse in res.served:
                    if coarse < MIN_CASCADE_RATIO * fine * 0.98:
                        continue
                    plan, values = coarse_values(
                        str(path), scorer, frame_gsd_m=fine, coarse_gsd_m=coarse
                    )
                    found = alert_cover(full, plan, values)
                    cover.setdefault(coarse, []).extend(found)
                    if i < frames:
                        kept.append((coarse, TilePlan(**_plan_fields(full.plan)), plan, values))
                    print(
                        f"val {fine * 100:g} cm frame {i}: coarse {coarse * 100:g} cm: "
                        f"{len(found)} alert tiles, lowest coarse score over them "
                        f"{min(found) if found else None}",
                        flush=True,
                    )
                counts["alert_tiles"] += sum(int((h.levels >= 2).sum()) for h in full.heatmaps)
    thresholds = {c: round(margin * min(v), 6) for c, v in sorted(cover.items()) if v}
    cost: dict[float, list[int]] = {}  # tiles a cascade would score on the val survey frames
    for coarse, fine_plan, plan, values in kept:
        if coarse in thresholds:
            wanted = fine_cells(fine_plan, plan, values >= thresholds[coarse])
            cost.setdefault(coarse, []).append(plan.count + len(wanted))
    return {
        "thresholds": {f"{c:g}": v for c, v in thresholds.items()},
        "lowest_cover": {f"{c:g}": (min(v) if v else None) for c, v in cover.items()},
        "margin": margin,
        "tiles_per_survey_frame": {f"{c:g}": statistics.mean(v) for c, v in cost.items()},
        "chosen_on": (
            f"{counts['frames']} val composite frames at {', '.join(f'{c:g}' for c in fine_cm)} "
            "cm/px (hemp flight's val block on the ODM Inspire flight's val frames; "
            f"{counts['alert_tiles']} alert tiles in full scans)"
        ),
    }


def write_card(model: Path, found: dict, default_coarse: float, limit: float) -> None:
    card_path = model / "card.json"
    card = json.loads(card_path.read_text("utf-8"))
    card["tiles"]["max_gsd_m"] = limit
    card["tiles"]["cascade"] = {
        "coarse_gsd_m": default_coarse,
        "thresholds": found["thresholds"],
        "margin": found["margin"],
        "chosen_on": found["chosen_on"],
        "rule": "threshold = margin × the lowest coarse score over any alert-level tile of a "
        "full scan of the calibration frames (benchmarks/drone_cascade.py)",
    }
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", "utf-8")


def measure(model: Path, gsd_cm: list[float], survey: int, full: int, threads: int) -> list[dict]:
    from plantscout.drone.scan import ScanOptions, scan_frame
    from plantscout.model.scorer import Scorer

    scorer = Scorer(model, intra_op_threads=threads)
    scorer.score_tiles([np.zeros((224, 224, 3), np.uint8)])  # warm-up
    pool = drone_survey.frame_pool("test")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        frames: list[tuple[str, float, Path, float]] = []
        for cm in gsd_cm:
            g = cm / 100
            for s in range(survey):
                pixels, _, cover = drone_survey.survey_like(pool, g, seed=100 + s)
                path = Path(folder) / f"survey-{cm:g}-{s}.jpg"
                frames.append(("survey-like", g, drone_survey.save_jpeg(pixels, path), cover))
            for s in range(full):
                pixels = drone_survey.full_cannabis(pool, g, seed=100 + s)
                path = Path(folder) / f"full-{cm:g}-{s}.jpg"
                frames.append(("full cannabis", g, drone_survey.save_jpeg(pixels, path), 1.0))
        for n, (kind, g, path, cover) in enumerate(frames):
            timed = {}
            order = ("full", "cascade") if n % 2 == 0 else ("cascade", "full")
            for mode in order:
                start = time.perf_counter()
                result = scan_frame(path, scorer, ScanOptions(gsd_m=g, mode=mode))
                timed[mode] = (time.perf_counter() - start, result)
            row = {
                "kind": kind,
                "gsd_cm": g * 100,
                "cover": round(cover, 4),
                "full_s": round(timed["full"][0], 2),
                "cascade_s": round(timed["cascade"][0], 2),
                "full_tiles": timed["full"][1].tiles_scored,
                "cascade_tiles": timed["cascade"][1].tiles_scored,
                "cascade": timed["cascade"][1].plan.get("cascade"),
                "note": next((x for x in timed["cascade"][1].notes if "cascade" in x), ""),
                "full_alerts": _alerts(timed["full"][1]),
                "cascade_alerts": _alerts(timed["cascade"][1]),
            }
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if "alerts" not in k}), flush=True)
        for path in pool.hemp:
            full_r = scan_frame(path, scorer, ScanOptions(gsd_m=pool.hemp_gsd_m))
            casc_r = scan_frame(path, scorer, ScanOptions(gsd_m=pool.hemp_gsd_m, mode="cascade"))
            rows.append(
                {
                    "kind": "native test hemp frame",
                    "gsd_cm": pool.hemp_gsd_m * 100,
                    "frame": path.name,
                    "full_s": round(full_r.seconds, 2),
                    "cascade_s": round(casc_r.seconds, 2),
                    "full_tiles": full_r.tiles_scored,
                    "cascade_tiles": casc_r.tiles_scored,
                    "full_alerts": _alerts(full_r),
                    "cascade_alerts": _alerts(casc_r),
                    "note": next((x for x in casc_r.notes if "cascade" in x), ""),
                }
            )
    return rows


def report(rows: list[dict]) -> None:
    print(
        "\n| frames | cm/px | n | full s/frame | cascade s/frame | full ÷ cascade | tiles full → cascade |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    groups: dict[tuple[str, float], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["kind"], row["gsd_cm"]), []).append(row)
    for (kind, cm), items in groups.items():
        full = statistics.median(r["full_s"] for r in items)
        casc = statistics.median(r["cascade_s"] for r in items)
        tiles = (
            f"{statistics.mean(r['full_tiles'] for r in items):.0f} → "
            f"{statistics.mean(r['cascade_tiles'] for r in items):.0f}"
        )
        print(
            f"| {kind} | {cm:g} | {len(items)} | {full:.2f} | {casc:.2f} | ×{full / casc:.2f} | {tiles} |"
        )
    print("\nRecall of alert-level regions, cascade vs full (same frames):")
    frames_full = sum(1 for r in rows if r["full_alerts"])
    frames_casc = sum(1 for r in rows if r["cascade_alerts"] and r["full_alerts"])
    regions_full = sum(len(r["full_alerts"]) for r in rows)
    same = sum(len(set(r["full_alerts"]) & set(r["cascade_alerts"])) for r in rows)
    print(f"frames with an alert region: full {frames_full}, cascade found {frames_casc} of them")
    print(f"alert regions: full {regions_full}, identical in the cascade {same}")
    for r in rows:
        missing = sorted(set(r["full_alerts"]) - set(r["cascade_alerts"]))
        extra = sorted(set(r["cascade_alerts"]) - set(r["full_alerts"]))
        if missing or extra:
            print(
                f"  {r['kind']} {r['gsd_cm']:g} cm {r.get('frame', '')}: missing {missing} extra {extra}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--write-card", action="store_true")
    parser.add_argument("--margin", type=float, default=0.5)
    parser.add_argument("--calibration-frames", type=int, default=3)
    parser.add_argument("--gsd-cm", default="1,2,4")
    parser.add_argument("--survey", type=int, default=3)
    parser.add_argument("--full", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}; "
        f"{platform.processor() or platform.machine()}; load {Path('/proc/loadavg').read_text().split()[:3]}"
    )
    if args.calibrate:
        found = calibrate(args.model, [1, 2, 3], args.margin, args.calibration_frames, args.threads)
        print(json.dumps(found, indent=1))
        if args.write_card and not found["thresholds"]:
            print("no alert tile in the calibration frames: no thresholds to write")
        elif args.write_card:
            served = sorted(float(k) for k in found["thresholds"])
            per_frame = found["tiles_per_survey_frame"]
            default = min(served, key=lambda c: (per_frame.get(f"{c:g}", 1e9), -c))
            write_card(args.model, found, default, max(served + [0.05]))
            print(f"wrote tiles.cascade into {args.model / 'card.json'} (coarse {default:g} m/px)")
    rows = measure(
        args.model, [float(v) for v in args.gsd_cm.split(",")], args.survey, args.full, args.threads
    )
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
