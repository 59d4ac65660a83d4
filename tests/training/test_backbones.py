"""Offline pretrained backbones: a silently wrong weight mapping must fail here.

A strict ``load_state_dict`` proves little (the Lite tensors also load into the wrong timm
architecture), so each backbone classifies real photos from plants-v1 and must name the
ImageNet classes a correct network names: sunflowers from Oxford 102 are "daisy" (ImageNet has
no sunflower class), a potted Thai cannabis plant is "pot, flowerpot". With shuffled or
mis-mapped weights the prediction is noise. ~10 s on 2 cores: the guard is worth it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plantscout.model import preprocess, read_image
from plantscout.training.backbones import (
    BACKBONES,
    block_positions,
    create_backbone,
    get_spec,
    imagenet_classifier,
    map_lite_keys,
)

DAISY, FLOWERPOT = 985, 738


def _photos(rows, root, *, taxon: str | None = None, group: str | None = None, n: int = 3):
    chosen = [
        r
        for r in rows
        if r["kind"] == "photo"
        and (taxon is None or r["taxon"] == taxon)
        and (group is None or r["group"] == group)
    ]
    assert len(chosen) >= n
    return [root / r["path"] for r in chosen[:n]]


def _top(net, paths, name: str, k: int) -> list[list[int]]:
    spec = get_spec(name).preprocessing
    batch = np.stack([preprocess(read_image(p).image, spec) for p in paths])
    with torch.no_grad():
        logits = net(torch.from_numpy(batch))
    return logits.topk(k, dim=1).indices.tolist()


@pytest.mark.parametrize("name", ["tf_efficientnet_lite0", "mobilenet_v2"])
def test_pretrained_backbone_recognises_real_photos(name, plants_v1, plants_manifest_rows):
    torch.set_num_threads(2)
    net = imagenet_classifier(name)
    sunflowers = _photos(
        [r for r in plants_manifest_rows if r["group"].startswith("oxford-")],
        plants_v1,
        taxon="sunflower",
    )
    for top3 in _top(net, sunflowers, name, 3):
        assert DAISY in top3, top3
    potted = _photos(plants_manifest_rows, plants_v1, group="thai-Foi_Thong")
    for top1 in _top(net, potted, name, 1):
        assert top1 == [FLOWERPOT], top1


@pytest.mark.parametrize("name", ["tf_efficientnet_lite1", "tf_efficientnet_lite2"])
def test_larger_lite_backbones_load_and_see_daisies(name, plants_v1, plants_manifest_rows):
    torch.set_num_threads(2)
    net = imagenet_classifier(name)
    sunflower = _photos(
        [r for r in plants_manifest_rows if r["group"].startswith("oxford-")],
        plants_v1,
        taxon="sunflower",
        n=1,
    )
    assert DAISY in _top(net, sunflower, name, 3)[0]


def test_feature_backbones_have_no_classifier() -> None:
    for name in BACKBONES:
        backbone = create_backbone(name, pretrained=False)
        out = backbone(torch.zeros(1, 3, 64, 64))
        assert out.shape == (1, backbone.num_features) == (1, 1280)


def test_key_mapping_follows_the_stage_walk() -> None:
    assert block_positions((1, 2, 2))[:5] == [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1)]
    state = {
        "_conv_stem.weight": torch.zeros(1),
        "_blocks.0._depthwise_conv.weight": torch.zeros(1),
        "_blocks.0._bn1.weight": torch.zeros(1),
        "_blocks.1._expand_conv.weight": torch.zeros(1),
        "_blocks.1._bn0.weight": torch.zeros(1),
        "_blocks.1._project_conv.weight": torch.zeros(1),
        "_bn1.bias": torch.zeros(1),
        "_fc.weight": torch.zeros(1),
    }
    mapped = map_lite_keys(state, (1, 1))
    assert set(mapped) == {
        "conv_stem.weight",
        "blocks.0.0.conv_dw.weight",
        "blocks.0.0.bn1.weight",  # first block: _bn1 -> bn1
        "blocks.1.0.conv_pw.weight",
        "blocks.1.0.bn1.weight",  # expanded block: _bn0 -> bn1
        "blocks.1.0.conv_pwl.weight",
        "bn2.bias",  # top-level _bn1 -> bn2
    }
