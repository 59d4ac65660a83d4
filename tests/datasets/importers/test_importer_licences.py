"""Licence spellings from iNaturalist, GBIF and Pl@ntNet reduce to one vocabulary."""

from __future__ import annotations

import pytest

from plantscout.datasets.importers.licences import normalise_licence, parse_licence_filter


@pytest.mark.parametrize(
    ("raw", "family", "spdx"),
    [
        ("cc-by", "cc-by", "CC-BY"),
        ("cc-by-nc", "cc-by-nc", "CC-BY-NC"),
        ("cc0", "cc0", "CC0-1.0"),
        ("http://creativecommons.org/licenses/by/4.0/legalcode", "cc-by", "CC-BY-4.0"),
        ("https://creativecommons.org/licenses/by-nc-sa/3.0/", "cc-by-nc-sa", "CC-BY-NC-SA-3.0"),
        ("http://creativecommons.org/publicdomain/zero/1.0/legalcode", "cc0", "CC0-1.0"),
        ("CC_BY_4_0", "cc-by", "CC-BY-4.0"),
        ("CC_BY_NC_4_0", "cc-by-nc", "CC-BY-NC-4.0"),
        ("CC0_1_0", "cc0", "CC0-1.0"),
        ("CC-BY-SA-4.0", "cc-by-sa", "CC-BY-SA-4.0"),
    ],
)
def test_spellings_normalise(raw: str, family: str, spdx: str) -> None:
    licence = normalise_licence(raw)
    assert licence is not None
    assert (licence.family, licence.spdx) == (family, spdx)


@pytest.mark.parametrize("raw", [None, "", "all rights reserved", "copyright", "gpl-3.0"])
def test_missing_or_non_cc_is_not_a_licence(raw: str | None) -> None:
    assert normalise_licence(raw) is None


def test_filter_aliases_and_lists() -> None:
    assert parse_licence_filter("open") == {"cc0", "cc-by", "cc-by-sa"}
    assert "cc-by-nc-nd" in parse_licence_filter("cc")
    assert parse_licence_filter("cc0, CC-BY-NC") == {"cc0", "cc-by-nc"}
    with pytest.raises(ValueError, match="unknown licence"):
        parse_licence_filter("cc0,public")
