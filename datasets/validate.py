"""Check that every image decodes the way the service will decode it, and fingerprint it.

Decoding goes through :func:`plantscout.model.read_image` — the service's own intake — so an
image that trains is an image the service could score (same formats, EXIF orientation, size
limits). The same decode yields the perceptual hashes used for near-duplicate detection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from plantscout.model import ImageError, IntakeLimits, read_image

from .records import Record

DEFAULT_MIN_SIDE = 96  # below the service's `too_small` rule (Decision.min_side) nothing trains


@dataclass(frozen=True)
class Checked:
    """A record after validation: either fingerprints or the reason it was rejected."""

    record: Record
    phash: int | None = None
    dhash: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _hash_to_int(value: object) -> int:
    bits = value.hash.flatten()  # type: ignore[attr-defined]
    out = 0
    for bit in bits:
        out = (out << 1) | int(bit)
    return out


def check_record(record: Record, *, min_side: int = DEFAULT_MIN_SIDE) -> Checked:
    """Decode, compare with the manifest's sha256/size, and compute pHash + dHash."""
    import imagehash

    try:
        decoded = read_image(record.path, limits=IntakeLimits(min_side=min_side))
    except ImageError as exc:
        return Checked(record, error=f"{exc.code}: {exc.message}")
    except OSError as exc:
        return Checked(record, error=f"unreadable: {exc}")
    if record.sha256 and record.sha256 != decoded.sha256:
        return Checked(record, error="sha256_mismatch: file differs from the manifest's sha256")
    updated = record.with_(sha256=decoded.sha256, width=decoded.width, height=decoded.height)
    image = decoded.image
    return Checked(
        updated,
        phash=_hash_to_int(imagehash.phash(image)),
        dhash=_hash_to_int(imagehash.dhash(image)),
    )


def check_records(
    records: Iterable[Record],
    *,
    min_side: int = DEFAULT_MIN_SIDE,
    workers: int = 2,
    progress: Callable[[Iterable[Checked], int], Iterable[Checked]] | None = None,
) -> list[Checked]:
    """Validate many records (threads: Pillow releases the GIL while decoding)."""
    items = list(records)

    def run() -> Iterator[Checked]:
        if workers <= 1:
            for record in items:
                yield check_record(record, min_side=min_side)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(lambda r: check_record(r, min_side=min_side), items)

    results: Iterable[Checked] = run()
    if progress is not None:
        results = progress(results, len(items))
    return list(results)
