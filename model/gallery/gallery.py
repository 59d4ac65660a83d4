"""Reference galleries: teach a bundle a label from a handful of photos, without retraining.

An office that has 10–20 photos of opium poppy from past eradications cannot wait for a new
model. A gallery stores the bundle's own embeddings of those photos (with label, source,
licence and image sha256) and, at scoring time, compares each photo's embedding with them:
a photo close enough to the references of a label is claimed for that label. That can add a
label the classifier has no output for (``opium_poppy``) or strengthen one it has.

Honesty rules, enforced here rather than left to the caller:

- Embeddings only mean something to the network that made them, so a gallery names the
  bundle sha256 it was built with and any other bundle refuses it (:class:`GalleryMismatch`).
- "Close enough" is a similarity threshold *calibrated on held-out data*: each reference is
  scored against the references of the other groups (photos of other plants, fields or
  observations), and stored negatives (photos known not to be the label, look-alikes above
  all) bound the false-match rate — overall and for each kind of negative with enough
  examples, so many easy negatives (soil) cannot hide a common hard one (other red flowers).
  A label with references from fewer than two groups decides nothing.
- A gallery can only raise a controlled species to ``alert`` when enough negatives show the
  false-alarm rate at that threshold is below 1 % with 95 % confidence (300+ negatives);
  otherwise its strongest word is ``review``.
- A gallery never lowers a level the classifier raised: a missing reference must not hide
  cannabis the model saw. Scores say which decisions came from the gallery.

Stored as one ``.npz`` (float32 arrays + a JSON header), no pickle, no torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..bundle import Card
from ..errors import PlantscoutError
from ..score import Level, Score, SpeciesScore, decide
from ..taxonomy import TAXONOMY, Role, Text

GALLERY_SCHEMA = "plantscout.gallery/1"
QUALITY_REASONS = ("too_small", "too_dark")  # unusable for the photo itself, not the model


class GalleryError(PlantscoutError):
    code = "bad_gallery"


class GalleryMismatch(GalleryError):
    """The gallery's embeddings came from another network; comparing them would be noise."""

    code = "gallery_bundle_mismatch"


@dataclass(frozen=True)
class Reference:
    """One reference photo: what it shows, where it came from, under which licence."""

    label: str
    sha256: str
    source: str = ""
    licence: str = ""
    group: str = ""  # same plant / field / observation: held out together when calibrating
    path: str = ""  # where it was read from, so `gallery rebuild` can re-embed it
    added: str = ""

    @property
    def group_key(self) -> str:
        return self.group or self.sha256


@dataclass(frozen=True)
class Negative:
    """A photo known *not* to show the gallery's labels (for the false-match rate)."""

    sha256: str
    label: str = ""  # what it shows, if known (e.g. ornamental_poppy)
    source: str = ""
    path: str = ""


@dataclass(frozen=True)
class Policy:
    """How thresholds are chosen. Stored in the gallery so a rebuild calibrates the same way."""

    k: int = 3  # similarity to a label = mean of the k most similar references
    target_recall: float = 0.9  # on held-out references, at the match threshold
    match_max_false_rate: float = 0.05  # on negatives, at the match threshold
    # At the alert threshold the false-alarm rate must be below this *with 95 % confidence*
    # (Clopper-Pearson upper bound), not just as a point estimate: 0 false among 100 still
    # allows 3 %. With no false match at all this takes 299 negatives.
    alert_max_false_rate: float = 0.01
    alert_confidence: float = 0.95
    min_negatives_for_match: int = 20  # fewer: the match threshold ignores negatives
    min_negatives_for_alert: int = 300  # fewer: no alert threshold at all (review only)
    min_groups: int = 2  # a label needs references from this many groups to decide anything


