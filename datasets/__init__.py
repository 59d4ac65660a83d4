"""plantscout.datasets — dataset sources, manifests, validation, de-duplication and splits.

Imports only ``plantscout.model`` (never torch): the service writes built manifests of its
reviewed records with :func:`write_records`, and the trainer reads them with
:func:`read_records`. The built-manifest columns are documented in ``datasets/README.md``.
"""

from .build import BuildOptions, BuildResult, build_dataset, load_info
from .folders import records_from_folder
from .records import (
    COLUMNS,
    KINDS,
    SPLITS,
    Record,
    manifest_hash,
    read_records,
    select,
    write_records,
)
from .split import assign_splits, check_disjoint
from .tiles import TileSpec

__all__ = [
    "COLUMNS",
    "KINDS",
    "SPLITS",
    "BuildOptions",
    "BuildResult",
    "Record",
    "TileSpec",
    "assign_splits",
    "build_dataset",
    "check_disjoint",
    "load_info",
    "manifest_hash",
    "read_records",
    "records_from_folder",
    "select",
    "write_records",
]
