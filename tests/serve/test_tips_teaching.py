"""Teaching material (issue 15): the learn texts, reference photos chosen by licence from the
real plants-v1 manifest, and the printable A4 poster whose QR code is read back.
"""

from __future__ import annotations

import io
import json
import re

import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image

from plantscout.cli import cli
from plantscout.model.taxonomy import TAXONOMY
from plantscout.serve.services.tips.reference import build_teaching

LOOSE = {"public_limit_read": "1000/minute", "public_limit_global": "10000/minute"}


@pytest.fixture(scope="module")
def teaching_dir(plants_v1, tmp_path_factory):
    """Reference photos as an office would install them, from the real manifest."""
    out = tmp_path_factory.mktemp("teaching")
    build_teaching(plants_v1 / "manifest.csv", out, per_label=3)
    return out


def test_reference_photos_are_taken_only_where_the_licence_allows(
    teaching_dir, plants_manifest_rows
) -> None:
    index = json.loads((teaching_dir / "teaching.json").read_text())
    photos = index["photos"]
    by_label = {label: [p for p in photos if p["label"] == label] for label in TAXONOMY}
    # plants-v1 has no opium poppy, and no poppy-family photo under a licence that allows it
    assert by_label["opium_poppy"] == [] and by_label["ornamental_poppy"] == []
    assert len(by_label["cannabis"]) == 3 and len(by_label["cannabis_lookalike"]) == 3
    licences = {r["sha256"]: r["licence"] for r in plants_manifest_rows}
    for entry in photos:
        licence = licences[entry["sha256_original"]]
        assert entry["licence"] == licence
        assert licence.startswith(("MIT", "CC BY")), licence
        assert "none stated" not in licence and "no separate data" not in licence
        with Image.open(teaching_dir / entry["file"]) as image:
            assert max(image.size) <= 800
            assert not image.getexif()  # metadata dropped
    # never the same plant group twice while other groups are left
    lookalike_sources = [p["source_path"] for p in by_label["cannabis_lookalike"]]
    assert len(set(lookalike_sources)) == 3


def test_learn_texts_stages_lookalikes_law_and_photos(make_service, teaching_dir) -> None:
    service = make_service(
        teaching_dir=teaching_dir,
        campaign_hotline="0691-1234567",
        campaign_reward_note="举报属实奖励 500–5000 元",
        **LOOSE,
    )
    learn = service.client.get("/v1/public/learn").json()
    species = {s["key"]: s for s in learn["species"]}
    assert set(species) == {"opium_poppy", "cannabis"}
    poppy, cannabis = species["opium_poppy"], species["cannabis"]
    assert [s["key"] for s in poppy["stages"]] == ["seedling", "growing", "flowering", "capsule"]
    assert [s["key"] for s in cannabis["stages"]] == ["seedling", "growing", "flowering", "seed"]
    for stage in poppy["stages"] + cannabis["stages"]:
        assert stage["name"]["zh"] and stage["look"]["en"]
    # the tiny test model, like the shipped one, has no opium-poppy output
    assert poppy["detectable"] is False and cannabis["detectable"] is True
    assert [look["key"] for look in cannabis["lookalikes"]] == ["cannabis_lookalike"]
    assert [look["key"] for look in poppy["lookalikes"]] == ["ornamental_poppy"]
    assert len(cannabis["photos"]) == 3 and poppy["photos"] == []
    assert len(cannabis["lookalikes"][0]["photos"]) == 3
    ref = cannabis["photos"][0]
    assert "licence: MIT" in ref["attribution"] and "Cannabis" in ref["caption"]["en"]
    got = service.client.get(ref["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert any("第三百五十一条" in p["zh"] for p in learn["law"]["paragraphs"])
    assert any("500–5000" in p["zh"] for p in learn["rewards"]["paragraphs"])
    assert learn["hotline"] == "0691-1234567"
    assert any("罂粟" in p["zh"] for p in learn["check_limits"]["paragraphs"])
    for name in ("nope.jpg", "..%2Fteaching.json", "teaching.json"):
        assert service.client.get(f"/v1/public/teaching/{name}").status_code == 404


def _qr(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_the_poster_is_a4_and_its_qr_code_opens_the_check_page(make_service) -> None:
    service = make_service(**LOOSE)
    png = service.client.get("/v1/public/poster.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.size == (1240, 1754)  # A4 at 150 dpi
        assert round(image.info["dpi"][0]) == 150
    assert _qr(png.content) == ["http://testserver/check"]
    # a caller cannot put another address on the poster
    assert _qr(service.client.get("/v1/public/poster.png?url=https://evil.example").content) == [
        "http://testserver/check"
    ]
    pdf = service.client.get("/v1/public/poster.pdf?lang=en")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.content)
    assert box and (float(box[1]), float(box[2])) == pytest.approx((595.3, 841.9), abs=0.5)  # A4
    assert service.client.get("/v1/public/poster.gif").status_code == 422

    office = make_service(public_url="https://jd.example.cn/check", **LOOSE)
    assert _qr(office.client.get("/v1/public/poster.png?lang=en").content) == [
        "https://jd.example.cn/check"
    ]


def test_the_office_prints_a_poster_and_installs_photos_from_the_command_line(
    tmp_path, plants_v1
) -> None:
    runner = CliRunner()
    out = tmp_path / "poster.png"
    printed = runner.invoke(
        cli, ["tips", "poster", "--out", str(out), "--url", "https://a.example/check"]
    )
    assert printed.exit_code == 0, printed.output
    assert _qr(out.read_bytes()) == ["https://a.example/check"]
    env = {"PLANTSCOUT_DATA_DIR": str(tmp_path / "var")}
    installed = runner.invoke(
        cli,
        [
            "tips",
            "teaching-photos",
            str(plants_v1 / "manifest.csv"),
            "--per-label",
            "1",
            "--label",
            "cannabis",
        ],
        env=env,
    )
    assert installed.exit_code == 0, installed.output
    assert "cannabis: 1 photo(s)" in installed.output
    index = json.loads((tmp_path / "var" / "teaching" / "teaching.json").read_text())
    assert [p["label"] for p in index["photos"]] == ["cannabis"]
