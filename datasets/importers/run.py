"""The loop every network importer shares: page through results, download, record, resume.

A source is a generator of pages; each page carries the cursor that resumes *after* it. The
cursor is saved only once a page is fully handled, and images already in the manifest are
skipped by id, so stopping anywhere (limit reached, crash, Ctrl-C) and running the same
command again continues where it stopped without fetching an image twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .manifest import Candidate, ImportManifest
from .polite import FetchError, PoliteClient

# Media that is gone or forbidden is skipped; anything else (server down) stops the import.
SKIPPABLE_STATUSES = frozenset({403, 404, 410})


@dataclass
class Page:
    candidates: list[Candidate]
    next_cursor: Any  # what to pass back to the source to get the following page
    last: bool = False


@dataclass
class ImportResult:
    added: int = 0
    already: int = 0  # images of this query present before the run
    skipped: dict[str, int] = field(default_factory=dict)


def run_import(
    manifest: ImportManifest,
    client: PoliteClient,
    pages: Callable[[Any], Iterator[Page]],
    *,
    query_key: str,
    limit: int,
    belongs: Callable[[dict[str, str]], bool],
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Fetch until ``limit`` images of this query are in the manifest (or results run out).

    ``belongs`` says which manifest rows count towards the limit (this source and label).
    """
    state = manifest.load_state()
    have = sum(1 for row in manifest.rows if belongs(row))
    result = ImportResult(already=have)
    if have >= limit:
        return result
    for page in pages(state.get(query_key)):
        for candidate in page.candidates:
            if have >= limit:
                break
            if manifest.has(candidate.source_id):
                continue
            try:
                data = client.get_bytes(candidate.url)
            except FetchError as exc:
                if exc.status not in SKIPPABLE_STATUSES:
                    raise
                manifest.rejected[f"http_{exc.status}"] += 1
                continue
            if manifest.add(candidate, data) is not None:
                have += 1
                result.added += 1
                if progress:
                    progress(have)
        if have >= limit:
            break  # the cursor stays before this page: a larger --limit resumes inside it
        state[query_key] = page.next_cursor
        manifest.save_state(state)
        if page.last:
            break
    result.skipped = dict(manifest.rejected)
    return result
