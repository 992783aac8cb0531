"""A forward pass with per-position activation stats and histograms.

The walk is ``build.run_positions`` (what ``nn.Sequential.forward`` does), so a tied module
reports once per position it sits at. Nothing about the model changes: the pass runs without
gradients, and in ``train`` mode the buffers that batch statistics update are put back after.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from .build import Network, check_activations, eval_mode, run_positions
from .config import Limits
from .errors import LimitError, NotMaterializedError, SpecError
from .inspection import check_bins, json_values, summarize
from .rng import generator, global_seed, new_seed

RELU_LIKE = (nn.ReLU, nn.ReLU6)


def make_input(net: Network, data: Any, batch: int, gen: torch.Generator, limits: Limits) -> torch.Tensor:
    """The given input (nested lists, batch first) or a seeded random batch of ``input_shape``."""
    shape = net.spec.input_shape
    index_input = net.input_tensor_kind() == "index"
    if data is None:
        if shape is None:
            raise SpecError.at("input", "the network has no input_shape: give an input or materialize first")
        if not 1 <= batch <= limits.max_batch:
            raise LimitError("max_batch", limits.max_batch, batch, "the batch size") if batch > 1 else \
                SpecError.at("batch", "must be at least 1")
        full = (batch, *shape)
        if index_input:
            high = next(m for _, m in net.positions() if isinstance(m, nn.Embedding)).num_embeddings
            return torch.randint(0, high, full, generator=gen, device=net.device)
        return torch.randn(full, generator=gen, device=net.device, dtype=net.dtype)
    try:
        x = torch.tensor(data, dtype=torch.long if index_input else net.dtype, device=net.device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise SpecError.at("input", f"not a rectangular array of numbers: {exc}") from None
    if x.numel() > limits.max_values:
        raise LimitError("max_values", limits.max_values, x.numel(), "the input's number of values")
    if shape is not None and list(x.shape[1:]) != list(shape):
        raise SpecError.at("input", f"shape {list(x.shape)}: expected (batch, {', '.join(map(str, shape))})")
    return x


def forward(net: Network, limits: Limits, data: Any = None, batch: int = 2, seed: int | None = None,
            mode: Literal["eval", "train"] = "eval", bins: int = 30) -> dict[str, Any]:
    """Run the network; return the output and, per position, the activation shape, stats and histogram.

    ReLU-like positions also report ``dead_fraction``: the share of units that are zero for
    every sample of the batch.
    """
    if not net.materialized:
        raise NotMaterializedError("a forward pass")
    check_bins(bins, limits)
    seed = seed if seed is not None else new_seed()
    if net.spec.input_shape is not None:
        check_activations(net.spec.input_shape, net.output_shapes, len(data) if data is not None else batch, limits)
    x = make_input(net, data, batch, generator(seed, net.device), limits)
    activations: list[dict[str, Any]] = []

    def visit(address: str, module: nn.Module, y: torch.Tensor) -> None:
        summary = summarize(y, bins)
        entry: dict[str, Any] = {"layer": address, "type": type(module).__name__, "shape": list(y.shape),
                 "stats": summary.stats, "histogram": {"edges": summary.edges, "counts": summary.counts}}
        if isinstance(module, RELU_LIKE) and y.dim() >= 1 and y.shape[0] > 0:
            entry["dead_fraction"] = float((y.reshape(y.shape[0], -1) <= 0).all(dim=0).float().mean())
        activations.append(entry)

    buffers = {k: b.detach().clone() for k, b in net.module.state_dict().items() if k.endswith(("running_mean",
               "running_var", "num_batches_tracked"))}
    with torch.no_grad(), global_seed(seed, net.device):
        if mode == "eval":
            with eval_mode(net.module):
                out = run_positions(net.module, x, visit)
        else:
            out = run_positions(net.module, x, visit)
            for key, saved in buffers.items():
                net.module.get_buffer(key).copy_(saved)
    if out.numel() > limits.max_values:
        raise LimitError("max_values", limits.max_values, out.numel(), "the output's number of values")
    return {"seed": seed, "mode": mode, "input_shape": list(x.shape), "output": json_values(out),
            "shape": list(out.shape), "activations": activations}
