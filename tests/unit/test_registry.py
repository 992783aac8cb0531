"""Every registered layer type builds, materializes, initializes, saves and reloads (timm-style)."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from layerlab.build import build
from layerlab.codegen import from_code, to_code
from layerlab.init import apply_init
from layerlab.io import load_state_dict, save_state_dict
from layerlab.layers import LayerType, default_registry
from layerlab.spec import parse_init, parse_spec
from tests.conftest import CPU

TYPES = list(default_registry())


def spec_for(t: LayerType, seed: int = 0) -> dict:
    return {"name": t.name, "seed": seed, "input_shape": t.example_input,
            "layers": [{"type": t.name, **t.example}]}


def oracle_shape(t: LayerType) -> list[int]:
    """What plain PyTorch gives for the example input (batch of 2, eval mode)."""
    module = t.cls(**t.example).eval()
    assert t.example_input is not None
    x = (torch.randint(0, 3, (2, *t.example_input)) if t.input_kind == "index"
         else torch.randn(2, *t.example_input))
    with torch.no_grad():
        return list(module(x).shape[1:])


def test_the_catalog_has_every_type_the_product_promises(registry):
    promised = [
        "Linear", "LazyLinear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
        "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
        "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "LazyBatchNorm1d", "LazyBatchNorm2d",
        "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "Dropout", "Dropout1d", "Dropout2d", "Flatten",
        "Unflatten", "Identity", "Embedding", "ReLU", "LeakyReLU", "PReLU", "ReLU6", "ELU", "SELU", "CELU", "GELU",
        "SiLU", "Mish", "Sigmoid", "Tanh", "Hardtanh", "Softplus", "Softsign", "Softmax", "LogSoftmax", "MyLinear",
        "CenteredLayer",
    ]
    assert set(promised) <= {t.name for t in registry}
    for entry in registry.catalog():
        assert entry["doc"] and entry["schema"]["type"] == "object" and entry["category"]


@pytest.mark.parametrize("t", TYPES, ids=lambda t: t.name)
def test_layer_type_round_trip(t: LayerType, registry, limits, tmp_path):
    net = build(parse_spec(spec_for(t, seed=1)), registry, limits, CPU)
    if t.example_input is None:  # Bilinear takes two inputs, which nn.Sequential cannot pass
        assert t.inputs == 2 and not t.lazy
    else:
        assert net.materialized
        assert net.output_shapes["0"] == oracle_shape(t)
    if t.example_input is not None:  # a materialized LazyLinear is a Linear, as in PyTorch
        assert type(net.module[0]).__name__ == t.cls.__name__.removeprefix("Lazy")

    has_params = any(True for _ in net.module.parameters())
    if has_params:
        report = apply_init(net, parse_init({"seed": 5, "rules": [{"scheme": "normal", "std": 0.5}]}), limits)
        assert report["applied"][0]["params"]
    for fmt in ("pt", "safetensors"):
        path = tmp_path / f"params.{fmt}"
        save_state_dict(net, path, fmt)
        fresh = build(parse_spec(spec_for(t, seed=2)), registry, limits, CPU)
        load_state_dict(fresh, path, limits)
        for (k1, v1), (k2, v2) in zip(net.module.state_dict().items(), fresh.module.state_dict().items(), strict=True):
            assert k1 == k2 and torch.equal(v1, v2)

    again = from_code(to_code(net.spec, registry), registry, limits)
    rebuilt = build(parse_spec(again), registry, limits, CPU)
    assert [(k, v.shape) for k, v in rebuilt.module.state_dict().items()] == \
           [(k, v.shape) for k, v in net.module.state_dict().items()]


@pytest.mark.parametrize("t", [t for t in TYPES if t.lazy], ids=lambda t: t.name)
def test_lazy_types_wait_for_a_shape(t: LayerType, registry, limits):
    net = build(parse_spec({**spec_for(t), "input_shape": None}), registry, limits, CPU)
    assert not net.materialized
    assert type(net.module[0]) is t.cls


def test_a_plugin_module_registers_its_own_type(tmp_path, monkeypatch, limits):
    (tmp_path / "team_layers.py").write_text(textwrap.dedent('''
        import torch
        from torch import nn

        class Scale(nn.Module):
            """Multiplies by a learned scalar."""
            def __init__(self, init: float = 1.0):
                super().__init__()
                self.scale = nn.Parameter(torch.tensor(init))
            def forward(self, x):
                return x * self.scale

        def register(registry):
            registry.add(Scale, category="team", example={"init": 2.0}, example_input=[3])
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = default_registry(["team_layers"])
    assert registry.get("Scale").category == "team"
    assert registry.get("Scale").doc == "Multiplies by a learned scalar."
    net = build(parse_spec({"input_shape": [3], "layers": [{"type": "Scale", "init": 2.0}]}), registry, limits, CPU)
    assert net.module[0].scale.item() == 2.0
    assert "from team_layers import Scale as Scale" in to_code(net.spec, registry)
    sys.modules.pop("team_layers", None)


def test_a_plugin_without_register_is_refused(tmp_path, monkeypatch):
    (tmp_path / "not_a_plugin.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="register"):
        default_registry(["not_a_plugin"])
