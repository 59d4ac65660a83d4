"""Seed corpora: one named input per payload kind the hardening issue lists, per target.

Built in code (not committed as binaries) so every seed says what it is and why it is there,
and the corpus is the same on every machine. ``write_corpus(target, folder)`` puts them on
disk for atheris, which starts from them and mutates.

Each seed may name the outcome it must have (``expect``): an error code, or ``"ok"``. The
short CI run checks those as regression tests; the fuzzer itself only checks the contract.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

try:  # registers the HEIF opener/saver with Pillow (a core dependency)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pass


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    expect: str | None = None  # "ok", an error code, or an HTTP status ("422"); None: any


# -- image helpers ------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _photo(size: tuple[int, int] = (96, 80), colour=(40, 200, 40)) -> Image.Image:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 7):  # a little texture, so encoders do real work
        image.putpixel((x, x % size[1]), (200, 30, 30))
    return image


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG that claims a size: header checks must refuse it before any pixel is decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = _png_chunk(b"IHDR", ihdr)
    if idat:
        body += _png_chunk(b"IDAT", idat)
    return b"\x89PNG\r\n\x1a\n" + body + _png_chunk(b"IEND", b"")


def _png_zero_bomb(width: int, height: int) -> bytes:
    """A real decompression bomb: all-zero rows, deflated to a sliver of their size."""
    raw = bytes(width * 3 + 1) * height  # filter byte 0 + black pixels, row after row
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def _strip_png(width: int, height: int) -> bytes:
    """The issue's memory bomb: a tiny palette PNG with an extreme aspect ratio."""
    image = Image.new("P", (width, height))
    image.putpalette([20, 160, 30, 90, 60, 20] + [0] * 762)
    return _encode(image, "PNG", optimize=True)


def _jpeg_sof_size(width: int, height: int) -> bytes:
    """A small JPEG whose frame header is rewritten to claim another size."""
    data = bytearray(_encode(_photo((64, 64)), "JPEG", quality=80))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _exif(
    when: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
    make: str | None = None,
) -> bytes:
    exif = Image.Exif()
    if make is not None:
        exif[0x010F] = make
    if orientation is not None:
        exif[0x0112] = orientation
    if when is not None:
        exif[0x0132] = when
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003] = when
        if offset is not None:
            ifd[0x9011] = offset
    if gps is not None:
        lat, lon = gps

        def dms(v: float) -> tuple[float, float, float]:
            v = abs(v)
            return (float(int(v)), float(int(v * 60 % 60)), round(v * 3600 % 60, 3))

        exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E", 4: dms(lon)}
    return exif.tobytes()


def _jpeg_with_app1(app1: bytes, base: bytes | None = None) -> bytes:
    base = base or _encode(_photo(), "JPEG", quality=85)
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    return base[:2] + segment + base[2:]


def _xmp(body: str) -> bytes:
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{body}</rdf:RDF></x:xmpmeta>"
    )
    return b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode("utf-8")


def _xmp_description(attributes: str) -> str:
    return (
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
        f"{attributes}/>"
    )


def _shift_mdat(heic: bytes) -> bytes:
    """A HEIC whose item locations point 8 bytes before its pixel data."""
    at = heic.find(b"mdat") - 4
    return heic[:at] + b"\x81" * 8 + heic[at:]


# -- intake -------------------------------------------------------------------------------


