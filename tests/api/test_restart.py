"""The real `layerlab serve` process: stop it, start it on the same data directory, find everything."""

from __future__ import annotations

import httpx

from tests.serve import Server
from tests.specs import SEED_NET, TIED_NET


def snapshot(client: httpx.Client, model_id: str) -> dict:
    return {"model": client.get(f"/api/models/{model_id}").json(),
            "state": client.get(f"/api/models/{model_id}/state_dict").json(),
            "versions": client.get(f"/api/models/{model_id}/versions").json(),
            "old": client.get(f"/api/models/{model_id}/params", params={"version": 1}).json()}


def test_a_restart_keeps_every_model(tmp_path):
    with Server(tmp_path) as client:
        tied = client.post("/api/models", json=TIED_NET).json()["id"]
        client.patch(f"/api/models/{tied}/params/2.weight", json={"index": [0, 0], "value": 100})
        client.post(f"/api/models/{tied}/init", json={"seed": 2, "rules": [{"scheme": "zeros", "param": "bias"}]})
        lazy = client.post("/api/models", json={**SEED_NET, "input_shape": None}).json()["id"]
        gone = client.post("/api/models", json=SEED_NET).json()["id"]
        assert client.delete(f"/api/models/{gone}").status_code == 204
        before = {m: snapshot(client, m) for m in (tied,)}
        lazy_before = client.get(f"/api/models/{lazy}").json()
        listed = client.get("/api/models").json()
    with Server(tmp_path) as client:
        assert client.get("/api/models").json() == listed
        assert {m: snapshot(client, m) for m in (tied,)} == before
        assert client.get(f"/api/models/{lazy}").json() == lazy_before
        assert client.get(f"/api/models/{gone}").status_code == 404
        client.patch(f"/api/models/{tied}/params/4.weight", json={"index": [1, 1], "value": 5})
        state = client.get(f"/api/models/{tied}/state_dict").json()
        assert state["2.weight"]["values"][1][1] == 5.0  # the tie survived the rebuild
        assert client.post(f"/api/models/{lazy}/materialize", json={"input_shape": [4]}).json()["materialized"]
