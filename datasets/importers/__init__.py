"""Importers: photos the shared set lacks, from public sources, as a training manifest.

plants-v1 has no *Papaver somniferum*. Trainers with internet access can pull research-grade
observations from iNaturalist, occurrence media from GBIF, or species folders from a
downloaded Pl@ntNet-300K archive. Every importer writes the same thing — images plus a
built-manifest CSV (``datasets/README.md``) that ``plantscout train`` reads — and keeps the
licence and attribution of each image, because a model card must carry them.
"""

from .licences import normalise_licence, parse_licence_filter
from .manifest import ImportManifest
from .polite import PoliteClient

__all__ = ["ImportManifest", "PoliteClient", "normalise_licence", "parse_licence_filter"]
