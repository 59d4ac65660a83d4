"""What the fuzzers found in the parsers, pinned one by one (each failed before its fix).

The seed tests in ``test_fuzz.py`` check the contracts; these say what the fixed parsers
answer instead, so a later change cannot quietly trade one failure for another.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from fuzz_seeds import SEEDS
from fuzz_targets import read_geotags

from plantscout.serve.errors import Unprocessable
from plantscout.serve.services.planning.files import read_rows
from plantscout.serve.services.target_files import parse_targets


def _seed(target: str, name: str) -> bytes:
    return next(s.data for s in SEEDS[target]() if s.name == name)


@pytest.mark.parametrize(
    "name",
    [
        "exif-year-1-plus-offset",  # was kept, then overflowed when stored in UTC (500)
        "exif-year-9999-minus-offset",
        "exif-year-1-no-offset",  # overflowed once the office's camera zone was applied
        "xmp-year-1-offset",
        "xmp-year-9999-offset",
    ],
)
def test_a_capture_time_at_the_ends_of_the_calendar_is_ignored_with_a_warning(name: str):
    tags = read_geotags(_seed("geotags", name))
    assert tags.captured_at is None
    assert any("clock was not set" in w for w in tags.warnings), tags.warnings


def test_a_plausible_capture_time_is_still_read() -> None:
    tags = read_geotags(_seed("geotags", "exif-gps-and-time"))
    assert tags.captured_at == datetime(2024, 5, 1, 10, 0, 0)
    assert tags.lat == pytest.approx(22.5, abs=1e-3)


def test_an_impossible_utc_offset_is_ignored_not_raised() -> None:
    tags = read_geotags(_seed("geotags", "exif-offset-99:99"))  # raised ValueError before
    assert tags.captured_at == datetime(2024, 5, 1, 10, 0, 0)  # naive: the zone is unknown


def test_deeply_nested_xmp_is_read_without_recursing_to_the_limit() -> None:
    tags = read_geotags(_seed("geotags", "xmp-deep-nesting"))  # RecursionError before
    assert tags.captured_at is None


@pytest.mark.parametrize(
    ("name", "claim"),
    [
        ("jpeg-corrupt-exif", "65,535 entries"),
        ("jpeg-exif-odd-header", "55,042"),
        ("jpeg-exif-gps-ifd-at-0", "65,497"),
    ],
)
def test_an_ifd_that_claims_entries_past_the_end_is_refused_before_exifread(name, claim) -> None:
    # exifread walked every phantom entry (~0.4 s of CPU for a 1 KB file).
    tags = read_geotags(_seed("geotags", name))
    assert any("EXIF is corrupt" in w and claim in w for w in tags.warnings), tags.warnings


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("G-deeply-nested-geometry", "geojson"),  # RecursionError escaped (500)
        ("G-deeply-nested-properties", "geojson"),  # RecursionError once stored / hashed
        ("G-nan-property", "geojson"),  # accepted; PostgreSQL JSONB refuses NaN (500)
        ("G-huge-int-property", "geojson"),  # ValueError (int over 4300 digits) escaped
        ("G-nul-in-name", "geojson"),  # accepted; PostgreSQL text cannot hold U+0000
        ("C-nul", "csv"),
        ("C-cell-over-field-limit", "csv"),  # csv.Error escaped
        ("C-quoted-cell-over-limit", "csv"),
        ("C-deep-geometry", "csv"),  # RecursionError escaped
    ],
)
def test_hostile_target_files_are_a_422_that_says_why(name: str, fmt: str) -> None:
    data = _seed("targets", name)[1:]  # the first byte picks the format for the fuzzer
    with pytest.raises(Unprocessable) as caught:
        parse_targets(data, fmt)
    assert caught.value.status == 422
    assert len(caught.value.message) > 20  # a sentence, whichever check refused the file


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("G-deeply-nested-geometry", "geojson"),  # RecursionError escaped (500)
        ("G-deeply-nested-properties", "geojson"),
        ("G-nan-property", "geojson"),
        ("G-huge-int-property", "geojson"),  # float/int overflow escaped as ValueError
        ("C-deep-geometry", "csv"),  # RecursionError escaped
    ],
)
def test_hostile_planning_files_are_a_422_that_says_why(name: str, fmt: str) -> None:
    # The planning imports (last seasons' finds, survey areas) read files with their own
    # reader; the same hostile documents were a 500 there until it used bounds.load_json.
    data = _seed("targets", name)[1:]
    with pytest.raises(Unprocessable) as caught:
        read_rows(data, f"file.{fmt}", fmt, {})
    assert caught.value.status == 422
    assert len(caught.value.message) > 20


def test_a_heic_whose_items_miss_their_data_is_a_truncated_image() -> None:
    # Found by the long intake run: pillow-heif raised EOFError, which escaped as a 500.
    from plantscout.model.errors import TruncatedImage
    from plantscout.model.intake import read_image

    with pytest.raises(TruncatedImage):
        read_image(_seed("intake", "heic-shifted-mdat"))


@pytest.mark.timeout(120)  # a hang guard: the fixed parse takes well under a second
def test_a_malformed_xmp_packet_at_the_size_limit_is_read_in_linear_time() -> None:
    # Found by the long geotags run: the attribute regex rescanned every long run of name
    # characters from each of its positions: 40 KB took 32 s, a 4 MB packet (the limit) days.
    from plantscout.drone.geotags import parse_xmp

    packet = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><broken ' + b"a" * 4_000_000 + b' d:k="v"'
    warnings: list[str] = []
    assert parse_xmp(packet, warnings) == {}  # "d" is not a declared prefix
    assert any("malformed" in w for w in warnings)


def test_malformed_xmp_read_without_a_parser_yields_no_nul_characters() -> None:
    # Found by the long geotags run: camera_make came back as "DJI\x00\x01" (a 500 on
    # PostgreSQL when the photo's metadata is stored).
    tags = read_geotags(_seed("geotags", "xmp-malformed-nul"))
    assert tags.camera_make == "DJI\x01"
