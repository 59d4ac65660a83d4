"""`plantscout score` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from plantscout.cli import cli


def test_json_lines_name_the_file_verdict_and_bundle(tiny_bundle: Path, real_photo) -> None:
    photos = [real_photo("cannabis", 0), real_photo("background", 0)]
    result = CliRunner().invoke(
        cli, ["score", "--model", str(tiny_bundle), "--json", *map(str, photos)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["file"] for line in lines] == [str(p) for p in photos]
    for line in lines:
        assert line["verdict"] in {"suspected", "review", "clear", "unusable"}
        assert line["model"]["name"] == "tiny-test" and len(line["model"]["sha256"]) == 64


def test_table_output_in_chinese_and_english(tiny_bundle: Path, real_photo) -> None:
    photo = str(real_photo("ornamental_poppy", 0))
    zh = CliRunner().invoke(cli, ["score", "-m", str(tiny_bundle), photo])
    en = CliRunner().invoke(cli, ["score", "-m", str(tiny_bundle), "--lang", "en", photo])
    assert zh.exit_code == 0 and en.exit_code == 0
    assert "结论" in zh.output and "Verdict" in en.output
    assert "tiny-test" in zh.output


def test_unreadable_image_is_reported_and_sets_exit_code(
    tiny_bundle: Path, tmp_path: Path, real_photo
) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    good = real_photo("cannabis", 1)
    result = CliRunner().invoke(
        cli, ["score", "-m", str(tiny_bundle), "--json", str(bad), str(good)]
    )
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert lines[0]["error"]["code"] == "unsupported_format"
    assert "verdict" in lines[1]  # one bad file does not stop the rest


def test_no_default_model_is_a_clear_message(tmp_path: Path, real_photo) -> None:
    code = (
        "import sys\n"
        "from plantscout.model import bundle\n"
        "from pathlib import Path\n"
        f"bundle.RELEASES_DIR = Path({str(tmp_path)!r}); bundle.DEFAULT_POINTER = bundle.RELEASES_DIR / 'DEFAULT'\n"
        "from plantscout.cli import main\n"
        f"sys.argv = ['plantscout', 'score', {str(real_photo('cannabis'))!r}]\n"
        "main()\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "PLANTSCOUT_MODEL"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode != 0
    assert "no default model is installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_table_shows_the_level_of_each_species(tiny_bundle: Path, tmp_path: Path) -> None:
    from PIL import Image

    green = tmp_path / "green-leaf.jpg"
    Image.new("RGB", (320, 240), (20, 200, 30)).save(green)
    result = CliRunner().invoke(cli, ["score", "-m", str(tiny_bundle), "--lang", "en", str(green)])
    assert result.exit_code == 0, result.output
    assert "[alert]" in result.output  # rich must not swallow it as markup
    assert "green-leaf.jpg" in result.output