def intake_seeds() -> list[Seed]:
    photo = _photo()
    jpeg = _encode(photo, "JPEG", quality=85)
    png = _encode(photo, "PNG")
    webp = _encode(photo, "WEBP", quality=80)
    heic = _encode(photo, "HEIF", quality=60)
    seeds = [
        Seed("jpeg", jpeg, "ok"),
        Seed("png", png, "ok"),
        Seed("webp", webp, "ok"),
        Seed("heic", heic, "ok"),
        Seed("jpeg-large-reduced-at-decode", _encode(_photo((1600, 1200)), "JPEG"), "ok"),
        Seed("jpeg-exif-rotated", _encode(photo, "JPEG", exif=_exif(orientation=6)), "ok"),
        Seed("jpeg-exif-orientation-99", _encode(photo, "JPEG", exif=_exif(orientation=99)), "ok"),
        Seed("jpeg-grey", _encode(photo.convert("L"), "JPEG"), "ok"),
        Seed("jpeg-cmyk", _encode(photo.convert("CMYK"), "JPEG"), "ok"),
        Seed("png-rgba", _encode(photo.convert("RGBA"), "PNG"), "ok"),
        Seed("png-palette-transparent", _encode(photo.convert("P"), "PNG", transparency=0), "ok"),
        Seed("png-16bit", _encode(photo.convert("I;16"), "PNG"), "ok"),
        Seed("png-LA", _encode(photo.convert("LA"), "PNG"), "ok"),
        Seed(
            "png-animated",
            _encode(photo, "PNG", save_all=True, append_images=[_photo(colour=(1, 2, 3))]),
            "ok",
        ),
        # The memory bomb (200 000 × 32) exceeds the fuzz pixel limit; the strip at
        # the limit is decoded and must still preprocess within bounds.
        Seed("extreme-aspect-png-200000x32", _strip_png(200_000, 32), "image_too_large"),
        Seed("extreme-aspect-png-at-limit", _strip_png(62_500, 32), "ok"),
        Seed("extreme-aspect-png-tall", _strip_png(32, 62_500), "ok"),
        Seed("decompression-bomb-header", _png_header_only(100_000, 100_000), "image_too_large"),
        Seed("decompression-bomb-deflate", _png_zero_bomb(4_000, 4_000), "image_too_large"),
        Seed("jpeg-claims-65500x65500", _jpeg_sof_size(65_500, 65_500), "image_too_large"),
        Seed("png-claims-0x0", _png_header_only(0, 0), None),
        Seed("png-header-no-pixels", _png_header_only(64, 64), "truncated_image"),
        Seed("truncated-jpeg", jpeg[: len(jpeg) // 2], "truncated_image"),
        Seed("truncated-png", png[: len(png) // 2], "truncated_image"),
        Seed("truncated-webp", webp[: len(webp) // 2], None),
        Seed("truncated-heic", heic[: len(heic) // 2], None),
        # Found by the long run: item locations that miss the data (pillow-heif: EOFError).
        Seed("heic-shifted-mdat", _shift_mdat(heic), "truncated_image"),
        Seed("too-small", _encode(_photo((16, 16)), "PNG"), "image_too_small"),
        Seed("gif", _encode(photo, "GIF"), "unsupported_format"),
        Seed("bmp", _encode(photo, "BMP"), "unsupported_format"),
        Seed("tiff", _encode(photo, "TIFF"), "unsupported_format"),
        Seed("text", b"definitely not an image\n", "unsupported_format"),
        Seed("empty", b"", "truncated_image"),
        Seed("nul-bytes", b"\x00" * 64, "unsupported_format"),
        Seed(
            "jpeg-corrupt-exif",
            _jpeg_with_app1(b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"),
            None,
        ),
    ]
    return seeds


# -- geotags ------------------------------------------------------------------------------


def geotags_seeds() -> list[Seed]:
    photo = _photo()

    def jpeg_exif(**kwargs: object) -> bytes:
        return _encode(photo, "JPEG", quality=85, exif=_exif(**kwargs))  # type: ignore[arg-type]

    def jpeg_xmp(attributes: str) -> bytes:
        return _jpeg_with_app1(_xmp(_xmp_description(attributes)))

    dji = 'drone-dji:GpsLatitude="22.5" drone-dji:GpsLongitude="113.9" '
    seeds = [
        Seed("exif-gps-and-time", jpeg_exif(when="2024:05:01 10:00:00", gps=(22.5, 113.9)), "ok"),
        Seed("exif-year-1-plus-offset", jpeg_exif(when="0001:01:01 00:00:00", offset="+14:00")),
        Seed("exif-year-1-minus-offset", jpeg_exif(when="0001:01:01 00:00:00", offset="-12:00")),
        Seed("exif-year-9999-minus-offset", jpeg_exif(when="9999:12:31 23:59:59", offset="-12:00")),
        Seed("exif-year-9999-plus-offset", jpeg_exif(when="9999:12:31 23:59:59", offset="+14:00")),
        Seed("exif-year-1-no-offset", jpeg_exif(when="0001:01:01 00:00:00")),
        Seed("exif-year-9999-no-offset", jpeg_exif(when="9999:12:31 23:59:59")),
        Seed("exif-offset-99:99", jpeg_exif(when="2024:05:01 10:00:00", offset="+99:99")),
        Seed("exif-date-garbage", jpeg_exif(when="2024:13:45 99:99:99")),
        Seed("exif-make-nul", jpeg_exif(make="DJI\x00\x00evil", when="2024:05:01 10:00:00")),
        Seed("exif-gps-out-of-range", jpeg_exif(gps=(95.0, 200.0))),
        Seed("xmp-year-1-offset", jpeg_xmp('xmp:CreateDate="0001-01-01T00:00:00+14:00"')),
        Seed("xmp-year-9999-offset", jpeg_xmp('xmp:CreateDate="9999-12-31T23:59:59-12:00"')),
        Seed(
            "xmp-dji-nan-inf",
            jpeg_xmp(dji + 'drone-dji:RelativeAltitude="NaN" drone-dji:GimbalPitchDegree="-inf"'),
        ),
        Seed(
            "xmp-dji-huge",
            jpeg_xmp(
                dji
                + 'drone-dji:AbsoluteAltitude="1e400" drone-dji:GimbalYawDegree="'
                + "9" * 5000
                + '"'
            ),
        ),
        Seed("xmp-dji-ratio-zero", jpeg_xmp(dji + 'drone-dji:RelativeAltitude="1/0"')),
        Seed(
            "xmp-control-chars",
            jpeg_xmp('tiff:Make="DJI\x01\x02\x1b" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"'),
        ),
        Seed("xmp-malformed", _jpeg_with_app1(_xmp('<rdf:Description drone-dji:GpsLatitude="1"'))),
        # Found by the long run: malformed XMP read by the regex fallback kept NUL characters.
        Seed(
            "xmp-malformed-nul",
            _jpeg_with_app1(
                _xmp('<broken tiff:Make="DJI\x00\x01" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"')
            ),
        ),
        # Found by the long run: the regex fallback for malformed XMP was quadratic.
        Seed("xmp-malformed-long-name", _jpeg_with_app1(_xmp("<broken " + "a" * 20_000))),
        Seed(
            "xmp-duplicate-xmlns",
            _jpeg_with_app1(_xmp('<rdf:Description xmlns:a="u" xmlns:a="u" a:b="1"/>')),
        ),
        Seed(
            "xmp-entity-bomb",
            _jpeg_with_app1(
                b"http://ns.adobe.com/xap/1.0/\x00"
                b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>&b;</x:xmpmeta>"
            ),
        ),
        Seed(
            "xmp-deep-nesting",
            _jpeg_with_app1(
                _xmp(
                    '<rdf:Description xmlns:a="u">'
                    + "<a:n>" * 3000
                    + "x"
                    + "</a:n>" * 3000
                    + "</rdf:Description>"
                )
            ),
        ),
        Seed("xmp-in-png", _encode(photo, "PNG") + _xmp(_xmp_description(dji))[29:]),
        Seed("truncated-jpeg-with-exif", jpeg_exif(gps=(22.5, 113.9))[:400]),
        Seed("jpeg-corrupt-exif", _jpeg_with_app1(b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")),
        # Found by the long run: exifread accepts any byte after "Exif\0" and any byte order.
        Seed(
            "jpeg-exif-odd-header", _jpeg_with_app1(b"Exif\x00`M\xa2\x00*\x00\x00\x00\x08\xd7\x02")
        ),
        # Found by the long run: a GPS link to offset 0 makes exifread read the TIFF header as
        # an IFD (0xFFD9 = 65,497 entries).
        Seed(
            "jpeg-exif-gps-ifd-at-0",
            _jpeg_with_app1(
                b"Exif\x00\x00\xff\xd9\x00*\x00\x00\x00\x08\x00\x01\x88%\x00\x04" + bytes(12)
            ),
        ),
        Seed("heic-with-exif", _encode(photo, "HEIF", exif=_exif(when="2024:05:01 10:00:00"))),
        Seed(
            "webp-with-exif",
            _encode(photo, "WEBP", exif=_exif(when="9999:12:31 23:59:59", offset="+14:00")),
        ),
        Seed("empty", b""),
        Seed("text", b"<x:xmpmeta>not really</x:xmpmeta>"),
    ]
    return seeds


# -- target files -------------------------------------------------------------------------


def _feature(ident: object, props: dict | None = None, geometry: object = None) -> dict:
    return {
        "type": "Feature",
        "id": ident,
        "properties": props or {},
        "geometry": geometry or {"type": "Point", "coordinates": [113.9, 22.5]},
    }


def _collection(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def targets_seeds() -> list[Seed]:
    """Prefixed with ``G``/``C``: the target parses the rest as GeoJSON or as CSV."""
    deep = "[" * 100_000 + "]" * 100_000
    deep_props = '{"a":' * 900 + "1" + "}" * 900
    seeds = [
        Seed("G-ok", _collection(_feature("T-1", {"name": "plot", "due_on": "2025-01-01"})), "ok"),
        Seed(
            "G-polygon",
            _collection(
                _feature(
                    "T-2",
                    geometry={"type": "Polygon", "coordinates": [[[1, 1], [1, 2], [2, 2], [1, 1]]]},
                )
            ),
            "ok",
        ),
        Seed(
            "G-deeply-nested-geometry",
            (
                '{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","properties":{},'
                '"geometry":{"type":"Point","coordinates":' + deep + "}}]}"
            ).encode(),
            "422",
        ),
        Seed(
            "G-deeply-nested-properties",
            (
                '{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[1,2]},'
                '"properties":{"extra":' + deep_props + "}}"
            ).encode(),
            "422",
        ),
        Seed(
            "G-nan-property",
            b'{"type":"Feature","id":"n","geometry":{"type":"Point",'
            b'"coordinates":[1,2]},"properties":{"score":NaN,"x":Infinity}}',
            "422",
        ),
        Seed(
            "G-nan-coordinate",
            b'{"type":"Feature","id":"n","geometry":{"type":"Point",'
            b'"coordinates":[NaN,2]},"properties":{}}',
            "422",
        ),
        Seed(
            "G-huge-int-property",
            (
                '{"type":"Feature","id":"h","geometry":{"type":"Point","coordinates":[1,2]},'
                '"properties":{"big":' + "9" * 5000 + "}}"
            ).encode(),
            "422",
        ),
        Seed(
            "G-bigint-property",
            b'{"type":"Feature","id":"h","geometry":{"type":"Point",'
            b'"coordinates":[1,2]},"properties":{"big":99999999999999999999999}}',
            None,
        ),
        Seed(
            "G-float-overflow",
            b'{"type":"Feature","id":"f","geometry":{"type":"Point",'
            b'"coordinates":[1e400,2]},"properties":{}}',
            "422",
        ),
        Seed("G-nul-in-name", _collection(_feature("T-\u0000", {"name": "a\u0000b"})), "422"),
        Seed("G-control-chars", _collection(_feature("T-3", {"name": "a\x01\x1b\x7fb"})), None),
        Seed("G-id-number-huge", _collection(_feature(10**30)), None),
        Seed("G-id-object", _collection(_feature({"a": 1})), None),
        Seed(
            "G-dates-extreme",
            _collection(
                _feature(
                    "T-4",
                    {
                        "issued_on": "0001-01-01T00:00:00+14:00",
                        "due_on": "9999-12-31T23:59:59-12:00",
                    },
                )
            ),
            None,
        ),
        Seed("G-duplicate-ids", _collection(_feature("D"), _feature("D")), "422"),
        Seed("G-not-json", b"{not json", "422"),
        Seed("G-not-utf8", b'{"type":"Feature","id":"\xff\xfe"}', "422"),
        Seed("G-empty-collection", _collection(), "422"),
        Seed("C-ok", b"id,lat,lon,name,due_on\nT-1,22.5,113.9,plot,2025-01-01\n", "ok"),
        Seed("C-semicolon", b"id;latitude;longitude\r\nT-1;22,5;113,9\r\n", "422"),
        Seed(
            "C-geometry-column",
            b'id,geometry\nT-1,"{""type"":""Point"",""coordinates"":[1,2]}"\n',
            "ok",
        ),
        Seed(
            "C-cell-over-field-limit", b"id,lat,lon,notes\nT-1,1,2," + b"x" * 200_000 + b"\n", "422"
        ),
        Seed(
            "C-quoted-cell-over-limit",
            b'id,lat,lon,notes\nT-1,1,2,"' + b"y" * 200_000 + b'"\n',
            "422",
        ),
        Seed("C-nul", b"id,lat,lon\nT-\x00,1,2\n", "422"),
        Seed("C-nan", b"id,lat,lon\nT-1,nan,inf\n", "422"),
        Seed("C-huge-numbers", b"id,lat,lon\nT-1," + b"9" * 5000 + b",1e999\n", "422"),
        Seed("C-deep-geometry", b'id,geometry\nT-1,"' + b"[" * 50_000 + b'"\n', "422"),
        Seed("C-extra-fields", b"id,lat,lon\nT-1,1,2,3,4\n", "422"),
        Seed("C-no-header", b"", "422"),
        Seed("C-formula-cells", b'id,lat,lon,name\nT-1,1,2,=HYPERLINK("x")\n', None),
        Seed("C-bom-and-crlf", b"\xef\xbb\xbfid,lat,lon\r\nT-1,1,2\r\n", "ok"),
        Seed(
            "C-dates-extreme",
            b"id,lat,lon,issued_on,due_on\nT-1,1,2,0001-01-01T00:00:00+14:00,9999-12-31\n",
            None,
        ),
    ]
    return [Seed(s.name, s.name[:1].encode() + s.data, s.expect) for s in seeds]


# -- multipart forms through the app ------------------------------------------------------

BOUNDARY = "fuzzboundary7MA4YWxkTrZu0gW"
ROUTES = ("/v1/inspections", "/v1/score", "/v1/targets/import")


def history_seeds() -> list[Seed]:
    """The hostile GeoJSON/CSV files of ``targets`` (any outcome), plus history files."""
    seeds = [Seed(s.name, s.data, "422" if s.expect == "422" else None) for s in targets_seeds()]
    ok_csv = "id,lat,lon,year,outcome,species,plants\nH-1,25.1,100.2,2024,铲除,罂粟,300\n"
    point = {"type": "Point", "coordinates": [100.2, 25.1]}
    seeds += [
        Seed("C-history-ok", b"C" + ok_csv.encode(), "ok"),
        Seed("C-history-gbk", b"C" + ok_csv.encode("gbk"), "ok"),
        Seed(
            "G-history-ok",
            b"G" + _collection(_feature("H-2", {"outcome": "confirmed", "year": 2023}, point)),
            "ok",
        ),
        Seed("C-history-no-outcome", b"Cid,lat,lon,year\nH-1,25,100,2024\n", "422"),
        Seed("C-history-year-1", b"Cid,lat,lon,year,outcome\nH-1,25,100,1,confirmed\n", None),
        Seed(
            "C-history-day-9999",
            b"Cid,lat,lon,observed_on,outcome\nH-1,25,100,9999-12-31,confirmed\n",
            None,
        ),
        Seed("C-history-nan", b"Cid,lat,lon,year,outcome\nH-1,nan,inf,2024,confirmed\n", None),
        # Found by the first long history run: a NUL in a column the importer does not know
        # was kept in the row's properties (PostgreSQL JSONB cannot store it).
        Seed(
            "C-history-nul-extra-column",
            b"Cid,lat,lon,year,outcome,note2\nH,25,100,2024,confirmed,a\x00b\n",
            "422",
        ),
        Seed(
            "C-history-huge-plants",
            b"Cid,lat,lon,year,outcome,plants\nH,25,100,2024,confirmed," + b"9" * 5000 + b"\n",
            None,
        ),  # fmt: skip
    ]
    return seeds


def _multipart(parts: list[tuple[str, bytes, str | None, str | None]]) -> bytes:
    """``(name, value, filename, content type)`` parts as one multipart/form-data body."""
    out = io.BytesIO()
    for name, value, filename, ctype in parts:
        out.write(f"--{BOUNDARY}\r\n".encode())
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.write(disposition.encode() + b"\r\n")
        if ctype:
            out.write(f"Content-Type: {ctype}\r\n".encode())
        out.write(b"\r\n" + value + b"\r\n")
    out.write(f"--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def form_seeds() -> list[Seed]:
    """First byte picks the route (``ROUTES[b % 3]``); the rest is the multipart body."""
    png = _encode(_photo((64, 64)), "PNG")

    def photo(data: bytes = png, name: str = "p.png") -> tuple[str, bytes, str, str]:
        return ("photos", data, name, "image/png")

    def field(name: str, value: str | bytes) -> tuple[str, bytes, None, None]:
        return (name, value if isinstance(value, bytes) else value.encode(), None, None)

    def inspection(*parts: tuple) -> bytes:
        return b"\x00" + _multipart([field("site_type", "farmland"), *parts])

    def score(*parts: tuple) -> bytes:
        return b"\x01" + _multipart(list(parts))

    def targets(data: bytes, *parts: tuple, filename: str = "t.geojson") -> bytes:
        return b"\x02" + _multipart(
            [field("issuer", "survey"), ("file", data, filename, "application/json"), *parts]
        )

    exif_year_9999 = _encode(
        _photo((64, 64)), "JPEG", exif=_exif(when="9999:12:31 23:59:59", offset="-12:00")
    )
    exif_year_1 = _encode(
        _photo((64, 64)), "JPEG", exif=_exif(when="0001:01:01 00:00:00", offset="+14:00")
    )
    exif_year_1_naive = _encode(_photo((64, 64)), "JPEG", exif=_exif(when="0001:01:01 00:00:00"))
    ok_targets = _collection(_feature("T-1", {"name": "plot"}))
    seeds = [
        Seed(
            "inspection-ok", inspection(photo(), field("lat", "22.5"), field("lon", "113.9")), "201"
        ),
        Seed("inspection-no-photo", inspection(), "422"),
        Seed(
            "inspection-observed-year-9999",
            inspection(photo(), field("observed_at", "9999-12-31T23:59:59-12:00")),
            None,
        ),
        Seed(
            "inspection-observed-year-1",
            inspection(photo(), field("observed_at", "0001-01-01T00:00:00+14:00")),
            None,
        ),
        Seed("inspection-exif-year-9999", inspection(photo(exif_year_9999, "y.jpg")), None),
        Seed("inspection-exif-year-1", inspection(photo(exif_year_1, "y.jpg")), None),
        Seed("inspection-exif-year-1-naive", inspection(photo(exif_year_1_naive, "y.jpg")), None),
        Seed("inspection-nul-notes", inspection(photo(), field("notes", "a\x00b")), None),
        Seed(
            "inspection-nan-lat", inspection(photo(), field("lat", "NaN"), field("lon", "1")), "422"
        ),
        Seed(
            "inspection-inf-accuracy",
            inspection(photo(), field("lat", "1"), field("lon", "1"), field("accuracy_m", "inf")),
            "422",
        ),
        Seed(
            "inspection-huge-int-lat",
            inspection(photo(), field("lat", "9" * 5000), field("lon", "1")),
            "422",
        ),
        Seed(
            "inspection-repeated-fields",
            inspection(
                photo(), field("notes", "one"), field("notes", "two"), field("site_type", "rooftop")
            ),
            None,
        ),
        Seed("inspection-bad-uuid", inspection(photo(), field("id", "not-a-uuid")), "422"),
        Seed(
            "inspection-control-chars",
            inspection(
                photo(), field("notes", "\x01\x02\x0b\x1b[31m"), field("inspector", "a\x7f")
            ),
            None,
        ),
        Seed("inspection-truncated-photo", inspection(photo(png[:40])), "422"),
        Seed("inspection-bomb-photo", inspection(photo(_png_header_only(100_000, 100_000))), None),
        Seed("inspection-11-photos", inspection(*[photo() for _ in range(11)]), None),
        Seed(
            "inspection-non-utf8-field", inspection(photo(), field("notes", b"\xff\xfe\xfd")), None
        ),
        Seed("inspection-unknown-field", inspection(photo(), field("latitude", "1")), "422"),
        Seed("score-ok", score(photo()), "200"),
        Seed("score-no-photo", score(), "422"),
        Seed("score-text-as-photo", score(photo(b"hello", "x.png")), "422"),
        Seed(
            "score-heic-truncated", score(photo(_encode(_photo(), "HEIF")[:100], "x.heic")), "422"
        ),
        Seed("targets-ok", targets(ok_targets), "200"),
        Seed(
            "targets-nan",
            targets(
                b'{"type":"Feature","id":"n","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"s":NaN}}'
            ),
            "422",
        ),
        Seed("targets-nul", targets(_collection(_feature("T-\u0000"))), "422"),
        Seed("targets-deep", targets(("[" * 100_000).encode()), "422"),
        Seed(
            "targets-csv-field-limit",
            targets(b"id,lat,lon,notes\nT-1,1,2," + b"x" * 200_000 + b"\n", filename="t.csv"),
            "422",
        ),
        Seed("targets-repeated-issuer", targets(ok_targets, field("issuer", "other")), None),
        Seed("targets-format-mismatch", targets(ok_targets, field("format", "csv")), "422"),
        Seed("targets-no-file", b"\x02" + _multipart([field("issuer", "x")]), "422"),
        Seed("not-multipart", b"\x00" + b"plain text body", None),
        Seed("unterminated-multipart", b"\x01" + _multipart([photo()])[:-30], None),
    ]
    return seeds


SEEDS: dict[str, Callable[[], list[Seed]]] = {
    "intake": intake_seeds,
    "geotags": geotags_seeds,
    "targets": targets_seeds,
    "history": history_seeds,
    "forms": form_seeds,
}


def write_corpus(target: str, folder: Path) -> list[Path]:
    """Write the target's seeds into ``folder`` (created), one file per seed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in SEEDS[target]():
        path = folder / f"seed-{seed.name}"
        path.write_bytes(seed.data)
        paths.append(path)
    return paths
