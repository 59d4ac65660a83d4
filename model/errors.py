"""Typed errors of the inference core.

The CLI and the service turn these into messages and HTTP statuses; each carries a stable
``code`` (for clients and translations) and a human sentence. They never hold image bytes.
"""

from __future__ import annotations


class PlantscoutError(Exception):
    """Base class: something the user can act on, with a stable machine-readable code."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ImageError(PlantscoutError):
    """An image could not be accepted. Nothing was decoded past the failing check."""

    code = "bad_image"


class UnsupportedFormat(ImageError):
    code = "unsupported_format"


class TruncatedImage(ImageError):
    code = "truncated_image"


class ImageTooLarge(ImageError):
    """Too many bytes or too many pixels (decompression bombs land here before decoding)."""

    code = "image_too_large"


class ImageTooSmall(ImageError):
    code = "image_too_small"


class BundleError(PlantscoutError):
    """A model bundle is missing, malformed, or its card disagrees with its ONNX file."""

    code = "bad_bundle"


class NoDefaultModel(BundleError):
    code = "no_default_model"
