"""Parameter views over HTTP: named_parameters, state dicts, pages, one element, histograms."""

from __future__ import annotations

import pytest

from tests.api.conftest import create
from tests.specs import TIED_NET

pytestmark = pytest.mark.anyio


async def test_params_state_dict_and_pages(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}"
    params = (await client.get(f"{url}/params")).json()
    assert [p["name"] for p in params] == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    assert params[2]["tied"] == ["4.weight"] and params[2]["numel"] == 64 and params[2]["stats"]["count"] == 64
    whole = (await client.get(f"{url}/state_dict")).json()
    assert list(whole) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias", "6.weight", "6.bias"]
    layer = (await client.get(f"{url}/state_dict", params={"layer": "4"})).json()
    assert layer["weight"]["values"] == whole["2.weight"]["values"] and layer["weight"]["shape"] == [8, 8]
    page = (await client.get(f"{url}/params/2.weight/values", params={"offset": 8, "limit": 8})).json()
    assert page["values"] == whole["2.weight"]["values"][1] and page["shape"] == [8, 8]
    assert (await client.get(f"{url}/state_dict", params={"layer": "9"})).status_code == 404
    assert (await client.get(f"{url}/params/9.weight/values")).status_code == 404


async def test_values_limit_is_413(make_client):
    async with make_client(max_values=50) as client:
        model = await create(client, TIED_NET)
        response = await client.get(f"/api/models/{model['id']}/state_dict")
    assert response.status_code == 413 and response.json()["detail"]["limit"] == "max_values"


async def test_setting_a_weight_changes_its_tied_twin(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}"
    response = await client.patch(f"{url}/params/2.weight", json={"index": [0, 0], "value": 100})
    assert response.status_code == 200 and response.headers["etag"] == '"2"'
    assert response.json()["value"] == 100.0 and response.json()["tied"] == ["4.weight"]
    twin = (await client.get(f"{url}/state_dict", params={"layer": "4"})).json()
    assert twin["weight"]["values"][0][0] == 100.0
    through_twin = await client.patch(f"{url}/params/4.weight", json={"index": [1, 1], "value": -2.5})
    assert through_twin.json()["name"] == "2.weight"
    page = await client.get(f"{url}/params/2.weight/values", params={"offset": 9, "limit": 1})
    assert page.json()["values"] == [-2.5]


@pytest.mark.parametrize(("body", "status", "path"), [
    ({"index": [8, 0], "value": 1}, 422, "index[0]"), ({"index": [0], "value": 1}, 422, "index"),
    ({"index": [0, 0]}, 422, "value"), ({"index": [0, 0], "value": "big"}, 422, "value"),
])
async def test_setting_checks_the_request(client, body, status, path):
    model = await create(client, TIED_NET)
    response = await client.patch(f"/api/models/{model['id']}/params/2.weight", json=body)
    assert response.status_code == status and response.json()["detail"]["errors"][0]["path"] == path
    assert (await client.get(f"/api/models/{model['id']}")).json()["version"] == 1


async def test_histograms(make_client):
    async with make_client(max_bins=100) as client:
        model = await create(client, TIED_NET)
        url = f"/api/models/{model['id']}/histograms"
        all_params = (await client.get(url, params={"bins": 12})).json()
        assert len(all_params) == 6 and all(len(h["counts"]) == 12 for h in all_params.values())
        assert sum(all_params["2.weight"]["counts"]) == 64 and all_params["2.weight"]["stats"]["count"] == 64
        chosen = (await client.get(url, params=[("names", "0.bias,4.weight"), ("names", "6.bias"), ("bins", 4),
                                                ("lo", -1), ("hi", 1)])).json()
        assert list(chosen) == ["0.bias", "4.weight", "6.bias"] and chosen["0.bias"]["edges"][0] == -1.0
        assert (await client.get(url, params={"bins": 101})).status_code == 413
        assert (await client.get(url, params={"bins": 0})).status_code == 422
        assert (await client.get(url, params={"lo": 1})).status_code == 422
        assert (await client.get(url, params={"names": "7.weight"})).status_code == 404


async def test_forward(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}/forward"
    result = (await client.post(url, json={"batch": 3, "seed": 2, "bins": 5})).json()
    assert result["shape"] == [3, 1] and len(result["activations"]) == 7
    assert "dead_fraction" in result["activations"][1] and len(result["activations"][0]["histogram"]["counts"]) == 5
    given = (await client.post(url, json={"input": [[0.0, 1.0, 2.0, 3.0]]})).json()
    assert given["shape"] == [1, 1]
    bad = await client.post(url, json={"input": [[1.0, 2.0]]})
    assert bad.status_code == 422 and bad.json()["detail"]["errors"][0]["path"] == "input"
    assert (await client.post(url, json={"batch": 0})).status_code == 422
