"""Stats and histograms against float64 PyTorch and NumPy; parameter views; setting elements."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from layerlab.config import Limits
from layerlab.errors import LimitError, NotFoundError, SpecError
from layerlab.inspection import CHUNK, histograms, parameters, set_element, state_dict, summarize, values_page
from tests.specs import TIED_NET

GEN = torch.Generator().manual_seed(0)


@pytest.mark.parametrize("tensor", [
    torch.randn(1000, generator=GEN) * 3 + 1,
    torch.randn(CHUNK + 17, generator=GEN),  # crosses a chunk boundary
    torch.rand(3, 5, 7, generator=GEN).double(),
    torch.full((9,), 42.0),
    torch.randn(64, generator=GEN).half(),
    torch.arange(10),
], ids=["normal", "two-chunks", "3d-float64", "constant", "float16", "int64"])
def test_stats_and_histogram_equal_the_oracles(tensor):
    summary = summarize(tensor, bins=20)
    oracle = tensor.double()
    s = summary.stats
    assert s["count"] == tensor.numel()
    assert math.isclose(s["mean"], oracle.mean().item(), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(s["std"], oracle.std().item(), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(s["norm"], oracle.norm().item(), rel_tol=1e-9)
    assert s["min"] == oracle.min().item() and s["max"] == oracle.max().item()
    assert s["zero_fraction"] == (oracle == 0).double().mean().item()
    lo, hi = s["min"], s["max"]
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(oracle.numpy(), bins=20, range=(lo, hi))
    assert summary.counts == counts.tolist()
    assert np.allclose(summary.edges, edges)


def test_a_fixed_range_leaves_out_values_outside_it():
    tensor = torch.tensor([-5.0, -1.0, 0.0, 0.5, 1.0, 7.0])
    summary = summarize(tensor, bins=4, value_range=(-1.0, 1.0))
    assert summary.counts == np.histogram(tensor.numpy(), bins=4, range=(-1, 1))[0].tolist() == [1, 0, 1, 2]


def test_non_finite_values_are_counted_and_left_out():
    summary = summarize(torch.tensor([1.0, float("nan"), float("inf"), -float("inf"), 3.0]), bins=2)
    assert summary.stats["nan"] == 1 and summary.stats["inf"] == 2
    assert summary.stats["mean"] == 2.0 and summary.counts == [1, 1]
    empty = summarize(torch.tensor([float("nan")]), bins=3)
    assert empty.stats["count"] == 0 and empty.counts == [0, 0, 0]


def test_parameters_list_each_shared_tensor_once_with_aliases(make_net):
    net = make_net(TIED_NET)
    listed = parameters(net)
    assert [p["name"] for p in listed] == [n for n, _ in net.module.named_parameters()]
    tied = {p["name"]: p["tied"] for p in listed}
    assert tied["2.weight"] == ["4.weight"] and tied["0.weight"] == []
    weight = next(p for p in listed if p["name"] == "0.weight")
    assert weight["shape"] == [8, 4] and weight["numel"] == 32 and weight["layer"] == "0"
    assert math.isclose(weight["stats"]["std"], net.module[0].weight.double().std().item(), rel_tol=1e-6)


def test_state_dict_lists_every_position_and_respects_the_limit(make_net):
    net = make_net(TIED_NET)
    view = state_dict(net, Limits())
    assert list(view) == list(net.module.state_dict())
    assert view["4.weight"]["values"] == net.module[2].weight.tolist()
    with pytest.raises(LimitError) as caught:
        state_dict(net, Limits(max_values=100))
    assert caught.value.limit == "max_values" and caught.value.actual == 40 + 72 + 72 + 9


def test_values_page(make_net):
    net = make_net(TIED_NET)
    page = values_page(net, "4.weight", offset=10, limit=5, limits=Limits())
    assert page["values"] == net.module[2].weight.reshape(-1)[10:15].tolist() and page["total"] == 64
    assert values_page(net, "2.bias", offset=6, limit=None, limits=Limits())["values"] == \
        net.module[2].bias.tolist()[6:]
    with pytest.raises(NotFoundError, match=r"names: 0\.weight"):
        values_page(net, "9.weight", 0, 1, Limits())
    with pytest.raises(LimitError):
        values_page(net, "2.weight", 0, None, Limits(max_values=10))


@pytest.mark.parametrize(("index", "path"), [([0], "index"), ([8, 0], "index[0]"), ([0, -1], "index[1]")])
def test_set_element_checks_the_index(make_net, index, path):
    with pytest.raises(SpecError) as caught:
        set_element(make_net(TIED_NET), "2.weight", index, 1.0)
    assert caught.value.errors[0]["path"] == path


def test_histograms_per_parameter_with_bins_and_limits(make_net):
    net = make_net(TIED_NET)
    result = histograms(net, Limits(), bins=7)
    assert list(result) == [n for n, _ in net.module.named_parameters()]
    assert all(len(h["counts"]) == 7 and len(h["edges"]) == 8 for h in result.values())
    assert sum(result["0.weight"]["counts"]) == 32
    shared = histograms(net, Limits(), bins=4, names=["4.weight"], value_range=(-1.0, 1.0))
    assert shared["4.weight"]["edges"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    with pytest.raises(LimitError):
        histograms(net, Limits(max_bins=10), bins=11)
