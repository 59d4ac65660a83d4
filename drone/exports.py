"""A flight's suspected regions as CSV, GeoJSON (RFC 7946), KML and a summary.

One row / feature / placemark per region. Where a region could be placed on the ground it
carries its footprint polygon (counterclockwise, closed ring, lon/lat order as RFC 7946
requires) and the point to walk to; where the frame's geometry is unreliable it carries the
camera's own position instead, marked ``location: camera`` with the reason, so nobody walks
to a guessed spot believing it measured. The encoding (formula-safe CSV cells, XML-safe KML
text) is ``plantscout.model.exports``, the same the service's exports use.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from plantscout.drone.regions import Region
from plantscout.drone.scan import FrameResult
from plantscout.model import exports as encoder
from plantscout.model.taxonomy import TAXONOMY

CSV_COLUMNS = (
    "frame",
    "frame_sha256",
    "region",
    "species",
    "level",
    "peak",
    "mean",
    "tiles",
    "x0",
    "y0",
    "x1",
    "y1",
    "centre_x",
    "centre_y",
    "location",
    "lat",
    "lon",
    "error_m",
    "geometry_quality",
    "geometry_flags",
    "camera_lat",
    "camera_lon",
    "height_m",
    "gsd_cm",
    "captured_at",
    "model",
    "model_sha256",
)


def region_rows(results: Iterable[FrameResult]) -> list[dict[str, Any]]:
    """Flat records, one per region: the common source of every export format."""
    rows: list[dict[str, Any]] = []
    for result in results:
        geometry = result.geometry or {}
        tags = result.geotags or {}
        gsd = geometry.get("gsd_m")
        for number, region in enumerate(result.regions, start=1):
            location, lat, lon, error = _location(region, result)
            rows.append(
                {
                    "frame": result.file,
                    "frame_sha256": result.sha256,
                    "region": number,
                    "species": region.species,
                    "level": region.level,
                    "peak": round(region.peak, 4),
                    "mean": round(region.mean, 4),
                    "tiles": region.tiles,
                    "x0": region.box[0],
                    "y0": region.box[1],
                    "x1": region.box[2],
                    "y1": region.box[3],
                    "centre_x": round(region.centre[0], 1),
                    "centre_y": round(region.centre[1], 1),
                    "location": location,
                    "lat": lat,
                    "lon": lon,
                    "error_m": error,
                    "geometry_quality": geometry.get("quality", "none"),
                    "geometry_flags": ";".join(geometry.get("flags", [])),
                    "camera_lat": tags.get("lat"),
                    "camera_lon": tags.get("lon"),
                    "height_m": geometry.get("height_m"),
                    "gsd_cm": round(gsd * 100, 2) if gsd else None,
                    "captured_at": tags.get("captured_at"),
                    "model": f"{result.model.get('name', '')} {result.model.get('version', '')}".strip(),
                    "model_sha256": result.model.get("sha256", ""),
                    "_footprint": region.footprint,
                    "_trained": region.trained,
                }
            )
    return rows


def _location(region: Region, result: FrameResult) -> tuple[str, Any, Any, Any]:
    if region.ground:
        return "ground", region.ground["lat"], region.ground["lon"], region.ground["error_m"]
    tags = result.geotags or {}
    if tags.get("lat") is not None and tags.get("lon") is not None:
        return "camera", tags["lat"], tags["lon"], None
    return "none", None, None, None


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    return _write(path, encoder.csv_rows(CSV_COLUMNS, rows))


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    properties = {k: row[k] for k in CSV_COLUMNS}
    label = TAXONOMY.get(row["species"])
    properties["species_name"] = label.name.as_dict() if label else None
    properties["trained"] = row["_trained"]
    return {
        "id": f"{row['frame_sha256'][:16]}-{row['region']}",
        "geometry": _footprint(row) or _point(row),
        "properties": properties,
    }


def _point(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["lat"] is None or row["lon"] is None:
        return None
    return {"type": "Point", "coordinates": [row["lon"], row["lat"]]}


def _footprint(row: dict[str, Any]) -> dict[str, Any] | None:
    if not row["_footprint"] or row["location"] != "ground":
        return None
    return {"type": "Polygon", "coordinates": [[list(p) for p in row["_footprint"]]]}


def write_geojson(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    return _write(path, encoder.geojson_features(_feature(r) for r in rows))


def _placemark(row: dict[str, Any]) -> encoder.Placemark:
    point, footprint = _point(row), _footprint(row)
    geometry = (
        {"type": "GeometryCollection", "geometries": [point, footprint]} if footprint else point
    )
    return encoder.Placemark(
        name=f"{row['species']} {row['level']} {row['peak']:.2f}",
        style=row["level"],
        description=(
            f"frame {row['frame']}, region {row['region']}, pixels "
            f"({row['x0']},{row['y0']})-({row['x1']},{row['y1']}), location {row['location']}"
            + (f" ±{row['error_m']} m" if row["error_m"] is not None else "")
            + f", geometry {row['geometry_quality']}"
        ),
        data={key: "" if row[key] is None else row[key] for key in CSV_COLUMNS},
        geometry=geometry,  # None (no place at all): left off the map, still in CSV/GeoJSON
    )


def write_kml(rows: Sequence[dict[str, Any]], path: Path, title: str = "plantscout scan") -> Path:
    styles = [
        encoder.KmlStyle("alert", "ff2828ff", fill_alpha="40", icon=False),
        encoder.KmlStyle("review", "ff00beff", fill_alpha="40", icon=False),
    ]
    marks = (_placemark(r) for r in rows)
    return _write(path, encoder.kml_document(title, marks, styles=styles, altitude=True))


def _write(path: Path, pieces: Iterable[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8", errors="replace") as handle:
        handle.writelines(pieces)
    return path


def summary(
    results: Sequence[FrameResult],
    *,
    skipped: int = 0,
    seconds: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    verdicts = Counter(r.verdict for r in results)
    regions = Counter((g.species, g.level) for r in results for g in r.regions)
    located = Counter("ground" if g.ground else "camera_only" for r in results for g in r.regions)
    models = {json.dumps(r.model, sort_keys=True) for r in results if r.model}
    data: dict[str, Any] = {
        "frames": len(results),
        "frames_resumed": skipped,
        "verdicts": dict(verdicts),
        "frames_with_suspected_regions": sum(1 for r in results if r.suspected),
        "regions": [
            {"species": s, "level": lv, "count": n} for (s, lv), n in sorted(regions.items())
        ],
        "regions_located": dict(located),
        "tiles_scored": sum(r.tiles_scored for r in results),
        "errors": [{"file": r.file, **(r.error or {})} for r in results if r.error],
        "models": [json.loads(m) for m in sorted(models)],
    }
    if seconds is not None:
        data["seconds"] = round(seconds, 2)
        scanned = len(results) - skipped
        data["frames_per_second"] = round(scanned / seconds, 3) if seconds > 0 else None
    if extra:
        data.update(extra)
    return data


def summary_text(data: dict[str, Any]) -> str:
    lines = [
        f"frames scanned: {data['frames']} (resumed from earlier runs: {data['frames_resumed']})",
        f"frames with suspected regions: {data['frames_with_suspected_regions']}",
        "verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(data["verdicts"].items())),
    ]
    for entry in data["regions"]:
        lines.append(f"  {entry['species']} {entry['level']}: {entry['count']} regions")
    located = data.get("regions_located", {})
    if located:
        lines.append(
            f"regions placed on the ground: {located.get('ground', 0)}; "
            f"camera position only: {located.get('camera_only', 0)}"
        )
    if data["errors"]:
        lines.append(f"frames that could not be read: {len(data['errors'])}")
        for error in data["errors"][:20]:
            lines.append(f"  {error['file']}: {error.get('message', '')}")
    for model in data["models"]:
        lines.append(
            f"model: {model.get('name')} {model.get('version')} ({model.get('sha256', '')[:12]})"
        )
    if "seconds" in data:
        lines.append(f"time: {data['seconds']} s ({data.get('frames_per_second')} frames/s)")
    return "\n".join(lines) + "\n"


def write_all(
    results: Sequence[FrameResult], out: Path, *, skipped: int = 0, seconds: float | None = None
) -> dict[str, Path]:
    """Write every flight-level output into ``out``; returns their paths."""
    rows = region_rows(results)
    data = summary(results, skipped=skipped, seconds=seconds)
    paths = {
        "csv": write_csv(rows, out / "detections.csv"),
        "geojson": write_geojson(rows, out / "detections.geojson"),
        "kml": write_kml(rows, out / "detections.kml"),
    }
    (out / "summary.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
    (out / "summary.txt").write_text(summary_text(data), "utf-8")
    paths["summary"] = out / "summary.json"
    paths["summary_text"] = out / "summary.txt"
    return paths
