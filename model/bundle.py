"""Model bundles: ``model.onnx`` + ``card.json``, the one contract between training and serving.

The card carries everything needed to use the network correctly (labels in output order,
preprocessing, temperature, thresholds) and to judge it (data, metrics, limitations). Loading
validates the card against the ONNX file — schema version, output sizes, sha256 — and refuses a
bundle that disagrees with itself, because a silently mismatched label order would turn
cannabis scores into look-alike scores without any error.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .environment import MODEL
from .errors import BundleError, NoDefaultModel
from .familiarity import Familiarity, FamiliarityRule, load_familiarity
from .preprocess import Preprocessing
from .taxonomy import TAXONOMY, Role, Text

CARD_SCHEMA = "plantscout.bundle/1"
# /2 adds the `familiarity` gate (an extra file beside the ONNX). A reader that knows only /1
# must refuse such a bundle rather than ignore the gate and alert more than it should.
CARD_SCHEMA_FAMILIARITY = "plantscout.bundle/2"
CARD_SCHEMAS = (CARD_SCHEMA, CARD_SCHEMA_FAMILIARITY)
CARD_FILE = "card.json"
ONNX_FILE = "model.onnx"
INPUT_NAME = "image"
LOGITS_OUTPUT = "logits"
EMBEDDING_OUTPUT = "embedding"

RELEASES_DIR = Path(__file__).resolve().parent / "releases"
DEFAULT_POINTER = RELEASES_DIR / "DEFAULT"
MODEL_ENV = MODEL.name


@dataclass(frozen=True)
class Thresholds:
    """Calibrated-probability cut-offs for one label. ``None`` means the level is never raised."""

    alert: float | None = None
    review: float | None = None

    def __post_init__(self) -> None:
        for name in ("alert", "review"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise BundleError(f"threshold {name}={value} is outside [0, 1]")
        if self.alert is not None and self.review is not None and self.review > self.alert:
            raise BundleError(f"review threshold {self.review} is above alert {self.alert}")


@dataclass(frozen=True)
class CardLabel:
    """One model output, in output order."""

    key: str
    scientific_name: str
    name: Text
    role: Role
    thresholds: Thresholds = field(default_factory=Thresholds)
    # A label that stands in for a controlled species the model was not trained on: it can
    # raise that species to `review`, never to `alert` (v1: ornamental poppy -> opium poppy).
    review_for: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "scientific_name": self.scientific_name,
            "name": self.name.as_dict(),
            "role": self.role.value,
            "thresholds": {"alert": self.thresholds.alert, "review": self.thresholds.review},
            "review_for": self.review_for,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardLabel:
        try:
            key = data["key"]
            known = TAXONOMY.get(key)
            name = data.get("name") or (known.name.as_dict() if known else None)
            if not name:
                raise BundleError(f"label {key!r} is not in the taxonomy and has no name")
            thresholds = data.get("thresholds") or {}
            return cls(
                key=key,
                scientific_name=data.get("scientific_name")
                or (known.scientific_name if known else ""),
                name=Text(zh=name["zh"], en=name["en"]),
                role=Role(data.get("role") or known.role),  # type: ignore[union-attr]
                thresholds=Thresholds(
                    alert=thresholds.get("alert"), review=thresholds.get("review")
                ),
                review_for=data.get("review_for"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BundleError(f"card label {data!r} is malformed: {exc}") from exc


@dataclass(frozen=True)
class Decision:
    """How probabilities become a verdict beyond per-label thresholds."""

    # A photo is `unusable` ("retake: no plant visible") when this label's probability is
    # at least `unusable_min_probability`. None disables the rule (e.g. tile scoring).
    unusable_label: str | None = "background"
    unusable_min_probability: float = 0.6
    min_side: int = 96  # shorter side (px) below which a photo is `unusable: too_small`
    min_mean_luma: float = 0.06  # mean luma in [0, 1] below which a photo is `too_dark`
    target_recall: float = 0.95

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True)
class Card:
    name: str
    version: str
    created: str
    onnx_sha256: str
    labels: tuple[CardLabel, ...]
    preprocessing: Preprocessing
    temperature: float = 1.0
    decision: Decision = field(default_factory=Decision)
    embedding_dim: int | None = None
    architecture: str = ""
    limitations: tuple[Text, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # training, metrics, sources, variants
    familiarity: FamiliarityRule | None = None  # open-set gate on alerts (schema /2)

    @property
    def label_keys(self) -> tuple[str, ...]:
        return tuple(label.key for label in self.labels)

    def label(self, key: str) -> CardLabel:
        for label in self.labels:
            if label.key == key:
                return label
        raise KeyError(f"label {key!r} is not an output of bundle {self.name} {self.version}")

    @property
    def untrained_controlled(self) -> tuple[str, ...]:
        """Controlled species in the taxonomy that this model has no output for."""
        outputs = set(self.label_keys)
        return tuple(
            k for k, v in TAXONOMY.items() if v.role is Role.CONTROLLED and k not in outputs
        )

    @property
    def schema(self) -> str:
        return CARD_SCHEMA_FAMILIARITY if self.familiarity is not None else CARD_SCHEMA

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": self.schema,
            "name": self.name,
            "version": self.version,
            "created": self.created,
            "architecture": self.architecture,
            "onnx": {
                "file": ONNX_FILE,
                "sha256": self.onnx_sha256,
                "input": INPUT_NAME,
                "outputs": [LOGITS_OUTPUT, EMBEDDING_OUTPUT],
                "embedding_dim": self.embedding_dim,
            },
            "labels": [label.as_dict() for label in self.labels],
            "untrained_controlled": list(self.untrained_controlled),
            "preprocessing": self.preprocessing.as_dict(),
            "calibration": {"temperature": self.temperature},
            "decision": self.decision.as_dict(),
            "limitations": [t.as_dict() for t in self.limitations],
        }
        if self.familiarity is not None:
            data["familiarity"] = self.familiarity.as_dict()
        for key, value in self.extra.items():
            data.setdefault(key, value)
        if "calibration" in self.extra:
            data["calibration"] = {**self.extra["calibration"], "temperature": self.temperature}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Card:
        schema = data.get("schema")
        if schema not in CARD_SCHEMAS:
            raise BundleError(f"card schema is {schema!r}; this plantscout reads {CARD_SCHEMAS}")
        if (schema == CARD_SCHEMA_FAMILIARITY) != ("familiarity" in data):
            raise BundleError(
                f"a {CARD_SCHEMA_FAMILIARITY} card must have a familiarity section, and only it"
            )
        try:
            labels = tuple(CardLabel.from_dict(item) for item in data["labels"])
            calibration = data.get("calibration") or {}
            temperature = float(calibration.get("temperature", 1.0))
            onnx = data["onnx"]
            core = {
                "schema",
                "name",
                "version",
                "created",
                "architecture",
                "onnx",
                "labels",
                "untrained_controlled",
                "preprocessing",
                "decision",
                "limitations",
                "familiarity",
            }
            card = cls(
                name=str(data["name"]),
                version=str(data["version"]),
                created=str(data.get("created", "")),
                onnx_sha256=str(onnx["sha256"]),
                labels=labels,
                preprocessing=Preprocessing.from_dict(data["preprocessing"]),
                temperature=temperature,
                decision=Decision.from_dict(data.get("decision") or {}),
                embedding_dim=onnx.get("embedding_dim"),
                architecture=str(data.get("architecture", "")),
                limitations=tuple(Text(**t) for t in data.get("limitations", [])),
                extra={k: v for k, v in data.items() if k not in core},
                familiarity=FamiliarityRule.from_dict(data["familiarity"])
                if "familiarity" in data
                else None,
            )
        except BundleError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"card is malformed: {exc!r}") from exc
        card.validate()
        return card

    def validate(self) -> None:
        keys = self.label_keys
        if not keys:
            raise BundleError("card lists no labels")
        if len(set(keys)) != len(keys):
            raise BundleError(f"card lists a label twice: {keys}")
        if not self.temperature > 0:
            raise BundleError(f"temperature must be positive, not {self.temperature}")
        for label in self.labels:
            if label.review_for is not None:
                target = TAXONOMY.get(label.review_for)
                if target is None or target.role is not Role.CONTROLLED:
                    raise BundleError(
                        f"label {label.key!r} reviews for {label.review_for!r}, "
                        "which is not a controlled species"
                    )
                if label.review_for in keys:
                    raise BundleError(
                        f"label {label.key!r} stands in for {label.review_for!r}, "
                        "but the model has that label itself"
                    )
                if label.thresholds.alert is not None:
                    raise BundleError(
                        f"label {label.key!r} stands in for an untrained species and must "
                        "not have an alert threshold"
                    )
        unusable = self.decision.unusable_label
        if unusable is not None and unusable not in keys:
            raise BundleError(f"decision.unusable_label {unusable!r} is not a model output")
        if len(self.onnx_sha256) != 64:
            raise BundleError("card's onnx sha256 must be 64 hex characters")
        gate = self.familiarity
        if gate is not None:
            if gate.label not in keys or self.label(gate.label).role is not Role.CONTROLLED:
                raise BundleError(
                    f"familiarity gates {gate.label!r}, which is not a controlled model output"
                )
            if gate.file == ONNX_FILE or gate.file == CARD_FILE:
                raise BundleError(f"familiarity file may not be {gate.file!r}")


@dataclass(frozen=True)
class Bundle:
    """A validated bundle on disk. ``sha256`` identifies the exact network that scored."""

    path: Path
    card: Card
    familiarity: Familiarity | None = field(default=None, repr=False, compare=False)

    @property
    def onnx_path(self) -> Path:
        return self.path / ONNX_FILE

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def sha256(self) -> str:
        return self.card.onnx_sha256

    def identity(self) -> dict[str, str]:
        """What every score and stored record names: which bundle produced it."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_bundle(path: str | os.PathLike[str] | None = None, *, check_onnx: bool = True) -> Bundle:
    """Load and validate a bundle directory (``None``: the default bundle).

    ``check_onnx`` also opens the graph to compare its outputs with the card; set it to
    False only where the caller opens an inference session right after (which checks again).
    """
    directory = resolve_bundle_path(path)
    card_path = directory / CARD_FILE
    onnx_path = directory / ONNX_FILE
    if not card_path.is_file():
        raise BundleError(f"{directory} is not a model bundle: {CARD_FILE} is missing")
    if not onnx_path.is_file():
        raise BundleError(f"{directory} is not a model bundle: {ONNX_FILE} is missing")
    try:
        data = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{card_path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{card_path} must hold a JSON object")
    card = Card.from_dict(data)
    actual = file_sha256(onnx_path)
    if actual != card.onnx_sha256:
        raise BundleError(
            f"{onnx_path} has sha256 {actual[:12]}…, but the card says {card.onnx_sha256[:12]}…: "
            "the file was changed or the card belongs to another model"
        )
    familiarity = (
        load_familiarity(directory, card.familiarity) if card.familiarity is not None else None
    )
    bundle = Bundle(path=directory, card=card, familiarity=familiarity)
    if check_onnx:
        check_graph(bundle)
    return bundle


def check_graph(bundle: Bundle, session: Any | None = None) -> None:
    """Compare the ONNX graph's inputs and outputs with the card."""
    if session is None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            session = ort.InferenceSession(
                str(bundle.onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise BundleError(f"{bundle.onnx_path} is not a loadable ONNX model: {exc}") from exc
    outputs = {o.name: o.shape for o in session.get_outputs()}
    inputs = {i.name: i.shape for i in session.get_inputs()}
    if INPUT_NAME not in inputs:
        raise BundleError(f"ONNX input must be named {INPUT_NAME!r}; found {sorted(inputs)}")
    for name in (LOGITS_OUTPUT, EMBEDDING_OUTPUT):
        if name not in outputs:
            raise BundleError(f"ONNX outputs must include {name!r}; found {sorted(outputs)}")
    n_logits = outputs[LOGITS_OUTPUT][-1]
    if isinstance(n_logits, int) and n_logits != len(bundle.card.labels):
        raise BundleError(
            f"ONNX model outputs {n_logits} logits but the card lists "
            f"{len(bundle.card.labels)} labels"
        )
    dim = outputs[EMBEDDING_OUTPUT][-1]
    expected = bundle.card.embedding_dim
    if isinstance(dim, int) and expected is not None and dim != expected:
        raise BundleError(f"ONNX embedding has {dim} dims; the card says {expected}")
    size = inputs[INPUT_NAME]
    spatial = size[2:] if len(size) == 4 else []
    want = bundle.card.preprocessing.input_size
    if any(isinstance(s, int) and s != want for s in spatial):
        raise BundleError(f"ONNX input is {size}; the card's preprocessing makes {want}×{want}")


def resolve_bundle_path(path: str | os.PathLike[str] | None) -> Path:
    """Explicit path > $PLANTSCOUT_MODEL > the release named in ``model/releases/DEFAULT``."""
    if path is not None:
        return Path(path).expanduser().resolve()
    env = MODEL.get()
    if env:
        return Path(env).expanduser().resolve()
    return default_bundle_path()


def default_bundle_path() -> Path:
    if not DEFAULT_POINTER.is_file():
        raise NoDefaultModel(
            "no default model is installed: no bundle has been released into "
            f"{RELEASES_DIR}. Pass --model DIR (or set {MODEL_ENV}) to use a bundle you "
            "trained with `plantscout train` and `plantscout export`."
        )
    name = DEFAULT_POINTER.read_text(encoding="utf-8").strip()
    directory = RELEASES_DIR / name
    if not name or not directory.is_dir():
        raise NoDefaultModel(f"{DEFAULT_POINTER} names {name!r}, which is not in {RELEASES_DIR}")
    return directory


def write_card(directory: Path, card: Card) -> Path:
    """Write ``card.json`` atomically (a reader never sees half a card)."""
    target = directory / CARD_FILE
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card.as_dict(), ensure_ascii=False, indent=2) + "\n", "utf-8")
    os.replace(tmp, target)
    return target
