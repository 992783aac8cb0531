"""Models over HTTP: create, read, list, delete, materialize, init, clone, code, versions, restore."""

from __future__ import annotations

import pytest

from tests.api.conftest import create
from tests.specs import SEED_NET, TIED_NET

pytestmark = pytest.mark.anyio


async def test_create_answers_a_model_with_etag(client):
    response = await client.post("/api/models", json=TIED_NET)
    assert response.status_code == 201 and response.headers["etag"] == '"1"'
    model = response.json()
    assert model["version"] == 1 and model["materialized"] and model["param_count"] == 121
    assert model["device"] == "cpu" and model["dtype"] == "float32" and model["spec"]["seed"] is not None
    assert [layer["tied_to"] for layer in model["layers"]] == [None, None, None, None, "2", None, None]
    assert (await client.get(f"/api/models/{model['id']}")).json()["layers"] == model["layers"]
    listed = (await client.get("/api/models")).json()
    assert [(m["id"], m["version"], m["param_count"]) for m in listed] == [(model["id"], 1, 121)]


@pytest.mark.parametrize(("spec", "path", "words"), [
    ({"layers": [{"type": "Lineer"}]}, "layers[0].type", "known types"),
    ({"layers": [{"type": "Linear", "in_features": 4, "out_features": 0}]}, "layers[0].out_features", "greater"),
    ({"layers": [{"tie": "nobody"}]}, "layers[0].tie", "no entry is named"),
    ({"layers": []}, "layers", "at least 1"),
    ({"layers": [{"type": "ReLU"}], "colour": "red"}, "colour", "unexpected key"),
    ({"layers": [{"type": "ReLU"}], "seed": 2**64}, "seed", "less than or equal"),
])
async def test_invalid_specs_are_422_with_the_path(client, spec, path, words):
    response = await client.post("/api/models", json=spec)
    assert response.status_code == 422
    error = response.json()["detail"]["errors"][0]
    assert error["path"] == path and words in error["msg"]
    assert (await client.get("/api/models")).json() == []


async def test_limits_are_413_with_the_limit_named(make_client):
    async with make_client(max_params=1000) as client:
        response = await client.post("/api/models", json={"layers": [
            {"type": "Linear", "in_features": 100_000, "out_features": 100_000}]})
    assert response.status_code == 413
    assert response.json()["detail"]["limit"] == "max_params" and response.json()["detail"]["value"] == 1000


async def test_unknown_models_are_404(client):
    for method, path in [("get", "/api/models/nope"), ("delete", "/api/models/nope"),
                         ("get", "/api/models/nope/params"), ("post", "/api/models/nope/clone")]:
        response = await client.request(method.upper(), path)
        assert response.status_code == 404 and "nope" in response.json()["detail"]


async def test_delete(client):
    model = await create(client, SEED_NET)
    assert (await client.delete(f"/api/models/{model['id']}")).status_code == 204
    assert (await client.get(f"/api/models/{model['id']}")).status_code == 404


async def test_a_lazy_model_materializes_on_request(client):
    model = await create(client, {**SEED_NET, "input_shape": None})
    assert not model["materialized"] and model["layers"][0]["output_shape"] is None
    url = f"/api/models/{model['id']}"
    refused = await client.post(f"{url}/init", json={"rules": [{"scheme": "zeros"}]})
    assert refused.status_code == 409 and "materialize" in refused.json()["detail"]
    assert (await client.get(f"{url}/state_dict")).status_code == 409
    bad = await client.post(f"{url}/materialize", json={"input_shape": [0]})
    assert bad.status_code == 422 and bad.json()["detail"]["errors"][0]["path"] == "input_shape[0]"
    done = await client.post(f"{url}/materialize", json={"input_shape": [4]})
    assert done.status_code == 200 and done.headers["etag"] == '"2"'
    body = done.json()
    assert body["materialized"] and body["layers"][0]["type"] == "Linear" and body["layers"][2]["output_shape"] == [1]
    params = (await client.get(f"{url}/params")).json()
    assert [(p["name"], p["shape"]) for p in params] == [("0.weight", [8, 4]), ("0.bias", [8]), ("2.weight", [1, 8]),
                                                         ("2.bias", [1])]


async def test_init_reports_and_refuses_bad_rules(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}"
    response = await client.post(f"{url}/init", json={"seed": 3, "rules": [
        {"types": ["Linear"], "param": "weight", "scheme": "constant", "val": 42}]})
    assert response.status_code == 200 and response.json()["version"] == 2
    assert response.json()["report"]["applied"][0]["params"][1] == {"name": "2.weight", "positions": ["2", "4"]}
    bad = await client.post(f"{url}/init", json={"rules": [{"scheme": "expression", "expr": "__import__('os')"}]})
    assert bad.status_code == 422 and bad.json()["detail"]["errors"][0]["path"] == "rules[0].expr"
    assert (await client.get(url)).json()["version"] == 2


