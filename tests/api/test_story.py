"""The builder's guide end to end over HTTP, with plain PyTorch checking every step."""

from __future__ import annotations

import io

import pytest
import torch

from tests.api.conftest import create
from tests.specs import TIED_NET

pytestmark = pytest.mark.anyio


async def test_the_guide_story(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}"

    # net[2].weight.data[0, 0] = 100 shows in net[4]
    await client.patch(f"{url}/params/2.weight", json={"index": [0, 0], "value": 100})
    state = (await client.get(f"{url}/state_dict")).json()
    assert state["4.weight"]["values"][0] == state["2.weight"]["values"][0]
    assert state["4.weight"]["values"][0][0] == 100.0

    # xavier on layer 0, 42 on layer 2 (and so on layer 4)
    await client.post(f"{url}/init", json={"seed": 1, "rules": [
        {"layers": ["0"], "param": "weight", "scheme": "xavier_uniform"},
        {"layers": ["2"], "param": "weight", "scheme": "constant", "val": 42}]})

    # download, load with plain torch.load(weights_only=True) into the exported code's network
    file = await client.get(f"{url}/state_dict/file", params={"format": "pt"})
    code = (await client.get(f"{url}/code")).text
    namespace: dict = {}
    exec(compile(code, "exported", "exec"), namespace)  # our generated code, in a test
    net = namespace["net"]
    net.load_state_dict(torch.load(io.BytesIO(file.content), weights_only=True), strict=True)
    assert net[2] is net[4] and torch.equal(net[4].weight, torch.full((8, 8), 42.0))

    # outputs agree
    x = torch.randn(5, 4)
    ours = (await client.post(f"{url}/forward", json={"input": x.tolist()})).json()["output"]
    with torch.no_grad():
        assert torch.allclose(torch.tensor(ours), net.eval()(x))

    # upload a changed file; the server's network then gives the changed network's outputs
    with torch.no_grad():
        net[6].bias.fill_(7.0)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    report = await client.put(f"{url}/state_dict/file", files={"file": ("mlp.params", buffer.getvalue())})
    assert report.status_code == 200 and report.json()["unexpected"] == []
    ours = (await client.post(f"{url}/forward", json={"input": x.tolist()})).json()["output"]
    with torch.no_grad():
        assert torch.allclose(torch.tensor(ours), net(x))

    # clone, compare: equal; change the clone: different
    clone = (await client.post(f"{url}/clone")).json()
    assert (await client.post("/api/compare", json={"a": model["id"], "b": clone["id"]})).json()["equal"]
    await client.post(f"/api/models/{clone['id']}/init", json={"rules": [{"scheme": "zeros", "param": "bias"}]})
    assert not (await client.post("/api/compare", json={"a": model["id"], "b": clone["id"]})).json()["equal"]
    history = [v["action"] for v in (await client.get(f"{url}/versions")).json()]
    assert history == ["create", "set 2.weight[0, 0]", "init", "upload"]
