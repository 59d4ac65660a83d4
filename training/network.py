"""The classifier: backbone + head, and the split used by head-mode training.

Outputs follow the bundle contract: ``logits`` (label order = card labels) and ``embedding``
(the L2-normalised pooled backbone features, used by reference galleries).

Head-mode training splits the backbone into a frozen *trunk* and a trainable *top* (the last
``train_blocks`` blocks plus the final conv and pooling). The trunk's output is computed once
per image view and cached; only top + head train, which is what makes CPU training practical.
With ``train_blocks = 0`` the top is just pooling and the cache holds pooled features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import Backbone, create_backbone


class Head(nn.Module):
    def __init__(self, in_features: int, num_labels: int, hidden: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        if hidden:
            layers += [nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            in_features = hidden
        layers.append(nn.Linear(in_features, num_labels))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


class PlantNet(nn.Module):
    """image batch -> (logits, L2-normalised embedding)."""

    def __init__(self, backbone: Backbone, num_labels: int, hidden: int = 0, dropout: float = 0.2):
        super().__init__()
        self.backbone = backbone
        self.head = Head(backbone.num_features, num_labels, hidden, dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        return self.head(features), F.normalize(features, dim=1)


def build_network(
    backbone: str, num_labels: int, *, hidden: int = 0, dropout: float = 0.2, pretrained=True
) -> PlantNet:
    return PlantNet(create_backbone(backbone, pretrained=pretrained), num_labels, hidden, dropout)


class _Pool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)) if x.dim() == 4 else x


def split_backbone(backbone: Backbone, train_blocks: int) -> tuple[nn.Module, nn.Module]:
    """(trunk, top) sharing the backbone's modules; ``top(trunk(x)) == backbone(x)``.

    ``train_blocks = 0``: trunk is the whole backbone (pooled output), top is identity.
    """
    if train_blocks <= 0:
        return backbone.net, nn.Identity()
    net = backbone.net
    if hasattr(net, "blocks"):  # timm EfficientNet family
        flat = [block for stage in net.blocks for block in stage]
        if train_blocks > len(flat):
            raise ValueError(f"train_blocks={train_blocks} > {len(flat)} blocks")
        trunk = nn.Sequential(net.conv_stem, net.bn1, *flat[: len(flat) - train_blocks])
        top = nn.Sequential(*flat[len(flat) - train_blocks :], net.conv_head, net.bn2, _Pool())
        return trunk, top
    # torchvision MobileNetV2 wrapped as Sequential(features, pool, flatten)
    features = net[0]
    n = len(features) - 1  # the last entry is the final 1x1 conv
    if train_blocks > n:
        raise ValueError(f"train_blocks={train_blocks} > {n} blocks")
    trunk = nn.Sequential(*features[: n - train_blocks])
    top = nn.Sequential(*features[n - train_blocks :], _Pool())
    return trunk, top


def bridge_module(backbone: Backbone, from_blocks: int, to_blocks: int) -> nn.Module:
    """The frozen blocks mapping the trunk output at ``from_blocks`` to that at ``to_blocks``.

    Lets a feature cache made for a deeper split serve a shallower one (see features.py).
    """
    if not from_blocks > to_blocks >= 0:
        raise ValueError("bridge goes from more trained blocks to fewer")
    _, top = split_backbone(backbone, from_blocks)
    if to_blocks == 0:
        return top
    return nn.Sequential(*list(top)[: from_blocks - to_blocks])
