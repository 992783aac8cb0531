"""Property tests: any generated network survives save -> load and code -> spec unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerlab.build import build
from layerlab.codegen import from_code, to_code
from layerlab.config import Limits
from layerlab.forward import forward
from layerlab.io import load_state_dict, save_state_dict
from layerlab.layers import default_registry
from layerlab.spec import parse_spec
from tests.conftest import CPU

REGISTRY = default_registry()
LIMITS = Limits()
ACTIVATIONS = ["ReLU", "Tanh", "GELU", "Sigmoid", "Identity", "SiLU", "CenteredLayer"]


@st.composite
def networks(draw) -> dict:
    """Chains of (lazy) linear layers, activations, norms, nested blocks and a tied square layer."""
    width = start = draw(st.integers(1, 6))
    layers: list[dict] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["linear", "lazy", "act", "norm", "block"]))
        out = draw(st.integers(1, 6))
        if kind == "linear":
            layers.append({"type": "Linear", "in_features": width, "out_features": out,
                           "bias": draw(st.booleans())})
            width = out
        elif kind == "lazy":
            layers.append({"type": "LazyLinear", "out_features": out})
            width = out
        elif kind == "act":
            layers.append({"type": draw(st.sampled_from(ACTIVATIONS))})
        elif kind == "norm":
            layers.append({"type": "LayerNorm", "normalized_shape": [width]})
        else:
            layers.append({"type": "Sequential", "layers": [
                {"type": "Linear", "in_features": width, "out_features": out}, {"type": "Tanh"}]})
            width = out
    if draw(st.booleans()):
        layers += [{"type": "Linear", "in_features": width, "out_features": width, "name": "sq"},
                   {"type": "ReLU"}, {"tie": "sq"}]
    return {"name": "generated", "input_shape": [start], "layers": layers}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.sampled_from(["pt", "safetensors"]), st.integers(0, 2**31))
def test_save_then_load_gives_the_same_outputs(spec, fmt, seed):
    net = build(parse_spec({**spec, "seed": seed}), REGISTRY, LIMITS, CPU)
    clone = build(parse_spec({**spec, "seed": seed + 1}), REGISTRY, LIMITS, CPU)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"params.{fmt}"
        save_state_dict(net, path, fmt)
        load_state_dict(clone, path, LIMITS)
    x = torch.randn(3, *spec["input_shape"]).tolist()
    assert forward(net, REGISTRY, LIMITS, data=x)["output"] == forward(clone, REGISTRY, LIMITS, data=x)["output"]


@settings(max_examples=40, deadline=None)
@given(networks())
def test_code_round_trip_keeps_the_structure(spec):
    parsed = parse_spec(spec)
    again = parse_spec(from_code(to_code(parsed, REGISTRY), REGISTRY, LIMITS))
    assert again.input_shape == parsed.input_shape
    assert [e.dump() for e in again.layers] == [e.dump() for e in parsed.layers]
