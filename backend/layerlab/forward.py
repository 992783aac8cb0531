"""A forward pass with per-position activation stats and histograms.

The walk is ``build.run_positions`` (what ``nn.Sequential.forward`` does), so a tied module
reports once per position it sits at. Nothing about the model changes: the pass runs without
gradients, and in ``train`` mode the buffers that batch statistics update are put back after.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from .build import Network, check_activations, check_flops, eval_mode, probe, run_positions
from .config import Limits
from .errors import LimitError, NotMaterializedError, SpecError
from .inspection import check_bins, json_values, summarize
from .layers import Registry
from .rng import generator, global_seed, new_seed

RELU_LIKE = (nn.ReLU, nn.ReLU6)


def make_input(net: Network, data: Any, batch: int, gen: torch.Generator, limits: Limits) -> torch.Tensor:
    """The given input (nested lists, batch first) or a seeded random batch of ``input_shape``.

    Checked on the host before it reaches the device: counts, shape, and for an Embedding
    the index range (an index out of range on CUDA would poison the whole process).
    """
    shape = net.spec.input_shape
    embedding = next((m for _, m in net.positions() if isinstance(m, nn.Embedding)), None)
    index_input = net.input_tensor_kind() == "index"
    if data is None:
        if shape is None:
            raise SpecError.at("input", "the network has no input_shape: give an input or materialize first")
        _check_batch(batch, limits)
        full = (batch, *shape)
        if index_input and embedding is not None:
            return torch.randint(0, embedding.num_embeddings, full, generator=gen, device=net.device)
        return torch.randn(full, generator=gen, device=net.device, dtype=net.dtype)
    if not isinstance(data, list) or not data:
        raise SpecError.at("input", "give the input as nested lists of numbers, batch first")
    try:
        x = torch.tensor(data, dtype=torch.long if index_input else net.dtype)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise SpecError.at("input", f"not a rectangular array of numbers: {exc}") from None
    if x.numel() > limits.max_values:
        raise LimitError("max_values", limits.max_values, x.numel(), "the input's number of values")
    _check_batch(x.shape[0], limits)
    if shape is not None and list(x.shape[1:]) != list(shape):
        raise SpecError.at("input", f"shape {list(x.shape)}: expected (batch, {', '.join(map(str, shape))})")
    if index_input and embedding is not None and x.numel() and not (int(x.min()) >= 0 and
                                                                    int(x.max()) < embedding.num_embeddings):
        raise SpecError.at("input", f"indices must lie in 0..{embedding.num_embeddings - 1} for the Embedding")
    return x.to(net.device)


def _check_batch(batch: int, limits: Limits) -> None:
    if batch < 1:
        raise SpecError.at("batch", "must be at least 1")
    if batch > limits.max_batch:
        raise LimitError("max_batch", limits.max_batch, batch, "the batch size")


def forward(net: Network, registry: Registry, limits: Limits, data: Any = None, batch: int = 2,
            seed: int | None = None, mode: Literal["eval", "train"] = "eval", bins: int = 30) -> dict[str, Any]:
    """Run the network; return the output and, per position, the activation shape, stats and histogram.

    The pass is sized on ``meta`` first (activations and FLOPs against their limits). ReLU-like
    positions also report ``dead_fraction``: the share of units that are zero for every sample.
    """
    if not net.materialized:
        raise NotMaterializedError("a forward pass")
    check_bins(bins, limits)
    seed = seed if seed is not None else new_seed()
    x = make_input(net, data, batch, generator(seed, net.device), limits)
    sample = list(x.shape[1:])
    sized = net if sample == net.spec.input_shape and net.flops_per_sample is not None else \
        probe(net.spec.model_copy(update={"input_shape": sample}), registry, limits)
    check_activations(sample, sized.output_shapes, x.shape[0], limits)
    check_flops(sized.flops_per_sample, x.shape[0], limits)
    activations: list[dict[str, Any]] = []

    def visit(address: str, module: nn.Module, y: torch.Tensor) -> None:
        summary = summarize(y, bins)
        histogram = {"edges": summary.edges, "counts": summary.counts}
        entry: dict[str, Any] = {"layer": address, "type": type(module).__name__, "shape": list(y.shape),
                                 "stats": summary.stats, "histogram": histogram}
        if isinstance(module, RELU_LIKE) and y.dim() >= 1 and y.shape[0] > 0:
            entry["dead_fraction"] = float((y.reshape(y.shape[0], -1) <= 0).all(dim=0).float().mean())
        activations.append(entry)

    with torch.no_grad():
        if mode == "eval":  # no randomness in eval mode: no global RNG lock either
            with eval_mode(net.module):
                out = run_positions(net.module, x, visit)
        else:
            buffers = {k: b.detach().clone() for k, b in net.module.state_dict(keep_vars=True).items()
                       if not isinstance(b, nn.Parameter)}
            try:
                with global_seed(seed, net.device):
                    out = run_positions(net.module, x, visit)
            finally:  # batch statistics moved the running stats: put them back, failed pass or not
                for key, saved in buffers.items():
                    net.module.get_buffer(key).copy_(saved)
    if out.numel() > limits.max_values:
        raise LimitError("max_values", limits.max_values, out.numel(), "the output's number of values")
    return {"seed": seed, "mode": mode, "input_shape": list(x.shape), "output": json_values(out),
            "shape": list(out.shape), "activations": activations}