@dataclass(frozen=True)
class LabelRule:
    """Calibrated similarity thresholds for one label, with the numbers behind them."""

    label: str
    match: float | None  # similarity at which the gallery claims the label (review level)
    alert: float | None  # controlled labels only: similarity for an alert
    references: int = 0
    groups: int = 0
    held_out_positives: int = 0
    negatives: int = 0
    recall_at_match: float | None = None
    false_rate_at_match: float | None = None
    recall_at_alert: float | None = None
    false_rate_at_alert: float | None = None
    worst_negative_kind: str | None = None  # the kind of negative matched most often
    worst_false_rate_at_match: float | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class Gallery:
    """References (and negatives) embedded by one bundle, with per-label rules."""

    bundle: dict[str, str]  # identity of the bundle that embedded everything: name/version/sha256
    embedding_dim: int
    references: list[Reference] = field(default_factory=list)
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    negatives: list[Negative] = field(default_factory=list)
    negative_embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    policy: Policy = field(default_factory=Policy)
    rules: dict[str, LabelRule] = field(default_factory=dict)
    name: str = "gallery"
    created: str = ""
    _sha: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dim = self.embedding_dim
        self.embeddings = _as_matrix(self.embeddings, dim)
        self.negative_embeddings = _as_matrix(self.negative_embeddings, dim)
        if len(self.embeddings) != len(self.references):
            raise GalleryError("gallery has a different number of references and embeddings")
        if len(self.negative_embeddings) != len(self.negatives):
            raise GalleryError("gallery has a different number of negatives and embeddings")

    # -- building ------------------------------------------------------------------------
    @classmethod
    def new(cls, bundle_identity: Mapping[str, str], embedding_dim: int, **kwargs: Any) -> Gallery:
        return cls(
            bundle=dict(bundle_identity),
            embedding_dim=int(embedding_dim),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            **kwargs,
        )

    def add(self, references: Sequence[Reference], embeddings: np.ndarray) -> int:
        """Add references (skipping an image already filed under the same label); recalibrate."""
        embeddings = _as_matrix(embeddings, self.embedding_dim)
        if len(embeddings) != len(references):
            raise GalleryError("one embedding per reference is needed")
        for reference in references:
            check_label(reference.label)
        seen = {(r.label, r.sha256) for r in self.references}
        keep = [i for i, r in enumerate(references) if (r.label, r.sha256) not in seen]
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        self.references.extend(
            replace(references[i], added=references[i].added or stamp) for i in keep
        )
        self.embeddings = np.concatenate([self.embeddings, embeddings[keep]])
        self.calibrate()
        return len(keep)

    def add_negatives(self, negatives: Sequence[Negative], embeddings: np.ndarray) -> int:
        embeddings = _as_matrix(embeddings, self.embedding_dim)
        if len(embeddings) != len(negatives):
            raise GalleryError("one embedding per negative is needed")
        seen = {n.sha256 for n in self.negatives}
        keep = [i for i, n in enumerate(negatives) if n.sha256 not in seen]
        self.negatives.extend(negatives[i] for i in keep)
        self.negative_embeddings = np.concatenate([self.negative_embeddings, embeddings[keep]])
        self.calibrate()
        return len(keep)

    def remove(self, *, label: str | None = None, sha256: str | None = None) -> int:
        """Remove references by label and/or image sha256 (prefix); returns how many."""
        if label is None and sha256 is None:
            raise GalleryError("say which references to remove (a label and/or a sha256)")

        def doomed(r: Reference) -> bool:
            return (label is None or r.label == label) and (
                sha256 is None or r.sha256.startswith(sha256)
            )

        keep = [i for i, r in enumerate(self.references) if not doomed(r)]
        removed = len(self.references) - len(keep)
        self.references = [self.references[i] for i in keep]
        self.embeddings = self.embeddings[keep]
        self.calibrate()
        return removed

    @property
    def labels(self) -> dict[str, int]:
        return dict(Counter(r.label for r in self.references))

    # -- identity --------------------------------------------------------------------------
    def check_bundle(self, identity: Mapping[str, str]) -> None:
        """Refuse to be used with any bundle but the one that made the embeddings."""
        if identity.get("sha256") != self.bundle.get("sha256"):
            mine = f"{self.bundle.get('name')} {self.bundle.get('version')} ({self.bundle.get('sha256', '')[:12]})"
            theirs = f"{identity.get('name')} {identity.get('version')} ({identity.get('sha256', '')[:12]})"
            raise GalleryMismatch(
                f"gallery {self.name!r} was built with bundle {mine}; this is bundle {theirs}. "
                "Embeddings from another network are not comparable: rebuild the gallery "
                "with `plantscout gallery rebuild` (it re-embeds the stored reference photos)."
            )

    @property
    def sha256(self) -> str:
        """Content hash (references, embeddings, rules): what a score names as its gallery.

        Cached: every score carries it, and hashing thousands of embeddings per request
        would cost more than the comparison itself. Every change recalibrates, which clears it.
        """
        if self._sha is None:
            self._sha = self._content_hash()
        return self._sha

    def _content_hash(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps(self._header(), sort_keys=True).encode())
        digest.update(np.ascontiguousarray(self.embeddings, np.float32).tobytes())
        digest.update(np.ascontiguousarray(self.negative_embeddings, np.float32).tobytes())
        return digest.hexdigest()

    def identity(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "bundle_sha256": self.bundle.get("sha256"),
            "references": len(self.references),
            "labels": self.labels,
        }

    # -- similarity and calibration -----------------------------------------------------------
    def similarities(self, embeddings: np.ndarray) -> dict[str, np.ndarray]:
        """Per label: top-k mean cosine similarity of each embedding to that label's references."""
        queries = _normalise(_as_matrix(embeddings, self.embedding_dim))
        refs = _normalise(self.embeddings)
        result: dict[str, np.ndarray] = {}
        for label in self.labels:
            index = [i for i, r in enumerate(self.references) if r.label == label]
            result[label] = _topk_mean(queries @ refs[index].T, self.policy.k)
        return result

    def calibrate(self) -> dict[str, LabelRule]:
        """Choose each label's thresholds on held-out data (see the module docstring)."""
        self._sha = None  # the content changes with the rules: hash again on next use
        policy = self.policy
        refs = _normalise(self.embeddings)
        negs = _normalise(self.negative_embeddings)
        rules: dict[str, LabelRule] = {}
        for label, count in sorted(self.labels.items()):
            members = [i for i, r in enumerate(self.references) if r.label == label]
            groups = [self.references[i].group_key for i in members]
            n_groups = len(set(groups))
            if n_groups < policy.min_groups:
                rules[label] = LabelRule(
                    label,
                    None,
                    None,
                    count,
                    n_groups,
                    note=f"needs references from at least {policy.min_groups} groups "
                    "(different plants, fields or observations) to be calibrated",
                )
                continue
            positives = _held_out_positives(refs[members], groups, policy.k)
            # Negatives: stored negatives plus references of every other label, kept apart by
            # what they show, so one common kind of look-alike cannot hide behind many easy
            # negatives (a pooled 5 % can be 14 % on other flowers and 0 % on soil).
            pool = [(n.label, negs[i]) for i, n in enumerate(self.negatives)]
            pool += [
                (self.references[i].label, refs[i])
                for i, r in enumerate(self.references)
                if r.label != label
            ]
            kinds = np.array([kind or "unlabelled" for kind, _ in pool], dtype=object)
            negatives = (
                _topk_mean(np.stack([v for _, v in pool]) @ refs[members].T, policy.k)
                if pool
                else np.zeros(0)
            )
            match = float(np.quantile(positives, 1.0 - policy.target_recall, method="lower"))
            note = ""
            if len(negatives) >= policy.min_negatives_for_match:
                match = max(
                    match,
                    _bounded_threshold(
                        negatives,
                        kinds,
                        policy.match_max_false_rate,
                        policy.min_negatives_for_match,
                    ),
                )
            else:
                note = (
                    f"match threshold set from held-out references only: add at least "
                    f"{policy.min_negatives_for_match} negatives (look-alikes, other plants) "
                    "to bound false matches"
                )
            alert = None
            if TAXONOMY[label].role is Role.CONTROLLED:
                certified = _certified_threshold(
                    negatives, policy.alert_max_false_rate, policy.alert_confidence
                )
                if len(negatives) >= policy.min_negatives_for_alert and certified is not None:
                    alert = max(
                        match,
                        certified,
                        _bounded_threshold(
                            negatives,
                            kinds,
                            policy.alert_max_false_rate,
                            policy.min_negatives_for_match,
                        ),
                    )
                else:
                    note = (note + "; " if note else "") + (
                        f"review only: an alert needs at least {policy.min_negatives_for_alert} "
                        "negatives, to show its false-alarm rate is below "
                        f"{policy.alert_max_false_rate:.0%} with {policy.alert_confidence:.0%} confidence"
                    )
            worst = _worst_kind(negatives, kinds, match, policy.min_negatives_for_match)
            rules[label] = LabelRule(
                label=label,
                match=match,
                alert=alert,
                references=count,
                groups=n_groups,
                held_out_positives=len(positives),
                negatives=len(negatives),
                recall_at_match=_rate(positives, match),
                false_rate_at_match=_rate(negatives, match) if len(negatives) else None,
                recall_at_alert=_rate(positives, alert) if alert is not None else None,
                false_rate_at_alert=_rate(negatives, alert) if alert is not None else None,
                worst_negative_kind=worst[0],
                worst_false_rate_at_match=worst[1],
                note=note,
            )
        self.rules = rules
        return rules

    # -- persistence ------------------------------------------------------------------------
    def _header(self) -> dict[str, Any]:
        return {
            "schema": GALLERY_SCHEMA,
            "name": self.name,
            "created": self.created,
            "bundle": self.bundle,
            "embedding_dim": self.embedding_dim,
            "policy": asdict(self.policy),
            "references": [asdict(r) for r in self.references],
            "negatives": [asdict(n) for n in self.negatives],
            "rules": {k: v.as_dict() for k, v in self.rules.items()},
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically: a service reloading the file never reads half of it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        header = json.dumps(self._header(), ensure_ascii=False).encode("utf-8")
        np.savez(
            buffer,
            header=np.frombuffer(header, np.uint8),
            embeddings=np.asarray(self.embeddings, np.float32),
            negative_embeddings=np.asarray(self.negative_embeddings, np.float32),
        )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Gallery:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode("utf-8"))
                embeddings = np.asarray(data["embeddings"], np.float32)
                negative_embeddings = np.asarray(data["negative_embeddings"], np.float32)
        except FileNotFoundError:
            raise GalleryError(f"{path}: no such gallery") from None
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise GalleryError(f"{path} is not a plantscout gallery: {exc}") from exc
        if header.get("schema") != GALLERY_SCHEMA:
            raise GalleryError(f"{path}: gallery schema {header.get('schema')!r} is not supported")
        gallery = cls(
            bundle=header["bundle"],
            embedding_dim=int(header["embedding_dim"]),
            references=[Reference(**r) for r in header["references"]],
            embeddings=embeddings,
            negatives=[Negative(**n) for n in header.get("negatives", [])],
            negative_embeddings=negative_embeddings,
            policy=Policy(**header.get("policy", {})),
            name=header.get("name", path.stem),
            created=header.get("created", ""),
        )
        gallery.calibrate()  # rules are derived data: recomputed, never trusted from disk
        return gallery


