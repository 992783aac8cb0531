"""The builder's guide's examples, with plain PyTorch as the oracle for every answer."""

from __future__ import annotations

import torch
from torch import nn

from layerlab.forward import forward
from layerlab.init import apply_init
from layerlab.inspection import set_element, state_dict
from layerlab.io import load_state_dict, read_tensors, save_state_dict
from layerlab.spec import parse_init
from tests.specs import MLP, SEED_NET, TIED_NET


def torch_seed_net() -> nn.Sequential:
    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
    net(torch.rand(2, 4))
    return net


def test_named_parameters_are_pytorchs(make_net):
    net = make_net(SEED_NET)
    ours = [(name, tuple(p.shape)) for name, p in net.module.named_parameters()]
    theirs = [(name, tuple(p.shape)) for name, p in torch_seed_net().named_parameters()]
    assert ours == theirs == [("0.weight", (8, 4)), ("0.bias", (8,)), ("2.weight", (1, 8)), ("2.bias", (1,))]


def test_one_layers_state_dict(make_net, limits):
    net = make_net(SEED_NET)
    view = state_dict(net, limits, layer="2")
    expected = net.module[2].state_dict()
    assert list(view) == list(expected) == ["weight", "bias"]
    for key, tensor in expected.items():
        assert view[key]["shape"] == list(tensor.shape)
        assert view[key]["values"] == tensor.tolist()
    assert type(net.module[2].bias) is nn.Parameter


def test_tied_parameters_are_one_object(make_net):
    net = make_net(TIED_NET)
    assert torch.equal(net.module[2].weight.data[0], net.module[4].weight.data[0])
    set_element(net, "2.weight", [0, 0], 100.0)
    assert net.module[4].weight.data[0, 0] == 100
    assert net.module[2].weight is net.module[4].weight
    assert [n for n, _ in net.module.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias",
                                                              "6.weight", "6.bias"]
    assert "4.weight" in net.module.state_dict()


def test_setting_the_tied_twin_shows_in_the_first(make_net):
    net = make_net(TIED_NET)
    set_element(net, "4.weight", [1, 2], -3.5)
    assert net.module[2].weight.data[1, 2] == -3.5


