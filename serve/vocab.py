"""The service's closed vocabularies, shared by ORM rows, API schemas and exports.

Stored as plain strings (portable across SQLite and PostgreSQL, and a new value needs no
ALTER TYPE); the API rejects anything not listed here with a 422 that names the choices.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """API key roles. Each includes everything the roles before it may do."""

    INSPECTOR = "inspector"  # score, file inspections, see own unit
    REVIEWER = "reviewer"  # + review, eradication, all units, reports
    ADMIN = "admin"  # + keys, target imports, settings

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_ROLE_RANK = {Role.INSPECTOR: 1, Role.REVIEWER: 2, Role.ADMIN: 3}


class SiteType(StrEnum):
    COURTYARD = "courtyard"
    FARMLAND = "farmland"
    WASTELAND = "wasteland"
    ROOFTOP = "rooftop"
    GREENHOUSE = "greenhouse"
    REMOTE_PLOT = "remote_plot"
    ROADSIDE = "roadside"
    FOREST = "forest"
    RIVERBANK = "riverbank"
    OTHER = "other"


class LocationSource(StrEnum):
    """Where an inspection's coordinates came from."""

    PHOTO = "photo"  # EXIF GPS of a photo: where the camera was when the plant was taken
    DEVICE = "device"  # the field device's GPS when the record was filed
    MANUAL = "manual"  # placed by hand on a map; a deliberate choice that wins over both
    NONE = "none"


class ReviewState(StrEnum):
    PENDING = "pending"
    CONFIRMED_OPIUM_POPPY = "confirmed_opium_poppy"
    CONFIRMED_CANNABIS = "confirmed_cannabis"
    LOOKALIKE = "lookalike"
    NOT_TARGET = "not_target"

    @property
    def confirmed(self) -> bool:
        return self in (ReviewState.CONFIRMED_OPIUM_POPPY, ReviewState.CONFIRMED_CANNABIS)


class EradicationMethod(StrEnum):
    UPROOTED = "uprooted"
    BURNED = "burned"
    HERBICIDE = "herbicide"
    CUT = "cut"
    OTHER = "other"


class PlantKind(StrEnum):
    """What one entry of an inspection's ``plants`` is (issue 13)."""

    PLANT = "plant"  # one plant
    PATCH = "patch"  # a patch or stand of plants, counted and measured together


class GrowthStage(StrEnum):
    """How far a plant or patch has grown: what eradication and the next visit must plan for."""

    SEEDLING = "seedling"
    VEGETATIVE = "vegetative"  # leaves, no flowers yet
    FLOWERING = "flowering"  # flowers or buds
    FRUITING = "fruiting"  # seed capsules (poppy) or seeds (cannabis)
    HARVESTED = "harvested"  # cut or lanced: stubble, scored capsules


class TargetStatus(StrEnum):
    """Derived from linked inspections, never set by hand (see services/targets.py)."""

    OPEN = "open"  # nobody has been there yet
    CHECKED = "checked"  # inspected; not yet cleared, or confirmed and awaiting eradication
    CLEARED = "cleared"  # every linked inspection reviewed, none confirmed
    ERADICATED = "eradicated"  # a linked inspection records an eradication


VERDICTS = ("suspected", "review", "clear", "unusable")