def check_label(label: str) -> None:
    """Gallery labels come from the taxonomy, so a typo cannot create a class."""
    if label not in TAXONOMY:
        raise GalleryError(f"unknown label {label!r}; known labels: {', '.join(sorted(TAXONOMY))}")


# -- applying a gallery to scores ----------------------------------------------------------------

GALLERY_MESSAGE = Text(
    zh="与参考图库中的{label}照片高度相似（相似度 {sim:.2f}），请核实",
    en="Closely matches the reference gallery's {label} photos (similarity {sim:.2f}): check it",
)


def apply_gallery(score: Score, gallery: Gallery, card: Card) -> Score:
    """Combine a classifier score with the gallery. Needs ``score.embedding``.

    The classifier's calibrated probabilities are kept as they are; the gallery can raise
    controlled species (a matched controlled label, or a matched look-alike standing in for a
    controlled species the classifier was not trained on) and names its best label.
    """
    if score.embedding is None:
        raise GalleryError("the score carries no embedding; score with a Scorer first")
    gallery.check_bundle(score.model)
    sims = {
        label: float(values[0])
        for label, values in gallery.similarities(score.embedding[None]).items()
    }
    matches = []
    best: tuple[float, str] | None = None
    for label, sim in sorted(sims.items()):
        rule = gallery.rules.get(label)
        matched = bool(rule and rule.match is not None and sim >= rule.match)
        level = None
        if matched and TAXONOMY[label].role is Role.CONTROLLED:
            level = Level.ALERT if rule.alert is not None and sim >= rule.alert else Level.REVIEW
        if matched:
            margin = sim - rule.match  # type: ignore[union-attr, operator]
            if best is None or margin > best[0]:
                best = (margin, label)
        matches.append(
            {
                "label": label,
                "similarity": round(sim, 6),
                "match": rule.match if rule else None,
                "alert": rule.alert if rule else None,
                "matched": matched,
                "level": level.value if level else None,
            }
        )
    gallery_levels = _gallery_levels(matches, card)
    species: list[SpeciesScore] = []
    raised: list[str] = []
    for entry in score.species:
        level, via, sim_label = gallery_levels.get(entry.key, (None, None, None))
        if level is not None and _rank(level) > _rank(entry.level):
            name = TAXONOMY[sim_label].name
            sim = sims[sim_label]
            species.append(
                replace(
                    entry,
                    level=level,
                    via=via,
                    source="gallery",
                    message=Text(
                        zh=GALLERY_MESSAGE.zh.format(label=name.zh, sim=sim),
                        en=GALLERY_MESSAGE.en.format(label=name.en, sim=sim),
                    ),
                )
            )
            raised.append(entry.key)
        else:
            species.append(entry)
    quality = score.unusable_reason if score.unusable_reason in QUALITY_REASONS else None
    verdict, reason = decide(card, score.probabilities, species, quality_reason=quality)
    details = {
        **gallery.identity(),
        "label": best[1] if best else None,
        "matches": matches,
        "raised": raised,
        "nearest": _nearest(gallery, score.embedding, best[1]) if best else [],
    }
    return replace(
        score, species=tuple(species), verdict=verdict, unusable_reason=reason, gallery=details
    )


