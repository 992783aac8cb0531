"""Init rules: every torch.nn.init scheme equals calling it directly with the same generator."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from layerlab.config import Limits
from layerlab.errors import LimitError, SpecError
from layerlab.expr import ExpressionError
from layerlab.forward import forward
from layerlab.init import SCHEMES, apply_init, catalog
from layerlab.spec import parse_init
from tests.specs import TIED_NET

CONV = {"input_shape": [4, 9], "layers": [{"type": "Conv1d", "in_channels": 4, "out_channels": 4, "kernel_size": 3}]}
LINEAR = {"input_shape": [6], "layers": [{"type": "Linear", "in_features": 6, "out_features": 5}]}

CASES = [
    ("normal", {"mean": 1.0, "std": 0.5}, LINEAR), ("uniform", {"a": -2, "b": 3}, LINEAR),
    ("constant", {"val": 0.3}, LINEAR), ("zeros", {}, LINEAR), ("ones", {}, LINEAR),
    ("xavier_uniform", {"gain": 2.0}, LINEAR), ("xavier_normal", {}, LINEAR),
    ("kaiming_uniform", {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"}, LINEAR),
    ("kaiming_normal", {"nonlinearity": "relu"}, LINEAR), ("trunc_normal", {"std": 2.0, "a": -1, "b": 1}, LINEAR),
    ("orthogonal", {"gain": 1.5}, LINEAR), ("eye", {}, LINEAR),
    ("dirac", {}, CONV),
]


def test_every_torch_scheme_is_covered():
    assert {c[0] for c in CASES} == set(SCHEMES) - {"default", "expression", "sparse"}
    assert {entry["scheme"] for entry in catalog()} == set(SCHEMES)


@pytest.mark.parametrize(("scheme", "kwargs", "spec"), CASES, ids=[c[0] for c in CASES])
def test_scheme_equals_torch_with_the_same_generator(scheme, kwargs, spec, make_net, limits):
    net, oracle = make_net(spec, seed=0), make_net(spec, seed=0)
    apply_init(net, parse_init({"seed": 42, "rules": [{"param": "weight", "scheme": scheme, **kwargs}]}), limits)
    fn = getattr(nn.init, scheme + "_")
    extra = {"generator": torch.Generator().manual_seed(42)} if "generator" in fn.__code__.co_varnames else {}
    with torch.no_grad():
        fn(oracle.module[0].weight, **kwargs, **extra)
    assert torch.equal(net.module[0].weight, oracle.module[0].weight)
    assert torch.equal(net.module[0].bias, oracle.module[0].bias)  # untouched


def test_sparse_is_seeded_though_torch_draws_from_the_global_rng(make_net, limits):
    """torch's sparse_ permutes rows with the global RNG; the same seed must still give the same tensor."""
    spec = {"input_shape": [40], "layers": [{"type": "Linear", "in_features": 40, "out_features": 50}]}
    results = []
    for _ in range(2):
        net = make_net(spec)
        torch.manual_seed(len(results))  # a different global state each time must not matter
        apply_init(net, parse_init({"seed": 3, "rules": [{"param": "weight", "scheme": "sparse", "sparsity": 0.4,
                                                          "std": 0.02}]}), limits)
        results.append(net.module[0].weight.detach().clone())
    w = results[0]
    assert torch.equal(w, results[1])
    assert ((w == 0).sum(dim=0) == 20).all()  # ceil(0.4 * 50) zeros in every column
    assert abs(w[w != 0].std().item() - 0.02) < 0.002


def test_default_resets_only_the_targeted_tensor_and_is_seeded(make_net, limits):
    a, b = make_net(LINEAR), make_net(LINEAR)
    for net in (a, b):
        apply_init(net, parse_init({"rules": [{"scheme": "zeros"}]}), limits)
        apply_init(net, parse_init({"seed": 5, "rules": [{"param": "weight", "scheme": "default"}]}), limits)
    w = a.module[0].weight
    assert torch.equal(w, b.module[0].weight) and w.abs().max() <= 1 / 6 ** 0.5
    assert w.abs().min() > 0 and torch.equal(a.module[0].bias, torch.zeros(5))


def test_a_tied_module_is_hit_once_and_its_positions_reported(make_net, limits):
    net = make_net(TIED_NET)
    before = net.module[2].weight.detach().clone()
    report = apply_init(net, parse_init({"rules": [
        {"layers": ["2", "4"], "param": "weight", "scheme": "expression", "expr": "w + 1"}]}), limits)
    assert report["applied"][0]["params"] == [{"name": "2.weight", "positions": ["2", "4"]}]
    assert torch.equal(net.module[4].weight, before + 1)


