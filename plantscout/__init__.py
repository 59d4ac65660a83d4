"""plantscout: suspected opium poppy and cannabis in field photos and drone frames.

This package is only the front door (version and CLI). The parts live in
``plantscout.model`` (inference core, no torch), ``plantscout.training``,
``plantscout.serve`` and ``plantscout.datasets``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("plantscout")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
