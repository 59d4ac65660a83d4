"""The plants or patches of an inspection (issue 13): parsed from the upload form's ``plants``
JSON and checked against its photos before anything is scored or stored."""

from __future__ import annotations

import json

from pydantic import TypeAdapter, ValidationError

from ..errors import Unprocessable
from ..models import InspectionPlant
from ..schemas.inspections import MAX_PLANTS, PlantIn

_PLANTS = TypeAdapter(list[PlantIn])


def _refuse(message: str, field: str = "plants") -> Unprocessable:
    return Unprocessable(message, details=[{"field": field, "message": message}])


def parse_plants(text: str | None, n_photos: int) -> list[PlantIn]:
    """The form's ``plants`` as checked entries; a 422 naming the entry when one is wrong."""
    if text is None or not text.strip():
        return []
    try:
        data = json.loads(text)
    except ValueError:
        raise _refuse("plants must be a JSON list of plants or patches") from None
    if not isinstance(data, list):
        raise _refuse("plants must be a JSON list of plants or patches")
    if len(data) > MAX_PLANTS:
        raise _refuse(f"{len(data)} plants or patches sent; at most {MAX_PLANTS} per inspection")
    try:
        plants = _PLANTS.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _refuse(f"plants.{where}: {first['msg']}", f"plants.{where}") from None
    owner: dict[int, int] = {}
    for index, plant in enumerate(plants):
        for photo in plant.photos:
            if not 0 <= photo < n_photos:
                raise _refuse(
                    f"plants.{index} names photo {photo}; the inspection has photos "
                    f"0–{n_photos - 1}",
                    f"plants.{index}.photos",
                )
            if photo in owner:
                raise _refuse(
                    f"photo {photo} is given to plants {owner[photo]} and {index}; a photo "
                    "shows one plant or patch",
                    f"plants.{index}.photos",
                )
            owner[photo] = index
    return plants


def plant_rows(plants: list[PlantIn]) -> list[InspectionPlant]:
    return [
        InspectionPlant(
            position=index,
            kind=plant.kind.value,
            count=plant.count,
            area_m2=plant.area_m2,
            growth_stage=plant.growth_stage.value if plant.growth_stage else None,
            note=plant.note,
        )
        for index, plant in enumerate(plants)
    ]


def photo_owners(plants: list[PlantIn]) -> dict[int, int]:
    """Photo position -> position of the plant it shows."""
    return {photo: index for index, plant in enumerate(plants) for photo in plant.photos}
