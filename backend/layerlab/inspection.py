"""Parameters, state-dict views, stats and histograms, computed where the tensors live.

Stats and histograms take two passes over a tensor whatever its size: one ``aminmax`` over the
whole tensor, then one pass over chunks of about a million elements (in a reused float64
buffer) that accumulates the moments (Chan's parallel update, exact for constant tensors),
the count of zeros and a ``bincount``. Only the small results leave the device.
(Named ``inspection`` rather than ``inspect`` so as not to shadow the standard library.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .build import Network
from .config import Limits
from .errors import LimitError, NotFoundError, NotMaterializedError, SpecError

CHUNK = 1 << 20


def json_float(x: float) -> float | str:
    """JSON has no NaN or Infinity: they travel as the strings "NaN", "Infinity", "-Infinity"."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def json_values(t: torch.Tensor) -> Any:
    """``tolist()``, with non-finite floats as strings (see ``json_float``)."""
    values = t.detach().cpu().tolist()
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        return _map_floats(values)
    return values


def _map_floats(values: Any) -> Any:
    if isinstance(values, list):
        return [_map_floats(v) for v in values]
    return json_float(values) if isinstance(values, float) else values


@dataclass
class Summary:
    stats: dict[str, Any]
    edges: list[float | str] | None = None
    counts: list[int] | None = None

    def histogram(self) -> dict[str, Any]:
        return {"edges": self.edges, "counts": self.counts, "stats": self.stats}


def summarize(t: torch.Tensor, bins: int | None = None, value_range: tuple[float, float] | None = None) -> Summary:
    """Stats of a tensor (over its finite values) and, with ``bins``, its histogram.

    Stats: count, mean, std (Bessel-corrected, as ``torch.std``), min, max, norm (L2), the
    fraction of zeros and the counts of NaN and Inf. Values outside a given range are left out
    of the histogram, as ``numpy.histogram`` does.
    """
    flat = t.detach().reshape(-1)
    if not flat.is_floating_point():
        flat = flat.double()
    n = flat.numel()
    nan = inf = 0
    if n:
        lo_t, hi_t = torch.aminmax(flat)
        if not (math.isfinite(lo_t.item()) and math.isfinite(hi_t.item())):
            nan = int(torch.isnan(flat).sum())
            inf = int(torch.isinf(flat).sum())
            flat = flat[torch.isfinite(flat)]
            n = flat.numel()
    stats: dict[str, Any]
    if n == 0:
        stats = {"count": 0, "mean": None, "std": None, "min": None, "max": None, "norm": 0.0,
                 "zero_fraction": None, "nan": nan, "inf": inf}
        return Summary(stats, *( _empty_histogram(bins, value_range) if bins else (None, None)))
    lo, hi = (float(v) for v in torch.aminmax(flat))
    hist_lo, hist_hi = value_range if value_range else (lo, hi)
    if hist_lo == hist_hi:
        hist_lo, hist_hi = hist_lo - 0.5, hist_hi + 0.5
    total, mean, m2, zeros, counts = _moments_and_counts(flat, bins, hist_lo, hist_hi)
    std = math.sqrt(max(m2, 0.0) / (total - 1)) if total > 1 else None
    if lo == hi:
        std = 0.0 if total > 1 else None
    stats = {"count": total, "mean": json_float(mean), "std": None if std is None else json_float(std),
             "min": lo, "max": hi, "norm": json_float(math.sqrt(max(m2 + total * mean * mean, 0.0))),
             "zero_fraction": zeros / total, "nan": nan, "inf": inf}
    if not bins:
        return Summary(stats)
    edges = [json_float(hist_lo + (hist_hi - hist_lo) * i / bins) for i in range(bins + 1)]
    return Summary(stats, edges, counts)


def _empty_histogram(bins: int, value_range: tuple[float, float] | None) -> tuple[list[float], list[int]]:
    lo, hi = value_range or (0.0, 1.0)
    return [lo + (hi - lo) * i / bins for i in range(bins + 1)], [0] * bins


