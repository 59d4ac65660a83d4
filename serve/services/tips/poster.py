"""The printable A4 poster: what the plants look like, the law, rewards, and a QR code to the
check page — as PNG or PDF, for leaflets and notice boards.

Drawn with Pillow at 150 dpi (1240 × 1754 px = A4); the PDF is the same page with its
resolution set, so it prints at A4 size. The QR code (``segno``, error correction M, quiet
zone of 4 modules) encodes only the office's check-page address: public callers cannot put
another address on an official-looking poster. Chinese text needs a CJK font; without one the
poster is refused (503) rather than printed with empty boxes.
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from plantscout.model.taxonomy import TAXONOMY

from ...errors import ServiceUnavailable
from .teaching import LAW

DPI = 150
WIDTH, HEIGHT = 1240, 1754  # A4 at 150 dpi
MARGIN = 70
BRAND = (11, 61, 46)
INK = (17, 17, 17)
ALERT = (176, 0, 32)
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
)

TEXTS = {
    "zh": {
        "title": "发现罂粟、大麻？请举报！",
        "subtitle": "种植毒品原植物违法，一律铲除；举报属实有奖，身份保密",
        "scan": "手机扫码：拍照识别 · 匿名举报 · 查询进度",
        "marks": "怎么认",
        "law": LAW.paragraphs[1].zh,
        "exempt": LAW.paragraphs[2].zh,
        "anon": "举报后得到编号和密码：不用留姓名，凭编号和密码查进度、领奖励。",
        "hotline": "举报电话：{hotline}",
        "limits": "识别结果由电脑自动给出，可能出错；罂粟请对照要点判断，拿不准就举报。",
    },
    "en": {
        "title": "Seen opium poppy or cannabis? Report it!",
        "subtitle": "Growing drug plants is illegal and they are always eradicated. "
        "Confirmed reports are rewarded; your identity is protected.",
        "scan": "Scan with your phone: photo check · anonymous report · follow it",
        "marks": "how to tell",
        "law": LAW.paragraphs[1].en,
        "exempt": LAW.paragraphs[2].en,
        "anon": "You get a tip code and a secret: no name needed to follow the tip and claim "
        "the reward.",
        "hotline": "Hotline: {hotline}",
        "limits": "The photo check is automatic and can be wrong; for poppies compare the marks "
        "and report when in doubt.",
    },
}


def find_font(preferred: Path | None) -> Path:
    for path in (preferred, *FONT_CANDIDATES):
        if path is not None and path.is_file():
            return path
    raise ServiceUnavailable(
        "no CJK font for the poster: install fonts-wqy-microhei (Debian) or set "
        "PLANTSCOUT_POSTER_FONT to a TrueType/OpenType font with Chinese glyphs"
    )


_TOKEN = re.compile(r"[A-Za-z0-9'’\-.,;:()%/–]+\s*|\s+|.", re.S)


def wrap(draw: ImageDraw.ImageDraw, value: str, font: ImageFont.FreeTypeFont, width: int):
    """Lines of ``value`` no wider than ``width``: Latin words stay whole, CJK breaks anywhere."""
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(value):
        candidate = line + token
        if line and draw.textlength(candidate.rstrip(), font=font) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
    if line.strip():
        lines.append(line.rstrip())
    return lines


class _Pen:
    def __init__(self, image: Image.Image, font_path: Path) -> None:
        self.draw = ImageDraw.Draw(image)
        self.font_path = font_path
        self.y = 0
        self._fonts: dict[int, ImageFont.FreeTypeFont] = {}

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        if size not in self._fonts:
            self._fonts[size] = ImageFont.truetype(str(self.font_path), size)
        return self._fonts[size]

    def para(
        self, value: str, size: int, *, x: int = MARGIN, width: int = WIDTH - 2 * MARGIN,
        fill=INK, gap: float = 1.35, after: int = 14,
    ) -> None:  # fmt: skip
        font = self.font(size)
        for line in wrap(self.draw, value, font, width):
            self.draw.text((x, self.y), line, font=font, fill=fill)
            self.y += int(size * gap)
        self.y += after


def _qr(url: str, size: int) -> Image.Image:
    code = segno.make(url, error="m")
    rows = list(code.matrix_iter(scale=1, border=4))
    n = len(rows)
    image = Image.new("L", (n, n), 255)
    pixels = image.load()
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                pixels[x, y] = 0
    module = max(1, size // n)
    return image.resize((n * module, n * module), Image.NEAREST).convert("RGB")


def render(lang: str, url: str, hotline: str | None, font_path: Path) -> Image.Image:
    texts = TEXTS[lang]
    other = TEXTS["en" if lang == "zh" else "zh"]
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    pen = _Pen(image, font_path)
    pen.draw.rectangle((0, 0, WIDTH, 300), fill=BRAND)
    pen.y = 50
    pen.para(texts["title"], 70 if lang == "zh" else 56, fill="white", after=10)
    pen.para(other["title"], 30, fill="white", after=10)
    pen.para(texts["subtitle"], 30, fill="white")
    pen.y = 340

    column = (WIDTH - 2 * MARGIN - 40) // 2
    top = pen.y
    bottom = top
    for index, key in enumerate(("opium_poppy", "cannabis")):
        label = TAXONOMY[key]
        x = MARGIN + index * (column + 40)
        pen.y = top
        name = getattr(label.name, lang)
        pen.para(f"{name} · {texts['marks']}", 38, x=x, width=column, fill=ALERT, after=8)
        for mark in label.field_marks[:3]:
            pen.para("• " + getattr(mark, lang), 24, x=x, width=column, after=6)
        bottom = max(bottom, pen.y)
    pen.y = bottom + 20

    qr_size = 520
    qr = _qr(url, qr_size)
    qx = (WIDTH - qr.width) // 2
    image.paste(qr, (qx, pen.y))
    pen.y += qr.height + 16
    scan_font = pen.font(34)
    scan_width = pen.draw.textlength(texts["scan"], font=scan_font)
    pen.draw.text(((WIDTH - scan_width) // 2, pen.y), texts["scan"], font=scan_font, fill=INK)
    pen.y += 50
    url_font = pen.font(26)
    url_width = pen.draw.textlength(url, font=url_font)
    pen.draw.text(((WIDTH - url_width) // 2, pen.y), url, font=url_font, fill=INK)
    pen.y += 60

    pen.para(texts["anon"], 26)
    if hotline:
        pen.para(texts["hotline"].format(hotline=hotline), 34, fill=ALERT)
    pen.para(texts["law"], 20, after=8)
    pen.para(texts["exempt"], 20, after=8)
    pen.para(texts["limits"], 20)
    return image


class PosterCache:
    """The last few posters (they change only with the address, language or hotline)."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(
        self, fmt: str, lang: str, url: str, hotline: str | None, font_preferred: Path | None
    ) -> bytes:
        font_path = find_font(font_preferred)
        key = (fmt, lang, url, hotline, str(font_path))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        image = render(lang, url, hotline, font_path)
        buffer = io.BytesIO()
        if fmt == "pdf":
            image.save(buffer, "PDF", resolution=DPI, title="plantscout poster")
        else:
            image.save(buffer, "PNG", dpi=(DPI, DPI), optimize=True)
        data = buffer.getvalue()
        with self._lock:
            self._items[key] = data
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return data


POSTERS = PosterCache()
