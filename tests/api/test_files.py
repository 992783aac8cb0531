"""Files over HTTP: streamed downloads plain PyTorch reads, uploads that change all or nothing."""

from __future__ import annotations

import io
import pickle

import pytest
import safetensors.torch
import torch

from tests.api.conftest import create
from tests.specs import TIED_NET

pytestmark = pytest.mark.anyio


def pt_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


async def download(client, model_id, fmt, **params):
    response = await client.get(f"/api/models/{model_id}/state_dict/file", params={"format": fmt, **params})
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
async def test_downloads_are_plain_pytorch_files(client, fmt):
    model = await create(client, {**TIED_NET, "name": "tied net"})
    response = await download(client, model["id"], fmt)
    assert response.headers["content-disposition"] == f'attachment; filename="tied-net-v1.{fmt}"'
    assert int(response.headers["content-length"]) == len(response.content)
    state = (torch.load(io.BytesIO(response.content), weights_only=True) if fmt == "pt"
             else safetensors.torch.load(response.content))
    expected = (await client.get(f"/api/models/{model['id']}/state_dict")).json()
    assert list(state) == list(expected) if fmt == "pt" else sorted(state) == sorted(expected)
    for key, value in expected.items():
        assert state[key].tolist() == value["values"]


async def test_an_old_version_downloads_as_it_was(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}"
    before = (await client.get(f"{url}/state_dict")).json()["0.weight"]["values"]
    await client.post(f"{url}/init", json={"rules": [{"scheme": "zeros"}]})
    for fmt in ("pt", "safetensors"):
        old = await download(client, model["id"], fmt, version=1)
        assert old.headers["content-disposition"].endswith(f'-v1.{fmt}"')
        state = (torch.load(io.BytesIO(old.content), weights_only=True) if fmt == "pt"
                 else safetensors.torch.load(old.content))
        assert state["0.weight"].tolist() == before
    assert (await client.get(f"{url}/state_dict/file", params={"version": 7})).status_code == 404


@pytest.mark.parametrize("multipart", [True, False], ids=["multipart", "raw-body"])
async def test_upload_a_changed_file(client, multipart):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}/state_dict/file"
    state = torch.load(io.BytesIO((await download(client, model["id"], "pt")).content), weights_only=True)
    state["0.bias"] = torch.arange(8.0)
    body = {"files": {"file": ("new.pt", pt_bytes(state))}} if multipart else {"content": pt_bytes(state)}
    response = await client.put(url, **body, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2 and response.json()["missing"] == []
    values = (await client.get(f"/api/models/{model['id']}/state_dict", params={"layer": "0"})).json()
    assert values["bias"]["values"] == list(range(8))


async def test_a_strict_failure_is_422_and_changes_nothing(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}"
    before = (await client.get(f"{url}/state_dict")).json()
    partial = pt_bytes({"0.weight": torch.zeros(8, 4)})
    response = await client.put(f"{url}/state_dict/file", files={"file": ("x.pt", partial)})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "0.bias" in detail["missing"] and "nothing was changed" in detail["msg"]
    assert (await client.get(f"{url}/state_dict")).json() == before
    assert (await client.get(url)).json()["version"] == 1
    loose = await client.put(f"{url}/state_dict/file", params={"strict": "false"},
                             files={"file": ("x.pt", pt_bytes({"0.weight": torch.zeros(8, 4)}))})
    assert loose.status_code == 200 and loose.json()["loaded"] == ["0.weight"]


async def test_bad_files(client, tmp_path):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}/state_dict/file"
    unknown = await client.put(url, files={"file": ("x.pt", b"hello, world, not a tensor file")})
    assert unknown.status_code == 415

    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    evil = await client.put(url, files={"file": ("x.pt", pt_bytes({"0.weight": Evil()}))})
    assert evil.status_code == 422 and not (tmp_path / "pwned").exists()
    raw = await client.put(url, content=pickle.dumps({"0.weight": [1.0]}))
    assert raw.status_code == 415
    wrong_field = await client.put(url, files={"weights": ("x.pt", b"PK")})
    assert wrong_field.status_code == 422 and wrong_field.json()["detail"]["errors"][0]["path"] == "file"


async def test_the_upload_limit_is_413(make_client):
    async with make_client(max_upload_bytes=10_000) as client:
        model = await create(client, TIED_NET)
        big = pt_bytes({"w": torch.zeros(10_000)})
        for body in ({"files": {"file": ("x.pt", big)}}, {"content": big}):
            response = await client.put(f"/api/models/{model['id']}/state_dict/file", **body)
            assert response.status_code == 413 and response.json()["detail"]["limit"] == "max_upload_bytes"

        async def chunks():  # no Content-Length: the limit must stop the stream itself
            for _ in range(20):
                yield b"\0" * 1000

        streamed = await client.put(f"/api/models/{model['id']}/state_dict/file", content=chunks())
        assert streamed.status_code == 413


async def test_inspect_any_tensor_file(client):
    x, y = torch.arange(4), torch.zeros(4)
    response = await client.post("/api/files/inspect", files={"file": ("mydict", pt_bytes({"x": x, "y": y}))})
    tree = response.json()["root"]
    assert tree["kind"] == "dict" and tree["items"]["x"] == {
        "kind": "tensor", "shape": [4], "dtype": "int64", "stats": tree["items"]["x"]["stats"]}
    assert tree["items"]["x"]["stats"]["max"] == 3.0
    listed = (await client.post("/api/files/inspect", files={"file": ("x-files", pt_bytes([x, y]))})).json()
    assert [item["kind"] for item in listed["root"]["items"]] == ["tensor", "tensor"]
    st = (await client.post("/api/files/inspect", content=safetensors.torch.save({"a": y}))).json()
    assert st["format"] == "safetensors" and st["root"]["items"]["a"]["shape"] == [4]


async def test_a_malformed_multipart_body_is_422(client):
    model = await create(client, TIED_NET)
    response = await client.put(f"/api/models/{model['id']}/state_dict/file", content=b"--xyz\r\nnot a header\r\n\r\n",
                                headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 422