def _moments_and_counts(flat: torch.Tensor, bins: int | None, lo: float, hi: float
                        ) -> tuple[int, float, float, int, list[int] | None]:
    """One chunked pass: count, mean and M2 (Chan et al.), zeros, and bin counts.

    Buffers are allocated once and reused (fresh memory costs a page fault per 4 kB). Values
    below ``lo`` or above ``hi`` (a fixed range) land in two overflow bins that are dropped.
    """
    device, size = flat.device, min(CHUNK, flat.numel())
    buf = torch.empty(size, dtype=torch.float64, device=device)
    dev = torch.empty_like(buf)
    index = torch.empty(size, dtype=torch.int64, device=device)
    bins = bins or 0
    counts = torch.zeros(bins + 2, dtype=torch.int64, device=device)
    total, mean, m2, nonzero = 0, 0.0, 0.0, 0
    scale = bins / (hi - lo) if bins else 0.0
    for start in range(0, flat.numel(), CHUNK):
        chunk = flat[start:start + CHUNK]
        k = chunk.numel()
        x, d, i = buf[:k], dev[:k], index[:k]
        x.copy_(chunk)
        chunk_mean = x.mean()
        torch.sub(x, chunk_mean, out=d)
        chunk_m2, cm = float(torch.dot(d, d)), float(chunk_mean)
        delta = cm - mean
        new_total = total + k
        mean += delta * k / new_total
        m2 += chunk_m2 + delta * delta * total * k / new_total
        total = new_total
        nonzero += int(torch.count_nonzero(chunk))
        if bins:
            torch.sub(x, lo, out=d).mul_(scale).floor_()
            d.masked_fill_(x == hi, bins - 1)  # the top edge belongs to the last bin
            d.clamp_(-1, bins).add_(1)
            i.copy_(d)
            counts += torch.bincount(i, minlength=bins + 2)
    return total, mean, m2, total - nonzero, counts[1:-1].tolist() if bins else None


def stats(t: torch.Tensor) -> dict[str, Any]:
    return summarize(t).stats


# --- views of a network ---------------------------------------------------------------------

def _require_values(net: Network, what: str) -> None:
    if not net.materialized:
        raise NotMaterializedError(what)


def tensor_aliases(net: Network) -> dict[str, list[str]]:
    """Canonical state-dict key -> every key that holds the same tensor object (first key first).

    Grouped by the tensors themselves, so a tie in the spec and a weight that a plugin module
    shares between two of its submodules are found alike.
    """
    groups: dict[int, list[str]] = {}
    for key, tensor in net.module.state_dict(keep_vars=True).items():
        groups.setdefault(id(tensor), []).append(key)
    return {keys[0]: keys for keys in groups.values()}


def parameters(net: Network, with_stats: bool = True) -> list[dict[str, Any]]:
    """``named_parameters()``: each shared tensor once, with its tied aliases."""
    aliases = tensor_aliases(net)
    out = []
    for name, p in net.module.named_parameters():
        lazy = torch.nn.parameter.is_lazy(p)
        out.append({"name": name, "layer": name.rsplit(".", 1)[0], "shape": None if lazy else list(p.shape),
                    "dtype": str(p.dtype).removeprefix("torch."), "numel": None if lazy else p.numel(),
                    "requires_grad": p.requires_grad, "tied": aliases.get(name, [name])[1:],
                    "stats": stats(p) if with_stats and not lazy else None})
    return out


def resolve(net: Network, name: str) -> torch.Tensor:
    """A parameter or buffer by any of its state-dict keys (``4.weight`` of a tie is ``2.weight``)."""
    state = net.module.state_dict(keep_vars=True)
    if name not in state:
        raise NotFoundError(f"no parameter or buffer named {name!r}; names: {', '.join(state)}")
    return state[name]


