"""Stats + histogram of one large tensor: LayerLab's summarize against bare PyTorch, same run.

    python -m bench.stats [--numel 100000000] [--bins 50]

Prints seconds and ratios: against the memory-bandwidth floor (one torch.aminmax pass) and
against the obvious PyTorch way (histc plus separate mean/std/min/max/norm/zero-count calls).
"""

from __future__ import annotations

import argparse

import torch

from bench.timing import best_of
from layerlab.inspection import summarize


def bare_pytorch(t: torch.Tensor, bins: int) -> None:
    torch.histc(t, bins=bins)
    t.mean(), t.std(), t.min(), t.max(), t.norm(), (t == 0).sum()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numel", type=int, default=100_000_000)
    parser.add_argument("--bins", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    t = torch.randn(args.numel, generator=torch.Generator().manual_seed(0))
    floor = best_of(lambda: torch.aminmax(t), args.repeat)
    bare = best_of(lambda: bare_pytorch(t, args.bins), args.repeat)
    ours = best_of(lambda: summarize(t, args.bins), args.repeat)
    print(f"tensor: {args.numel:,} float32 ({t.numel() * 4 / 1e6:.0f} MB), {args.bins} bins, "
          f"threads={torch.get_num_threads()}")
    print(f"floor (one aminmax pass)          {floor:8.3f} s")
    print(f"bare PyTorch (histc + 6 stats)    {bare:8.3f} s")
    print(f"layerlab summarize                {ours:8.3f} s")
    print(f"ratio summarize / bare PyTorch    {ours / bare:8.2f}")
    print(f"ratio summarize / floor           {ours / floor:8.2f}")


if __name__ == "__main__":
    main()