async def test_if_match(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}/init"
    body = {"rules": [{"scheme": "zeros", "param": "bias"}]}
    assert (await client.post(url, json=body, headers={"If-Match": '"1"'})).status_code == 200
    stale = await client.post(url, json=body, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and "version 2" in stale.json()["detail"]
    assert (await client.post(url, json=body, headers={"If-Match": "soon"})).status_code == 412
    assert (await client.post(url, json=body, headers={"If-Match": 'W/"2"'})).status_code == 200
    assert (await client.post(url, json=body, headers={"If-Match": "*"})).status_code == 200


async def test_clone_code_versions_and_restore(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}"
    await client.post(f"{url}/init", json={"rules": [{"scheme": "ones", "param": "weight"}]})
    clone = await client.post(f"{url}/clone")
    assert clone.status_code == 201 and clone.json()["id"] != model["id"] and clone.json()["version"] == 1
    compared = await client.post("/api/compare", json={"a": model["id"], "b": clone.json()["id"], "seed": 4})
    assert compared.json()["equal"] and compared.json()["max_abs_diff"] == 0.0
    code = await client.get(f"{url}/code")
    assert code.headers["content-type"].startswith("text/x-python") and "shared = nn.LazyLinear" in code.text
    versions = (await client.get(f"{url}/versions")).json()
    assert [(v["version"], v["action"]) for v in versions] == [(1, "create"), (2, "init")]
    restored = await client.post(f"{url}/versions/1/restore", headers={"If-Match": '"2"'})
    assert restored.status_code == 200 and restored.json()["version"] == 3
    old = (await client.get(f"{url}/params", params={"version": 1})).json()
    now = (await client.get(f"{url}/params")).json()
    assert old == now and now[0]["stats"]["min"] != 1.0
    assert (await client.post(f"{url}/versions/9/restore")).status_code == 404
    not_same = await client.post("/api/compare", json={"a": model["id"], "b": clone.json()["id"]})
    assert not not_same.json()["equal"] and not_same.json()["max_abs_diff"] > 0


async def test_check_a_spec_without_storing_it(client):
    checked = (await client.post("/api/specs/check", json=TIED_NET)).json()
    assert checked["ok"] and checked["param_count"] == 121 and checked["materialized"]
    assert [layer["output_shape"] for layer in checked["layers"]] == [[8], [8], [8], [8], [8], [8], [1]]
    assert checked["layers"][4]["tied_to"] == "2"
    lazy = (await client.post("/api/specs/check", json={**TIED_NET, "input_shape": None})).json()
    assert not lazy["materialized"] and lazy["layers"][0]["output_shape"] is None and lazy["param_count"] == 0
    broken = await client.post("/api/specs/check", json={"input_shape": [4], "layers": [
        {"type": "Linear", "in_features": 4, "out_features": 3}, {"type": "Linear", "in_features": 5,
                                                                  "out_features": 2}]})
    assert broken.status_code == 200 and not broken.json()["ok"]
    assert broken.json()["shape_error"]["layer"] == "1"
    assert broken.json()["shape_error"]["layers_before"] == [{"address": "0", "output_shape": [3]}]
    invalid = (await client.post("/api/specs/check", json={"layers": [{"type": "Linear", "out_features": 0}]})).json()
    assert [e["path"] for e in invalid["errors"]] == ["layers[0].in_features", "layers[0].out_features"]
    too_big = (await client.post("/api/specs/check", json={"layers": [
        {"type": "Linear", "in_features": 10**6, "out_features": 10**6}]})).json()
    assert not too_big["ok"] and "max_params" in too_big["errors"][0]["msg"]
    assert (await client.get("/api/models")).json() == []


async def test_a_rule_that_fails_midway_leaves_the_stored_values(client):
    model = await create(client, TIED_NET)
    url = f"/api/models/{model['id']}"
    before = (await client.get(f"{url}/state_dict")).json()
    failed = await client.post(f"{url}/init", json={"rules": [
        {"scheme": "zeros"}, {"scheme": "expression", "param": "weight", "expr": "1 / w"}]})
    assert failed.status_code == 422 and failed.json()["detail"]["errors"][0]["path"] == "rules[1].expr"
    assert (await client.get(f"{url}/state_dict")).json() == before
    assert (await client.get(url)).json()["version"] == 1
