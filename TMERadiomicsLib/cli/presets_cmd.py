"""``tmeradiomics presets``: the bundled extraction presets, their image types and feature counts."""

from __future__ import annotations

import argparse
import json



def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "presets",
        help="list the feature extraction presets",
        description="List the bundled PyRadiomics presets with their image types, the number of features "
        "each gives per region, and the SHA-256 that every feature table carries.",
    )
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(func=run)


def describe(name: str) -> dict:
    from ..features.catalogue import count_by_image_type, feature_names
    from ..features.presets import load_preset

    preset = load_preset(name)
    return {
        "name": preset.name,
        "image_types": list(preset.image_types),
        "features_per_region": len(feature_names(preset)),
        "features_by_image_type": count_by_image_type(preset),
        "sha256": preset.sha256,
        "path": str(preset.path),
    }


def run(args: argparse.Namespace) -> int:
    from ..features.presets import list_presets

    presets = [describe(name) for name in list_presets()]
    if args.json:
        print(json.dumps(presets, indent=2))
        return 0
    for item in presets:
        print(f"{item['name']:<10} {item['features_per_region']:>5} features/region  "
              f"sha256 {item['sha256'][:12]}  {', '.join(item['image_types'])}")
    return 0
