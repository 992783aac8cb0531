"""Requests a fuzzer (schemathesis plus hand-made cases) once answered with a 500: each now gets a 4xx."""

from __future__ import annotations

import io
import warnings

import pytest
import torch

from tests.api.conftest import create

pytestmark = pytest.mark.anyio
NET = {"input_shape": [4], "layers": [{"type": "Linear", "in_features": 4, "out_features": 3}, {"type": "ReLU"}]}
BIG = 9223372036854775808


def pt(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/params?version={big}", None), ("GET", "/histograms?version={big}", None),
    ("GET", "/state_dict/file?version={big}", None), ("POST", "/versions/{big}/restore", None),
    ("GET", "/histograms?lo=-inf&hi=inf", None),
    ("PATCH", "/params/0.weight", {"index": [0, 0], "value": 1e308}),
    ("POST", "/forward", {"input": 5}), ("POST", "/forward", {"input": []}),
    ("POST", "/materialize", {"input_shape": [BIG]}), ("POST", "/materialize", {"input_shape": [2**40, 2**40]}),
    ("POST", "/init", {"rules": [{"scheme": "normal", "std": -1}]}),
    ("POST", "/init", {"rules": [{"scheme": "uniform", "a": 1, "b": 0}]}),
    ("POST", "/init", {"rules": [{"scheme": "trunc_normal", "a": 2, "b": -2}]}),
    ("POST", "/init", {"rules": [{"scheme": "trunc_normal", "std": 0}]}),
    ("POST", "/init", {"rules": [{"scheme": "sparse", "sparsity": 0.5, "param": "weight", "std": -1}]}),
])
async def test_model_requests(client, method, path, body):
    model = await create(client, NET)
    url = f"/api/models/{model['id']}" + path.format(big=BIG)
    response = await client.request(method, url, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert (await client.get(f"/api/models/{model['id']}")).json()["version"] == 1


@pytest.mark.parametrize("layer", [
    {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 3, "padding_idx": 20},
    {"type": "Hardtanh", "min_val": 1.0, "max_val": 0.0},
    {"type": "LeakyReLU", "negative_slope": "Infinity"},
    {"type": "Conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": [0, 0]},
])
async def test_odd_layer_arguments(client, layer):
    for path in ("/api/models", "/api/specs/check"):
        response = await client.post(path, json={"input_shape": [1, 5, 5], "layers": [layer]})
        assert response.status_code in (200, 422), response.text
        if path.endswith("check"):
            assert not response.json()["ok"]


@pytest.mark.parametrize("code", [
    "net = nn.Sequential(nn.Linear(4, {[1]: 2}))", "X = torch.randn(size=None)\nnet = nn.Sequential(nn.ReLU())",
    "X = torch.randn(size={'a': 1})\nnet = nn.Sequential(nn.ReLU())", "net = nn.Sequential(nn.ReLU())\0",
])
async def test_odd_code(client, code):
    response = await client.post("/api/specs/from-code", json={"code": code})
    assert response.status_code == 422, response.text
    assert "None" not in response.json()["detail"]["errors"][0]["msg"].split(":")[0]


@pytest.mark.parametrize("make", [
    lambda: pt({"a": torch.zeros(3, dtype=torch.float8_e4m3fn)}), lambda: pt({"a": torch.eye(3).to_sparse()}),
    lambda: pt({"a": torch.empty(3, device="meta")}),
    lambda: pt({"a": torch.quantize_per_tensor(torch.rand(3), 0.1, 0, torch.quint8)}),
    lambda: b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"{" + b"[" * 15,
], ids=["float8", "sparse", "meta", "quantized", "deep-json-header"])
async def test_odd_files(client, make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensors are deprecated: building one warns
        payload = make()
    model = await create(client, NET)
    inspected = await client.post("/api/files/inspect", files={"file": ("f", payload)})
    loaded = await client.put(f"/api/models/{model['id']}/state_dict/file", files={"file": ("f", payload)})
    assert 400 <= inspected.status_code < 500 and 400 <= loaded.status_code < 500, (inspected.text, loaded.text)


async def test_odd_multipart(client):
    for headers, body in [({"content-type": "multipart/form-data; boundary=" + "x" * 300}, b"--x"),
                          ({"content-type": "multipart/form-data; boundary=x"}, b"--x\r\nNone--x--\r\n")]:
        response = await client.post("/api/files/inspect", content=body, headers=headers)
        assert response.status_code == 422, response.text
