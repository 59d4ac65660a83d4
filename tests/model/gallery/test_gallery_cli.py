"""``plantscout gallery`` commands with the colour-rule bundle."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from plantscout.model.gallery.gallery import Gallery
from plantscout.model.gallery_cli import app
from plantscout.model.testing import build_tiny_bundle

PURPLES = {
    "case-1": [(150, 50, 200), (160, 40, 210), (145, 55, 195)],
    "case-2": [(140, 60, 190), (165, 50, 215), (158, 52, 208)],
}


def test_add_list_score_remove(tmp_path, tiny_bundle, photo_dir, monkeypatch) -> None:
    monkeypatch.delenv("PLANTSCOUT_REGISTRY", raising=False)
    runner = CliRunner()
    gallery = tmp_path / "g.npz"
    common = ["--gallery", str(gallery), "--model", str(tiny_bundle)]
    folders = [photo_dir(case, colours)[0].parent for case, colours in PURPLES.items()]
    result = runner.invoke(
        app, ["add", "opium_poppy", *map(str, folders), *common, "--licence", "internal"]
    )
    assert result.exit_code == 0, result.output
    assert "added 6 reference(s)" in result.output and "2 groups" in result.output
    assert "review only" in result.output  # honest about what it can do without negatives
    listing = json.loads(runner.invoke(app, ["list", "--gallery", str(gallery), "--json"]).output)
    assert listing["labels"] == {"opium_poppy": 6}
    assert listing["bundle"]["sha256"] == Gallery.load(gallery).bundle["sha256"]
    assert {
        r["group"]
        for r in json.loads(
            runner.invoke(app, ["list", "--gallery", str(gallery), "--json", "--references"]).output
        )["reference_list"]
    } == {"case-1", "case-2"}  # folder names became groups
    query = photo_dir("new", [(153, 49, 201)])[0]
    scored = json.loads(runner.invoke(app, ["score", str(query), *common]).output)
    assert scored["verdict"] == "review" and scored["gallery"]["label"] == "opium_poppy"
    result = runner.invoke(app, ["remove", "--gallery", str(gallery), "--label", "opium_poppy"])
    assert "removed 6" in result.output
    bad = runner.invoke(app, ["add", "poppy", str(folders[0]), *common])
    assert bad.exit_code != 0 and "unknown label" in bad.output


def test_another_bundle_is_refused_and_rebuild_fixes_it(tmp_path, tiny_bundle, photo_dir):
    runner = CliRunner()
    gallery = tmp_path / "g.npz"
    for case, colours in PURPLES.items():
        folder = photo_dir(case, colours)[0].parent
        runner.invoke(
            app,
            ["add", "opium_poppy", str(folder), "--gallery", str(gallery), "-m", str(tiny_bundle)],
        )
    other = build_tiny_bundle(tmp_path / "other", version="0.0.2", input_size=48)
    query = photo_dir("new", [(153, 49, 201)])[0]
    refused = runner.invoke(app, ["score", str(query), "--gallery", str(gallery), "-m", str(other)])
    assert refused.exit_code != 0
    assert "was built with bundle tiny-test 0.0.1" in refused.output
    assert "tiny-test 0.0.2" in refused.output and "gallery rebuild" in refused.output
    rebuilt = tmp_path / "g2.npz"
    result = runner.invoke(
        app, ["rebuild", "--gallery", str(gallery), "-m", str(other), "--out", str(rebuilt)]
    )
    assert result.exit_code == 0, result.output
    assert "rebuilt 6 reference(s)" in result.output
    scored = runner.invoke(app, ["score", str(query), "--gallery", str(rebuilt), "-m", str(other)])
    assert json.loads(scored.output)["gallery"]["label"] == "opium_poppy"


def test_from_manifest_keeps_licence_and_group(tmp_path, tiny_bundle, photo_dir) -> None:
    rows = []
    for case, colours in PURPLES.items():
        for path in photo_dir(case, colours):
            rows.append(
                {
                    "path": str(path),
                    "label": "opium_poppy",
                    "group": case,
                    "licence": "CC-BY-4.0",
                    "source": "inaturalist.org",
                }
            )
    for path in photo_dir("greens", [(30, 180, 40), (40, 200, 50)]):
        rows.append(
            {"path": str(path), "label": "cannabis", "group": "g", "licence": "x", "source": "y"}
        )
    manifest = tmp_path / "manifest.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    gallery = tmp_path / "g.npz"
    result = CliRunner().invoke(
        app,
        [
            "from-manifest",
            str(manifest),
            "--gallery",
            str(gallery),
            "-m",
            str(tiny_bundle),
            "--label",
            "opium_poppy",
            "--negatives",
        ],
    )
    assert result.exit_code == 0, result.output
    loaded = Gallery.load(gallery)
    assert loaded.labels == {"opium_poppy": 6} and len(loaded.negatives) == 2
    assert {r.licence for r in loaded.references} == {"CC-BY-4.0"}
    assert {r.group for r in loaded.references} == {"case-1", "case-2"}
