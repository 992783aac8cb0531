"""Exported code rebuilds the network (ties and all) and loads our files; source reads back to a spec."""

from __future__ import annotations

import pytest
import torch

from layerlab.build import build
from layerlab.codegen import CodeError, from_code, to_code
from layerlab.io import save_state_dict
from layerlab.spec import parse_spec
from tests.conftest import CPU
from tests.specs import MLP, TIED_NET

GUIDE_SOURCE = """
import torch
from torch import nn

# We need to give the shared layer a name so that we can refer to its parameters
shared = nn.LazyLinear(8)
net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(),
                    shared, nn.ReLU(),
                    shared, nn.ReLU(),
                    nn.LazyLinear(1))
X = torch.rand(size=(2, 4))
net(X)
"""


def run_exported(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<exported>", "exec"), namespace)  # our own generated code, in a test
    return namespace


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
@pytest.mark.parametrize("spec", [TIED_NET, MLP, {"input_shape": [4], "layers": [
    {"type": "MyLinear", "in_units": 4, "units": 3, "name": "my-layer"}, {"type": "CenteredLayer"},
    {"type": "Sequential", "name": "block", "layers": [{"type": "Linear", "in_features": 3, "out_features": 3}]},
    {"tie": "block"}, {"tie": "my-layer"}]}], ids=["tied", "mlp", "custom"])
def test_exported_code_loads_the_file_strictly(spec, fmt, make_net, tmp_path, limits):
    spec = {**spec, "layers": spec["layers"][:-1]} if spec["layers"][-1] == {"tie": "my-layer"} else spec
    net = make_net(spec)
    path = tmp_path / f"p.{fmt}"
    save_state_dict(net, path, fmt)
    namespace = run_exported(to_code(net.spec, net_registry := __import__("layerlab.layers").layers.default_registry()))
    plain = namespace["net"]
    if fmt == "pt":
        state = torch.load(path, weights_only=True)
    else:
        import safetensors.torch
        state = safetensors.torch.load_file(str(path))
    plain.load_state_dict(state, strict=True)
    x = torch.randn(3, *net.spec.input_shape)
    with torch.no_grad():
        assert torch.equal(plain.eval()(x), net.module.eval()(x))
    assert list(plain.state_dict()) == list(net.module.state_dict())
    assert net_registry is not None


def test_the_guides_source_reads_back_as_the_tied_spec(registry, limits):
    spec = from_code(GUIDE_SOURCE, registry, limits)
    assert spec == {"name": "net", "input_shape": [4], "layers": [
        {"type": "LazyLinear", "out_features": 8}, {"type": "ReLU"},
        {"type": "LazyLinear", "out_features": 8, "name": "shared"}, {"type": "ReLU"},
        {"tie": "shared"}, {"type": "ReLU"}, {"type": "LazyLinear", "out_features": 1}]}
    net = build(parse_spec(spec), registry, limits, CPU)
    assert net.module[2] is net.module[4]


def test_a_lone_example_input_gives_the_shape(registry, limits):
    spec = from_code("net = nn.Sequential(nn.LazyLinear(3))\nX = torch.randn(5, 2, 7)\n", registry, limits)
    assert spec["input_shape"] == [2, 7]
    two = from_code("net = nn.Sequential(nn.LazyLinear(3))\nX = torch.randn(5, 2)\nY = torch.ones(1, 4)\n",
                    registry, limits)
    assert "input_shape" not in two


def test_positional_and_prefixed_forms(registry, limits):
    spec = from_code("import torch\nnet = torch.nn.Sequential(torch.nn.Conv2d(3, 8, (3, 3), padding=1), "
                     "nn.Flatten(), nn.LeakyReLU(negative_slope=-0.5))\n", registry, limits)
    assert spec["layers"] == [{"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": [3, 3],
                               "padding": 1}, {"type": "Flatten"}, {"type": "LeakyReLU", "negative_slope": -0.5}]


@pytest.mark.parametrize(("source", "where", "what"), [
    ("import os\nos.system('touch /tmp/pwned')\n", "line 2, col 1", "only module assignments"),
    ("net = nn.Sequential(nn.Linear(4, n))\n", "line 1, col 34", "literal"),
    ("net = nn.Sequential(nn.Lineer(4, 2))\n", "line 1, col 21", "unknown layer type 'Lineer'"),
    ("net = nn.Sequential(\n    nn.Linear(4, 2),\n    other,\n)\n", "line 3, col 5", "not a module defined"),
    ("class Evil(nn.Module):\n    pass\n", "line 1, col 1", "not a registered layer type"),
    ("net = nn.Sequential(nn.Linear(4, 2)\n", "line 1", "not valid Python"),
    ("for i in range(3):\n    pass\n", "line 1, col 1", "For is not supported"),
    ("x = 1\n", "line 1, col 5", "must be a module"),
])
def test_source_outside_the_grammar_is_refused_with_line_and_column(source, where, what, registry, limits):
    with pytest.raises(CodeError) as caught:
        from_code(source, registry, limits)
    message = caught.value.errors[0]["msg"]
    assert where in message and what in message, message


def test_a_size_keyword_with_one_number(registry, limits):
    spec = from_code("net = nn.Sequential(nn.LazyLinear(3))\nX = torch.randn(size=5)\nnet(X)\n", registry, limits)
    assert spec["input_shape"] == []
