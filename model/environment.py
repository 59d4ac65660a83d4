"""Every ``PLANTSCOUT_*`` environment variable the commands read, declared in one place.

The service reads its own settings (``PLANTSCOUT_<FIELD>``) through
``plantscout.serve.settings.Settings``; the variables it shares with the commands
(``PLANTSCOUT_MODEL``, ``PLANTSCOUT_REGISTRY``) are named there by the constants below. Nothing
else in the source tree reads a ``PLANTSCOUT_*`` variable (a test greps for strays), so this
file and the settings object are the whole answer to "what can I set?".
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvVar:
    name: str
    meaning: str

    def get(self) -> str | None:
        """The value, or ``None`` when unset or empty (an empty variable means "not set")."""
        return os.environ.get(self.name) or None


MODEL = EnvVar(
    "PLANTSCOUT_MODEL",
    "bundle directory used when neither --model nor the registry names one",
)
REGISTRY = EnvVar(
    "PLANTSCOUT_REGISTRY",
    "bundle registry folder (commands: default var/models; the service: <data_dir>/models)",
)
API_KEY = EnvVar("PLANTSCOUT_API_KEY", "API key for `plantscout scan --post`")

VARIABLES: tuple[EnvVar, ...] = (MODEL, REGISTRY, API_KEY)