def test_types_match_the_materialized_class(make_net, limits):
    net = make_net(TIED_NET)
    with pytest.raises(SpecError, match="reaches no parameter"):
        apply_init(net, parse_init({"rules": [{"types": ["LazyLinear"], "scheme": "zeros"}]}), limits)
    report = apply_init(net, parse_init({"rules": [{"types": ["Linear"], "param": "bias", "scheme": "zeros"}]}),
                        limits)
    assert [p["name"] for p in report["applied"][0]["params"]] == ["0.bias", "2.bias", "6.bias"]


@pytest.mark.parametrize(("rules", "path", "message"), [
    ([{"scheme": "nope"}], "rules[0].scheme", "schemes: normal"),
    ([{"scheme": "normal", "sdt": 1}], "rules[0].sdt", "unexpected argument"),
    ([{"param": "bias", "scheme": "xavier_uniform"}], "rules[0]", "fewer than 2 dimensions"),
    ([{"layers": ["7"], "scheme": "zeros"}], "rules[0].layers[0]", "no layer at address '7'"),
    ([{"scheme": "zeros"}, {"scheme": "expression", "expr": "w.grad"}], "rules[1].expr", "Attribute"),
    ([{"scheme": "zeros"}, {"scheme": "expression", "expr": "1 / w"}], "rules[1].expr", "not finite"),
])
def test_a_bad_rule_changes_nothing(rules, path, message, make_net, limits):
    net = make_net(TIED_NET)
    before = {k: v.clone() for k, v in net.module.state_dict().items()}
    with pytest.raises(SpecError) as caught:
        apply_init(net, parse_init({"rules": rules}), limits)
    assert caught.value.errors[0]["path"] == path and message in caught.value.errors[0]["msg"]
    for key, value in net.module.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_a_non_finite_result_after_earlier_rules_rolls_them_back(make_net, limits):
    net = make_net(TIED_NET)
    before = net.module[0].weight.detach().clone()
    with pytest.raises(ExpressionError):
        apply_init(net, parse_init({"rules": [{"scheme": "normal"}, {"scheme": "zeros", "param": "bias"},
                                              {"scheme": "expression", "expr": "log(w)"}]}), limits)
    assert torch.equal(net.module[0].weight, before)


def test_same_seed_same_parameters_under_concurrency(make_net, registry, limits):
    """Many threads init and run dropout at once; each result equals the single-threaded one."""
    spec = {"input_shape": [64], "layers": [{"type": "Linear", "in_features": 64, "out_features": 64},
                                            {"type": "Dropout", "p": 0.5}, {"type": "Linear", "in_features": 64,
                                                                             "out_features": 64}]}
    rules = {"rules": [{"param": "weight", "scheme": "kaiming_normal"}, {"param": "bias", "scheme": "default"},
                       {"scheme": "expression", "expr": "w + normal(0, 0.01)"}]}

    def run(seed: int) -> list[torch.Tensor]:
        net = make_net(spec, seed=seed)
        apply_init(net, parse_init({**rules, "seed": seed}), limits)
        out = forward(net, registry, limits, seed=seed, mode="train", batch=8)["output"]
        return [*(p.detach().clone() for p in net.module.parameters()), torch.tensor(out)]

    expected = {seed: run(seed) for seed in range(6)}
    results: dict[int, list[torch.Tensor]] = {}
    threads = [threading.Thread(target=lambda s=seed: results.__setitem__(s, run(s))) for seed in range(6) for _ in
               range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed, tensors in results.items():
        assert all(torch.equal(a, b) for a, b in zip(tensors, expected[seed], strict=True))


def test_default_on_batch_norm_leaves_the_running_stats(make_net, limits):
    net = make_net({"input_shape": [3], "layers": [{"type": "BatchNorm1d", "num_features": 3}]})
    with torch.no_grad():
        net.module[0].running_mean.fill_(5.0)
    apply_init(net, parse_init({"rules": [{"param": "weight", "scheme": "default"}]}), limits)
    assert torch.equal(net.module[0].running_mean, torch.full((3,), 5.0))


def test_expression_memory_is_bounded(make_net):
    net = make_net({"input_shape": [100], "layers": [{"type": "Linear", "in_features": 100, "out_features": 100}]})
    request = parse_init({"rules": [{"param": "weight", "scheme": "expression", "expr": "w * (abs(w) >= 5)"}]})
    with pytest.raises(LimitError) as caught:
        apply_init(net, request, Limits(max_expr_memory=100_000))
    assert caught.value.limit == "max_expr_memory" and "0.weight" in str(caught.value)