def _gallery_levels(
    matches: list[dict[str, Any]], card: Card
) -> dict[str, tuple[Level, str | None, str]]:
    """Controlled species key -> (level, via, the gallery label that raised it)."""
    levels: dict[str, tuple[Level, str | None, str]] = {}
    trained = set(card.label_keys)
    for match in matches:
        if not match["matched"]:
            continue
        label = TAXONOMY[match["label"]]
        if label.role is Role.CONTROLLED:
            candidate = (Level(match["level"]), None, label.key)
            target = label.key
        elif label.lookalike_of and label.lookalike_of not in trained:
            # A matched look-alike of a species the classifier cannot see: that species
            # must be checked on site, exactly like the card's stand-in labels.
            candidate = (Level.REVIEW, label.key, label.key)
            target = label.lookalike_of
        else:
            continue
        current = levels.get(target)
        if current is None or _rank(candidate[0]) > _rank(current[0]):
            levels[target] = candidate
    return levels


def _rank(level: Level | None) -> int:
    return {None: 0, Level.REVIEW: 1, Level.ALERT: 2}[level]


def _nearest(gallery: Gallery, embedding: np.ndarray, label: str, n: int = 3) -> list[dict]:
    refs = _normalise(gallery.embeddings)
    query = _normalise(embedding[None])[0]
    index = [i for i, r in enumerate(gallery.references) if r.label == label]
    sims = refs[index] @ query
    order = np.argsort(-sims)[:n]
    out = []
    for j in order:
        ref = gallery.references[index[j]]
        out.append(
            {
                "sha256": ref.sha256,
                "source": ref.source,
                "licence": ref.licence,
                "similarity": round(float(sims[j]), 6),
            }
        )
    return out