def _oracle_apply(module: nn.Module, seed: int, steps) -> None:
    """Apply (tensor getter, fn, kwargs) steps in order with one generator, as our rules do."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for get, fn, kwargs in steps:
            fn(get(module), **kwargs, generator=gen) if "generator" in fn.__code__.co_varnames else fn(
                get(module), **kwargs)


def test_init_normal(make_net, limits):
    net = make_net(SEED_NET)
    oracle = make_net(SEED_NET)
    apply_init(net, parse_init({"seed": 7, "rules": [
        {"types": ["Linear"], "param": "weight", "scheme": "normal", "mean": 0, "std": 0.01},
        {"types": ["Linear"], "param": "bias", "scheme": "zeros"}]}), limits)
    _oracle_apply(oracle.module, 7, [
        (lambda m: m[0].weight, nn.init.normal_, {"mean": 0, "std": 0.01}),
        (lambda m: m[2].weight, nn.init.normal_, {"mean": 0, "std": 0.01}),
        (lambda m: m[0].bias, nn.init.zeros_, {}), (lambda m: m[2].bias, nn.init.zeros_, {})])
    for ours, theirs in zip(net.module.parameters(), oracle.module.parameters(), strict=True):
        assert torch.equal(ours, theirs)
    assert net.module[0].bias.data[0] == 0


def test_init_normal_distribution_on_a_large_layer(make_net, limits):
    net = make_net({"input_shape": [512], "layers": [{"type": "Linear", "in_features": 512, "out_features": 512}]})
    apply_init(net, parse_init({"seed": 1, "rules": [{"param": "weight", "scheme": "normal", "std": 0.01}]}), limits)
    w = net.module[0].weight
    assert abs(w.std().item() - 0.01) < 0.0002 and abs(w.mean().item()) < 0.0002


def test_init_constant(make_net, limits):
    net = make_net(SEED_NET)
    apply_init(net, parse_init({"rules": [{"types": ["Linear"], "param": "weight", "scheme": "constant", "val": 1},
                                          {"types": ["Linear"], "param": "bias", "scheme": "zeros"}]}), limits)
    assert torch.equal(net.module[0].weight.data[0], torch.ones(4))
    assert net.module[0].bias.data[0] == 0


def test_xavier_on_layer_0_and_42_on_layer_2(make_net, limits):
    net = make_net(SEED_NET)
    oracle = make_net(SEED_NET)
    apply_init(net, parse_init({"seed": 3, "rules": [
        {"layers": ["0"], "param": "weight", "scheme": "xavier_uniform"},
        {"layers": ["2"], "param": "weight", "scheme": "constant", "val": 42}]}), limits)
    _oracle_apply(oracle.module, 3, [(lambda m: m[0].weight, nn.init.xavier_uniform_, {})])
    assert torch.equal(net.module[0].weight, oracle.module[0].weight)
    bound = (6 / (4 + 8)) ** 0.5
    assert net.module[0].weight.abs().max() <= bound
    assert torch.equal(net.module[2].weight.data, torch.full((1, 8), 42.0))


def test_my_init_rule(make_net, limits):
    """uniform(-10, 10), then zero every weight under 5 in size: half zeros, the rest in [5, 10]."""
    spec = {"input_shape": [400], "layers": [{"type": "Linear", "in_features": 400, "out_features": 400}]}
    net, oracle = make_net(spec), make_net(spec)
    apply_init(net, parse_init({"seed": 11, "rules": [
        {"types": ["Linear"], "param": "weight", "scheme": "uniform", "a": -10, "b": 10},
        {"types": ["Linear"], "param": "weight", "scheme": "expression", "expr": "w * (abs(w) >= 5)"}]}), limits)
    with torch.no_grad():
        nn.init.uniform_(oracle.module[0].weight, -10, 10, generator=torch.Generator().manual_seed(11))
        oracle.module[0].weight.data *= oracle.module[0].weight.data.abs() >= 5
    w = net.module[0].weight.data
    assert torch.equal(w, oracle.module[0].weight.data)
    zeros = (w == 0).float().mean().item()
    assert abs(zeros - 0.5) < 0.01
    nonzero = w[w != 0].abs()
    assert nonzero.min() >= 5 and nonzero.max() <= 10
    assert abs((w >= 5).float().mean().item() - 0.25) < 0.01


def _save(obj, path):
    torch.save(obj, path)
    return path


def test_save_and_load_a_tensor_a_list_and_a_dict(tmp_path, limits):
    x, y = torch.arange(4), torch.zeros(4)
    _, x2 = read_tensors(_save(x, tmp_path / "x-file"), limits)
    assert torch.equal(x2, x)
    _, (x2, y2) = read_tensors(_save([x, y], tmp_path / "x-files"), limits)
    assert torch.equal(x2, x) and torch.equal(y2, y)
    _, mydict2 = read_tensors(_save({"x": x, "y": y}, tmp_path / "mydict"), limits)
    assert mydict2.keys() == {"x", "y"} and torch.equal(mydict2["y"], y)


def test_mlp_parameters_reload_into_a_clone(make_net, registry, limits, tmp_path):
    net = make_net(MLP, seed=1)
    X = torch.randn(size=(2, 20))
    Y = forward(net, registry, limits, data=X.tolist())["output"]
    path = tmp_path / "mlp.params"
    save_state_dict(net, path, "pt")
    plain = torch.load(path, weights_only=True)
    assert list(plain) == list(net.module.state_dict())
    clone = make_net(MLP, seed=2)
    assert forward(clone, registry, limits, data=X.tolist())["output"] != Y
    report = load_state_dict(clone, path, limits)
    assert report["missing"] == [] and report["unexpected"] == []
    assert forward(clone, registry, limits, data=X.tolist())["output"] == Y
    assert torch.equal(clone.module(X), net.module(X))
