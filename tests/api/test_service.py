"""The service and store without HTTP: content-addressed blobs, the cache, retention."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch

from layerlab.config import Settings
from layerlab.service import ModelService
from layerlab.spec import parse_init, parse_spec
from tests.specs import TIED_NET

WIDE = {"input_shape": [64], "layers": [{"type": "Linear", "in_features": 64, "out_features": 64},
                                        {"type": "ReLU"}, {"type": "Linear", "in_features": 64, "out_features": 64}]}


def blobs(root: Path) -> set[str]:
    return {p.name for p in (root / "blobs").glob("*/*.safetensors")}


def test_a_one_element_edit_writes_one_tensor_and_a_clone_writes_none(tmp_path):
    service = ModelService(Settings(data_dir=tmp_path))
    model = service.create(parse_spec(TIED_NET))
    first = blobs(tmp_path)
    assert len(first) == 6  # 2.weight and 4.weight are one tensor, stored once
    service.set_element(model["id"], "4.weight", [0, 0], 5.0, None)
    assert len(blobs(tmp_path) - first) == 1
    before = blobs(tmp_path)
    clone = service.clone(model["id"])
    assert blobs(tmp_path) == before
    assert service.state_dict(clone["id"], None) == service.state_dict(model["id"], None)


def test_evicted_models_come_back_from_the_store_with_their_ties(tmp_path):
    service = ModelService(Settings(data_dir=tmp_path, cache_bytes=20_000))  # room for about one WIDE model
    ids = [service.create(parse_spec({**TIED_NET, "name": f"m{i}"}))["id"] for i in range(2)]
    ids += [service.create(parse_spec(WIDE))["id"] for _ in range(2)]
    service.set_element(ids[0], "2.weight", [1, 1], 3.0, None)
    values = {i: service.state_dict(i, None) for i in ids}
    assert len(service._cache) < len(ids)  # some were evicted along the way
    for model_id in ids:
        assert service.state_dict(model_id, None) == values[model_id]
    net = service._live(ids[0]).net
    assert net.module[2] is net.module[4]


def test_retention_keeps_the_newest_versions_and_collects_their_blobs(tmp_path):
    service = ModelService(Settings(data_dir=tmp_path, keep_versions=2))
    model_id = service.create(parse_spec(WIDE))["id"]
    for seed in range(4):
        service.init(model_id, parse_init({"seed": seed, "rules": [{"scheme": "normal"}]}), None)
    assert [v["version"] for v in service.versions(model_id)] == [4, 5]
    assert len(blobs(tmp_path)) <= 2 * 4  # two versions of four tensors at most
    service.delete(model_id)
    assert blobs(tmp_path) == set()


def test_a_failed_commit_leaves_the_model_as_stored(tmp_path, monkeypatch):
    service = ModelService(Settings(data_dir=tmp_path))
    model_id = service.create(parse_spec(TIED_NET))["id"]
    before = service.state_dict(model_id, None)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(service.store, "commit", broken)
    with pytest.raises(OSError, match="disk full"):
        service.set_element(model_id, "0.weight", [0, 0], 9.0, None)
    monkeypatch.undo()
    assert service.state_dict(model_id, None) == before
    assert service.get(model_id)["version"] == 1
    assert torch.tensor(before["0.weight"]["values"])[0, 0] != 9.0


def test_a_plugin_that_shares_its_own_weights_survives_a_rebuild(tmp_path, monkeypatch):
    (tmp_path / "tied_plugin.py").write_text(textwrap.dedent('''
        import torch
        from torch import nn

        class AutoEncoder(nn.Module):
            """Encodes and decodes with one weight (the decoder is tied to the encoder)."""
            def __init__(self, width: int = 4):
                super().__init__()
                self.enc = nn.Linear(width, width, bias=False)
                self.dec = nn.Linear(width, width, bias=False)
                self.dec.weight = self.enc.weight
                self.register_buffer("scratch", torch.zeros(1), persistent=False)
            def forward(self, x):
                return self.dec(self.enc(x))

        def register(registry):
            registry.add(AutoEncoder, example={"width": 4}, example_input=[4])
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    data = tmp_path / "data"
    service = ModelService(Settings(data_dir=data, plugins=["tied_plugin"]))
    model_id = service.create(parse_spec({"input_shape": [4], "layers": [{"type": "AutoEncoder"}]}))["id"]
    assert [p["tied"] for p in service.params(model_id)] == [["0.dec.weight"]]
    service.set_element(model_id, "0.dec.weight", [1, 2], 7.0, None)
    restarted = ModelService(Settings(data_dir=data, plugins=["tied_plugin"]))
    net = restarted._live(model_id).net
    assert net.module[0].enc.weight is net.module[0].dec.weight
    assert float(net.module[0].enc.weight.detach()[1, 2]) == 7.0
    sys.modules.pop("tied_plugin", None)
