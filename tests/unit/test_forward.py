"""Forward passes: the output is PyTorch's, activations per position, nothing about the model changes."""

from __future__ import annotations

import pytest
import torch

from layerlab.build import ShapeError
from layerlab.config import Limits
from layerlab.errors import LimitError, SpecError
from layerlab.forward import forward
from tests.specs import TIED_NET


def test_output_equals_the_module_in_eval_mode(make_net, registry, limits):
    net = make_net(TIED_NET)
    x = torch.randn(3, 4)
    result = forward(net, registry, limits, data=x.tolist())
    with torch.no_grad():
        assert torch.allclose(torch.tensor(result["output"]), net.module.eval()(x))
    assert result["shape"] == [3, 1]
    layers = [a["layer"] for a in result["activations"]]
    assert layers == ["0", "1", "2", "3", "4", "5", "6"]  # the tie reports at both of its positions
    assert result["activations"][4]["shape"] == [3, 8]


def test_a_seeded_random_batch_is_repeatable(make_net, registry, limits):
    net = make_net(TIED_NET)
    a, b = forward(net, registry, limits, batch=5, seed=1), forward(net, registry, limits, batch=5, seed=1)
    assert a["output"] == b["output"] and a["input_shape"] == [5, 4]
    assert forward(net, registry, limits, batch=5, seed=2)["output"] != a["output"]


def test_dead_units_of_relu_layers(make_net, registry, limits):
    net = make_net({"input_shape": [3], "layers": [{"type": "Linear", "in_features": 3, "out_features": 4},
                                                   {"type": "ReLU"}]})
    with torch.no_grad():
        net.module[0].weight.zero_()
        net.module[0].bias.copy_(torch.tensor([-1.0, 1.0, -2.0, 0.5]))
    relu = forward(net, registry, limits, batch=6, seed=0, bins=5)["activations"][1]
    assert relu["dead_fraction"] == 0.5
    assert relu["stats"]["zero_fraction"] == 0.5 and sum(relu["histogram"]["counts"]) == 24
    assert "dead_fraction" not in forward(net, registry, limits, batch=2)["activations"][0]


def test_train_mode_leaves_batch_norm_buffers_as_they_were(make_net, registry, limits):
    net = make_net({"input_shape": [4], "layers": [{"type": "BatchNorm1d", "num_features": 4},
                                                   {"type": "Dropout", "p": 0.5}]})
    before = {k: v.clone() for k, v in net.module.state_dict().items()}
    result = forward(net, registry, limits, batch=16, seed=3, mode="train")
    assert abs(torch.tensor(result["activations"][0]["stats"]["mean"])) < 1e-5  # normalized by batch stats
    for key, value in net.module.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert net.module.training


def test_bad_inputs_name_the_problem(make_net, registry, limits):
    net = make_net(TIED_NET)
    with pytest.raises(SpecError, match=r"expected \(batch, 4\)"):
        forward(net, registry, limits, data=[[1.0, 2.0]])
    with pytest.raises(SpecError, match="rectangular"):
        forward(net, registry, limits, data=[[1.0, 2.0, 3.0, 4.0], [1.0]])
    unshaped = make_net({"layers": [{"type": "Linear", "in_features": 2, "out_features": 2}]})
    with pytest.raises(ShapeError, match="layer 0"):
        forward(unshaped, registry, limits, data=[[1.0, 2.0, 3.0]])


def test_embedding_networks_take_indices(make_net, registry, limits):
    net = make_net({"input_shape": [5], "layers": [{"type": "Embedding", "num_embeddings": 10, "embedding_dim": 3},
                                                   {"type": "Flatten"}]})
    result = forward(net, registry, limits, batch=4, seed=0)
    assert result["shape"] == [4, 15]
    assert forward(net, registry, limits, data=[[0, 1, 2, 3, 9]])["shape"] == [1, 15]


def test_embedding_indices_are_checked_before_the_device(make_net, registry, limits):
    net = make_net({"input_shape": [2], "layers": [{"type": "Embedding", "num_embeddings": 10, "embedding_dim": 3}]})
    with pytest.raises(SpecError, match=r"0\.\.9"):
        forward(net, registry, limits, data=[[1, 10]])
    with pytest.raises(SpecError, match="nested lists"):
        forward(net, registry, limits, data=5)


def test_a_pass_is_sized_before_it_runs(make_net, registry):
    unshaped = make_net({"layers": [{"type": "Linear", "in_features": 1, "out_features": 2000}]})
    with pytest.raises(LimitError) as caught:
        forward(unshaped, registry, Limits(max_activation_elements=1000), data=[[1.0]] * 400)
    assert caught.value.limit == "max_activation_elements"
    net = make_net({"input_shape": [64], "layers": [{"type": "Linear", "in_features": 64, "out_features": 64}]})
    with pytest.raises(LimitError) as caught:
        forward(net, registry, Limits(max_flops=2 * 64 * 64 * 10), batch=11)
    assert caught.value.limit == "max_flops"
    assert forward(net, registry, Limits(max_flops=2 * 64 * 64 * 10), batch=10)["shape"] == [10, 64]


def test_a_failed_train_pass_puts_the_running_stats_back(make_net, registry, limits):
    net = make_net({"input_shape": [2, 3, 3], "layers": [
        {"type": "BatchNorm2d", "num_features": 2}, {"type": "Flatten"}, {"type": "BatchNorm1d", "num_features": 18}]})
    before = {k: v.clone() for k, v in net.module.state_dict().items()}
    with pytest.raises(ShapeError, match="more than 1 value per channel"):  # BatchNorm1d, batch of 1, training
        forward(net, registry, limits, data=torch.rand(1, 2, 3, 3).tolist(), mode="train")
    for key, value in net.module.state_dict().items():
        assert torch.equal(value, before[key]), key