def state_dict(net: Network, limits: Limits, layer: str | None = None) -> dict[str, dict[str, Any]]:
    """``net.state_dict()`` (or ``net[layer].state_dict()``) with values, within ``max_values``."""
    _require_values(net, "reading values")
    module = net.module
    if layer is not None:
        found = dict(net.positions()).get(layer)
        if found is None:
            raise NotFoundError(f"no layer at address {layer!r}")
        module = found  # type: ignore[assignment]
    state = module.state_dict()
    total = sum(t.numel() for t in state.values())
    if total > limits.max_values:
        raise LimitError("max_values", limits.max_values, total, "the number of values in the state dict")
    return {k: {"shape": list(t.shape), "dtype": str(t.dtype).removeprefix("torch."), "values": json_values(t)}
            for k, t in state.items()}


def values_page(net: Network, name: str, offset: int, limit: int | None, limits: Limits) -> dict[str, Any]:
    """A page of one tensor's values, flattened in row-major order."""
    _require_values(net, "reading values")
    tensor = resolve(net, name)
    if offset < 0 or (limit is not None and limit < 0):
        raise SpecError.at("offset" if offset < 0 else "limit", "must be at least 0")
    count = tensor.numel() - offset if limit is None else min(limit, tensor.numel() - offset)
    if count > limits.max_values:
        raise LimitError("max_values", limits.max_values, count, "the page's number of values")
    page = tensor.detach().reshape(-1)[offset:offset + max(count, 0)]
    return {"name": name, "shape": list(tensor.shape), "offset": offset, "total": tensor.numel(),
            "values": json_values(page)}


def set_element(net: Network, name: str, index: list[int], value: float) -> dict[str, Any]:
    """``net[...].weight.data[i, j] = value``; every alias sees it, since it is one tensor."""
    _require_values(net, "setting values")
    tensor = resolve(net, name)
    if not isinstance(tensor, torch.nn.Parameter):
        raise NotFoundError(f"{name} is a buffer, not a parameter: only parameters are set one element at a time")
    if len(index) != tensor.dim():
        raise SpecError.at("index", f"{name} has {tensor.dim()} dimensions, the index {index} has {len(index)}")
    for axis, (i, size) in enumerate(zip(index, tensor.shape, strict=True)):
        if not 0 <= i < size:
            raise SpecError.at(f"index[{axis}]", f"{i} is outside 0..{size - 1} (the size of {name}'s axis {axis})")
    if not math.isfinite(float(torch.tensor(value, dtype=tensor.dtype))):
        raise SpecError.at("value", f"{value} is not a finite {str(tensor.dtype).removeprefix('torch.')}")
    with torch.no_grad():
        tensor[tuple(index)] = value
    return {"name": name, "index": index, "value": json_float(float(tensor.detach()[tuple(index)]))}


def histograms(net: Network, limits: Limits, bins: int = 30, names: list[str] | None = None,
               value_range: tuple[float, float] | None = None) -> dict[str, dict[str, Any]]:
    """Histogram and stats per parameter (each shared tensor once), optionally on a shared range."""
    _require_values(net, "computing histograms")
    check_bins(bins, limits)
    if value_range is not None and not (math.isfinite(value_range[0]) and math.isfinite(value_range[1])
                                        and value_range[0] < value_range[1]):
        raise SpecError.at("lo", f"the range {list(value_range)} must be finite with lo < hi")
    params = dict(net.module.named_parameters())
    chosen = list(dict.fromkeys(names)) if names else list(params)  # each name once
    return {n: summarize(resolve(net, n), bins, value_range).histogram() for n in chosen}


def check_bins(bins: int, limits: Limits) -> None:
    if bins < 1:
        raise SpecError.at("bins", "must be at least 1")
    if bins > limits.max_bins:
        raise LimitError("max_bins", limits.max_bins, bins, "the number of bins")