# -- numerics --------------------------------------------------------------------------------


def _as_matrix(array: np.ndarray, dim: int) -> np.ndarray:
    array = np.asarray(array, np.float32)
    if array.size == 0:
        return np.zeros((0, dim), np.float32)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != dim:
        raise GalleryError(f"embeddings must be (N, {dim}); got {array.shape}")
    return array


def _normalise(array: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.maximum(norms, 1e-12)


def _topk_mean(similarity: np.ndarray, k: int) -> np.ndarray:
    """Rows: queries, columns: references -> mean of each row's k largest values."""
    if similarity.shape[1] == 0:
        return np.full(similarity.shape[0], -1.0)
    k = max(1, min(k, similarity.shape[1]))
    top = -np.partition(-similarity, k - 1, axis=1)[:, :k]
    return top.mean(axis=1)


def _held_out_positives(refs: np.ndarray, groups: Sequence[str], k: int) -> np.ndarray:
    """Each reference's similarity to the label's references in *other* groups."""
    sims = refs @ refs.T
    groups_arr = np.asarray(groups)
    out = []
    for i in range(len(refs)):
        others = groups_arr != groups_arr[i]
        if others.any():
            out.append(_topk_mean(sims[i : i + 1, others], k)[0])
    return np.asarray(out, np.float64)


def _threshold_for_false_rate(negatives: np.ndarray, max_rate: float) -> float:
    """The smallest threshold at which at most ``max_rate`` of the negatives reach it."""
    ordered = np.sort(negatives)[::-1]
    allowed = int(np.floor(max_rate * len(ordered)))
    if allowed >= len(ordered):
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], np.inf))


