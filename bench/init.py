"""Initialization of a 100M-parameter layer: LayerLab's rules against bare torch.nn.init, same run.

    python -m bench.init [--features 10000]

Each row times the same work both ways (best of 3) and prints the ratio.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import nn

from bench.timing import best_of
from layerlab.build import build
from layerlab.config import Limits
from layerlab.init import apply_init
from layerlab.layers import default_registry
from layerlab.spec import parse_init, parse_spec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=10_000)
    parser.add_argument("--rollback", action="store_true", help="keep copies to roll back a failed call")
    args = parser.parse_args()
    n = args.features
    limits = Limits(max_params=10**10)
    spec = parse_spec({"seed": 0, "input_shape": [n], "layers": [
        {"type": "Linear", "in_features": n, "out_features": n}]})
    net = build(spec, default_registry(), limits, torch.device("cpu"))
    weight = net.module[0].weight
    bare_weight = torch.empty_like(weight)

    def ours(rules: list[dict]) -> Callable[[], object]:
        request = parse_init({"seed": 1, "rules": rules})
        return lambda: apply_init(net, request, limits, rollback=args.rollback)

    def bare_expression() -> None:
        with torch.no_grad():
            bare_weight.uniform_(-10, 10, generator=torch.Generator().manual_seed(1))
            bare_weight.mul_(bare_weight.abs() >= 5)

    rows = [
        ("normal(0, 0.01)", ours([{"param": "weight", "scheme": "normal", "std": 0.01}]),
         lambda: nn.init.normal_(bare_weight, 0, 0.01, generator=torch.Generator().manual_seed(1))),
        ("kaiming_uniform", ours([{"param": "weight", "scheme": "kaiming_uniform"}]),
         lambda: nn.init.kaiming_uniform_(bare_weight, generator=torch.Generator().manual_seed(1))),
        ("my_init (uniform + expression)", ours([
            {"param": "weight", "scheme": "uniform", "a": -10, "b": 10},
            {"param": "weight", "scheme": "expression", "expr": "w * (abs(w) >= 5)"}]), bare_expression),
    ]
    print(f"Linear({n}, {n}): {weight.numel():,} weights, rollback copies {'on' if args.rollback else 'off'}, "
          f"threads={torch.get_num_threads()}")
    for name, mine, theirs in rows:
        a, b = best_of(mine), best_of(theirs)
        print(f"{name:32} layerlab {a:6.3f} s   bare {b:6.3f} s   ratio {a / b:5.2f}")


if __name__ == "__main__":
    main()
