"""Concurrency: parallel inits equal single-threaded runs; of racing If-Match writers one wins."""

from __future__ import annotations

import asyncio

import pytest
import torch

from layerlab.build import build
from layerlab.config import Limits
from layerlab.init import apply_init
from layerlab.layers import default_registry
from layerlab.spec import parse_init, parse_spec
from tests.api.conftest import create

pytestmark = pytest.mark.anyio
SPEC = {"input_shape": [32], "seed": 0, "layers": [
    {"type": "Linear", "in_features": 32, "out_features": 32}, {"type": "Dropout", "p": 0.3},
    {"type": "Linear", "in_features": 32, "out_features": 32, "name": "sq"}, {"tie": "sq"}]}
RULES = [{"param": "weight", "scheme": "kaiming_uniform", "nonlinearity": "relu"},
         {"param": "bias", "scheme": "default"}, {"scheme": "expression", "expr": "w * bernoulli(0.5)"}]


def single_threaded(seed: int) -> dict[str, list]:
    net = build(parse_spec(SPEC), default_registry(), Limits(), torch.device("cpu"))
    apply_init(net, parse_init({"seed": seed, "rules": RULES}), Limits())
    return {k: v.tolist() for k, v in net.module.state_dict().items()}


async def test_parallel_inits_equal_single_threaded_runs(client):
    models = [await create(client, SPEC) for _ in range(8)]

    async def init_then_forward(model, seed):
        url = f"/api/models/{model['id']}"
        response = await client.post(f"{url}/init", json={"seed": seed, "rules": RULES})
        assert response.status_code == 200
        await client.post(f"{url}/forward", json={"batch": 64, "mode": "train", "seed": seed})

    await asyncio.gather(*(init_then_forward(m, seed) for seed, m in enumerate(models)))
    for seed, model in enumerate(models):
        state = (await client.get(f"/api/models/{model['id']}/state_dict")).json()
        assert {k: v["values"] for k, v in state.items()} == single_threaded(seed)


async def test_of_racing_writers_exactly_one_wins(client):
    model = await create(client, SPEC)
    url = f"/api/models/{model['id']}/params/0.weight"

    async def write(value):
        return await client.patch(url, json={"index": [0, 0], "value": value}, headers={"If-Match": '"1"'})

    responses = await asyncio.gather(*(write(float(i)) for i in range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 11
    winner = next(r for r in responses if r.status_code == 200).json()["value"]
    after = await client.get(f"/api/models/{model['id']}/params/0.weight/values", params={"limit": 1})
    assert after.json()["values"] == [winner]
    assert (await client.get(f"/api/models/{model['id']}")).json()["version"] == 2


async def test_every_answer_names_its_own_version(client):
    """Racing restores, inits and patches: each answer's version is the one its action made."""
    model = await create(client, SPEC)
    url = f"/api/models/{model['id']}"

    async def init(seed):
        return "init", await client.post(f"{url}/init", json={"seed": seed, "rules": [{"scheme": "zeros",
                                                                                       "param": "bias"}]})

    async def patch(value):
        return "set 0.weight[0, 0]", await client.patch(f"{url}/params/0.weight",
                                                         json={"index": [0, 0], "value": value})

    async def restore():
        return "restore v1", await client.post(f"{url}/versions/1/restore")

    answers = await asyncio.gather(*[init(i) for i in range(6)], *[patch(float(i)) for i in range(6)],
                                   *[restore() for _ in range(3)])
    actions = {v["version"]: v["action"] for v in (await client.get(f"{url}/versions")).json()}
    for action, response in answers:
        assert response.status_code == 200
        version = response.json()["version"]
        assert actions[version] == action and response.headers["etag"] == f'"{version}"'
    assert len(actions) == 1 + len(answers)
