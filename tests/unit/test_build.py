"""Building: ties, nested blocks, counting before allocating, shapes and their errors, limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from layerlab.build import ShapeError, build, estimate, materialize
from layerlab.config import Limits
from layerlab.errors import LimitError, NotMaterializedError, SpecError
from layerlab.init import apply_init
from layerlab.inspection import state_dict
from layerlab.spec import parse_init, parse_spec
from tests.conftest import CPU
from tests.specs import SEED_NET, TIED_NET

GOLDEN = sorted((Path(__file__).parent.parent / "golden").glob("*.json"))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden_spec_errors(path, registry, limits):
    case = json.loads(path.read_text())
    with pytest.raises(SpecError) as caught:
        build(parse_spec(case["spec"]), registry, limits, CPU)
    assert caught.value.errors == case["errors"]


def test_golden_files_exist():
    assert len(GOLDEN) >= 4


def test_an_oversized_network_is_refused_before_allocation(registry):
    spec = parse_spec({"layers": [{"type": "Linear", "in_features": 1_000_000, "out_features": 1_000_000}]})
    with pytest.raises(LimitError) as caught:
        build(spec, registry, Limits(max_params=1_000_000), CPU)  # 4 TB if it were allocated
    assert caught.value.detail["actual"] == 1_000_001_000_000
    assert "max_params=1000000" in str(caught.value)


def test_lazy_layers_are_counted_from_the_input_shape(registry):
    spec = parse_spec({"input_shape": [100_000], "layers": [{"type": "LazyLinear", "out_features": 100_000}]})
    count, shapes = estimate(spec, registry, Limits(max_params=10**12))
    assert count == 100_000 * 100_000 + 100_000 and shapes == {"0": [100_000]}
    with pytest.raises(LimitError, match="10000100000"):
        build(spec, registry, Limits(max_params=1000), CPU)


def test_lazy_network_without_shape_waits_for_materialize(make_net, registry, limits):
    net = make_net(SEED_NET, input_shape=None)
    assert not net.materialized and net.param_count == 0
    assert [layer["output_shape"] for layer in net.layers()] == [None, None, None]
    with pytest.raises(NotMaterializedError, match="materialize"):
        apply_init(net, parse_init({"rules": [{"scheme": "zeros"}]}), limits)
    with pytest.raises(NotMaterializedError):
        state_dict(net, limits)
    net = materialize(net, [4], registry, limits)
    assert net.materialized and net.spec.input_shape == [4]
    assert type(net.module[0]) is nn.Linear and net.module[0].weight.shape == (8, 4)
    assert [layer["output_shape"] for layer in net.layers()] == [[8], [8], [1]]


def test_layers_report_ties_counts_and_shapes(make_net):
    net = make_net(TIED_NET)
    layers = net.layers()
    assert [layer["tied_to"] for layer in layers] == [None, None, None, None, "2", None, None]
    assert layers[4]["param_count"] == 72 and layers[4]["output_shape"] == [8]
    assert net.param_count == sum(p.numel() for p in net.module.parameters()) == 40 + 72 + 9


def test_nested_blocks_take_pytorchs_names(make_net):
    net = make_net({"input_shape": [3], "layers": [
        {"type": "Linear", "in_features": 3, "out_features": 4},
        {"type": "Sequential", "name": "block", "layers": [
            {"type": "Linear", "in_features": 4, "out_features": 4}, {"type": "Tanh"}]},
        {"tie": "block"}]})
    reference = nn.Sequential(nn.Linear(3, 4), block := nn.Sequential(nn.Linear(4, 4), nn.Tanh()), block)
    assert list(net.module.state_dict()) == list(reference.state_dict())
    assert [n for n, _ in net.module.named_parameters()] == [n for n, _ in reference.named_parameters()]
    assert [layer["address"] for layer in net.layers()] == ["0", "1", "1.0", "1.1", "2", "2.0", "2.1"]
    assert net.layers()[5]["tied_to"] == "1.0"


def test_a_tie_may_come_before_its_target(make_net):
    net = make_net({"input_shape": [2], "layers": [
        {"tie": "sq"}, {"type": "ReLU"}, {"type": "Linear", "in_features": 2, "out_features": 2, "name": "sq"}]})
    assert net.module[0] is net.module[2]
    assert [n for n, _ in net.module.named_parameters()] == ["0.weight", "0.bias"]


def test_shape_errors_name_the_layer_and_keep_the_shapes_before(make_net):
    with pytest.raises(ShapeError) as caught:
        make_net({"input_shape": [4], "layers": [
            {"type": "Linear", "in_features": 4, "out_features": 3}, {"type": "ReLU"},
            {"type": "Linear", "in_features": 5, "out_features": 2}]})
    detail = caught.value.detail
    assert detail["layer"] == "2" and detail["input_shape"] == [3] and detail["expected"] == "(*, 5)"
    assert detail["layers_before"] == [{"address": "0", "output_shape": [3]}, {"address": "1", "output_shape": [3]}]
    assert "layer 2 (Linear)" in str(caught.value)


def test_the_same_seed_builds_the_same_parameters(make_net):
    a, b = make_net(SEED_NET, seed=9), make_net(SEED_NET, seed=9)
    for pa, pb in zip(a.module.parameters(), b.module.parameters(), strict=True):
        assert torch.equal(pa, pb)
    drawn = make_net(SEED_NET).spec.seed
    assert drawn is not None and 0 <= drawn < 2**53  # JavaScript reads it back exactly


def test_dtype_applies_to_every_parameter(make_net):
    net = make_net(SEED_NET, dtype="float64")
    assert {p.dtype for p in net.module.parameters()} == {torch.float64}


@pytest.mark.parametrize(("limit", "spec"), [
    ("max_layers", {"layers": [{"type": "ReLU"}] * 5}),
    ("max_depth", {"layers": [{"type": "Sequential", "layers": [{"type": "Sequential", "layers": [
        {"type": "Sequential", "layers": [{"type": "ReLU"}]}]}]}]}),
])
def test_structure_limits(limit, spec, registry):
    with pytest.raises(LimitError) as caught:
        build(parse_spec(spec), registry, Limits(max_layers=4, max_depth=2), CPU)
    assert caught.value.limit == limit


def test_a_huge_input_is_refused_before_the_dry_run(registry):
    spec = parse_spec({"input_shape": [10**9], "layers": [{"type": "ReLU"}]})
    with pytest.raises(LimitError) as caught:
        build(spec, registry, Limits(), CPU)
    assert caught.value.limit == "max_activation_elements"


def test_an_input_shape_without_its_channels_is_explained(registry, limits):
    """Conv2d takes unbatched (C, H, W) too: [28, 28] with a batch would read the batch as channels."""
    spec = parse_spec({"input_shape": [28, 28], "layers": [{"type": "LazyConv2d", "out_channels": 8,
                                                             "kernel_size": 3}]})
    with pytest.raises(ShapeError, match=r"add it: \[1, 28, 28\]"):
        build(spec, registry, limits, CPU)
    assert build(parse_spec({**spec.dump(), "input_shape": [1, 28, 28]}), registry, limits, CPU).output_shapes == {
        "0": [8, 26, 26]}