def _certified_threshold(negatives: np.ndarray, max_rate: float, confidence: float) -> float | None:
    """The smallest threshold whose false-match rate is below ``max_rate`` with the given
    one-sided confidence (Clopper-Pearson), or ``None`` if there are too few negatives."""
    n = len(negatives)
    allowed = -1
    while allowed + 1 <= n and _upper_bound(allowed + 1, n, 1 - confidence) <= max_rate:
        allowed += 1
    if allowed < 0:
        return None
    ordered = np.sort(negatives)[::-1]
    if allowed >= n:
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], np.inf))


def _upper_bound(false: int, n: int, alpha: float) -> float:
    """Clopper-Pearson one-sided upper bound of a rate seen ``false`` times in ``n``."""
    if false >= n:
        return 1.0
    low, high = false / n, 1.0
    for _ in range(60):  # bisection: P(X <= false | p) decreases as p grows
        mid = (low + high) / 2
        if _binomial_cdf(false, n, mid) > alpha:
            low = mid
        else:
            high = mid
    return high


def _binomial_cdf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * log_p
        + (n - i) * log_q
        for i in range(k + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _bounded_threshold(
    negatives: np.ndarray, kinds: np.ndarray, max_rate: float, min_count: int
) -> float:
    """The smallest threshold keeping the false rate ≤ ``max_rate`` overall *and* for each
    kind of negative with at least ``min_count`` examples (fewer: too few to estimate)."""
    threshold = _threshold_for_false_rate(negatives, max_rate)
    for kind in set(kinds.tolist()):
        mask = kinds == kind
        if mask.sum() >= min_count:
            threshold = max(threshold, _threshold_for_false_rate(negatives[mask], max_rate))
    return threshold


def _worst_kind(
    negatives: np.ndarray, kinds: np.ndarray, threshold: float, min_count: int
) -> tuple[str | None, float | None]:
    worst: tuple[str | None, float | None] = (None, None)
    for kind in sorted(set(kinds.tolist())):
        mask = kinds == kind
        if mask.sum() >= min_count:
            rate = float(np.mean(negatives[mask] >= threshold))
            if worst[1] is None or rate > worst[1]:
                worst = (kind, rate)
    return worst


def _rate(values: np.ndarray, threshold: float | None) -> float | None:
    if threshold is None or len(values) == 0:
        return None
    return float(np.mean(values >= threshold))
