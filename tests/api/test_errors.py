"""Errors: content never produces a 500 with internals; the OpenAPI document lists error responses."""

from __future__ import annotations

import pytest

from tests.api.conftest import create
from tests.specs import SEED_NET

pytestmark = pytest.mark.anyio


async def test_an_unexpected_failure_is_a_plain_500_with_a_request_id(client, monkeypatch, caplog):
    model = await create(client, SEED_NET)
    service = client._transport.app.state.service

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals /srv/path")

    monkeypatch.setattr(service, "params", broken)
    response = await client.get(f"/api/models/{model['id']}/params")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {"detail": f"internal error (request id {request_id})"}
    assert "secret" not in response.text
    assert any(request_id in record.getMessage() for record in caplog.records)


async def test_malformed_json_is_422(client):
    response = await client.post("/api/models", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"]["errors"]


async def test_openapi_documents_every_endpoint_and_its_errors(client):
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for path, method, codes in [
        ("/api/models", "post", {"201", "413", "422"}),
        ("/api/models/{model_id}/init", "post", {"404", "409", "412", "422"}),
        ("/api/models/{model_id}/state_dict/file", "put", {"413", "415", "422"}),
        ("/api/models/{model_id}/params/{name}", "patch", {"404", "412", "422"}),
        ("/api/files/inspect", "post", {"413", "415"}),
    ]:
        assert codes <= set(paths[path][method]["responses"]), (path, method)
    assert "multipart/form-data" in paths["/api/models/{model_id}/state_dict/file"]["put"]["requestBody"]["content"]
    assert (await client.get("/docs")).status_code == 200
