"""A bundle whose embedding is the ImageNet-pretrained backbone, untouched by plants-v1.

    python benchmarks/imagenet_embedding_bundle.py --like model/releases/<dir> --out runs/imagenet-emb

Only for measuring galleries (``benchmarks/gallery_fewshot.py --embedding-model``): the
shipped bundle's embedding was fine-tuned with ornamental poppies among its labels, so a
gallery of ornamental poppies on it is an optimistic stand-in for a species the model never
saw. This bundle's embedding never saw any plants-v1 label. Its classifier head is random and
must never score anything: the card says so, and its name says so.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import torch

from plantscout.model import load_bundle
from plantscout.model.bundle import CARD_FILE, CARD_SCHEMA, ONNX_FILE, file_sha256
from plantscout.training.backbones import get_spec
from plantscout.training.config import DEFAULT_LABELS
from plantscout.training.network import build_network
from plantscout.training.onnx_export import export_onnx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--like", default=None, help="Bundle whose labels/card to copy.")
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the random head.")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    backbone = args.backbone
    if args.like:
        like = load_bundle(args.like)
        backbone = like.card.extra.get("training", {}).get("backbone") or backbone
        card = json.loads((like.path / CARD_FILE).read_text("utf-8"))
    else:  # no trained bundle yet: the training defaults' labels, the backbone's preprocessing
        card = {
            "schema": CARD_SCHEMA,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "onnx": {"file": ONNX_FILE},
            "labels": [{"key": k} for k in DEFAULT_LABELS],
            "preprocessing": get_spec(backbone).preprocessing.as_dict(),
            "decision": {"unusable_label": "background"},
        }
    torch.manual_seed(args.seed)
    net = build_network(backbone, len(card["labels"]), pretrained=True)
    args.out.mkdir(parents=True, exist_ok=True)
    export_onnx(net, args.out / ONNX_FILE, card["preprocessing"]["input_size"])
    card["name"] = f"imagenet-embedding-{backbone}"
    card["version"] = f"0.0.{args.seed}-benchmark"
    card["onnx"]["sha256"] = file_sha256(args.out / ONNX_FILE)
    card["onnx"]["embedding_dim"] = net.backbone.num_features
    card["architecture"] = f"{backbone}, ImageNet weights only; RANDOM classifier head"
    card["limitations"] = [
        {
            "zh": "仅用于评测参考图库：分类头是随机的",
            "en": "For gallery benchmarks only: random head",
        }
    ]
    (args.out / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), "utf-8")
    print(load_bundle(args.out).identity())


if __name__ == "__main__":
    main()
