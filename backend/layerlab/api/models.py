"""Models: create, list, read, delete, materialize, init, clone, code, versions, restore."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import PlainTextResponse

from ..spec import InitRequest, NetworkSpec
from .deps import IfMatch, ModelId, ServiceDep, errors, set_etag
from .schemas import MaterializeRequest, Model, ModelSummary, Version

router = APIRouter(prefix="/api/models", tags=["models"])


def _answer(response: Response, model: dict[str, Any]) -> dict[str, Any]:
    set_etag(response, model["version"])
    return model


@router.post("", status_code=201, response_model=Model, responses=errors(413, 422),
             summary="build a network from a spec; materialized at once where input_shape is given")
def create(spec: NetworkSpec, service: ServiceDep, response: Response) -> dict[str, Any]:
    return _answer(response, service.create(spec))


@router.get("", response_model=list[ModelSummary])
def list_models(service: ServiceDep) -> list[dict[str, Any]]:
    return service.models()


@router.get("/{model_id}", response_model=Model, responses=errors(404))
def get(model_id: ModelId, service: ServiceDep, response: Response) -> dict[str, Any]:
    return _answer(response, service.get(model_id))


@router.delete("/{model_id}", status_code=204, responses=errors(404))
def delete(model_id: ModelId, service: ServiceDep) -> Response:
    service.delete(model_id)
    return Response(status_code=204)


@router.post("/{model_id}/materialize", response_model=Model, responses=errors(404, 412, 413, 422),
             summary="a dry-run forward that gives lazy layers their shapes")
def materialize(model_id: ModelId, body: MaterializeRequest, service: ServiceDep, response: Response,
                version: IfMatch) -> dict[str, Any]:
    return _answer(response, service.materialize(model_id, body.input_shape, version))


@router.post("/{model_id}/init", response_model=Model, responses=errors(404, 409, 412, 413, 422),
             summary="apply init rules in order (same seed and rules, same parameters)")
def initialize(model_id: ModelId, body: InitRequest, service: ServiceDep, response: Response,
               version: IfMatch) -> dict[str, Any]:
    return _answer(response, service.init(model_id, body, version))


@router.post("/{model_id}/clone", status_code=201, response_model=Model, responses=errors(404))
def clone(model_id: ModelId, service: ServiceDep, response: Response) -> dict[str, Any]:
    return _answer(response, service.clone(model_id))


@router.get("/{model_id}/code", response_class=PlainTextResponse, responses=errors(404),
            summary="runnable PyTorch source that rebuilds the network, ties and all")
def code(model_id: ModelId, service: ServiceDep) -> PlainTextResponse:
    return PlainTextResponse(service.code(model_id), media_type="text/x-python")


@router.get("/{model_id}/versions", response_model=list[Version], responses=errors(404))
def versions(model_id: ModelId, service: ServiceDep) -> list[dict[str, Any]]:
    return service.versions(model_id)


@router.post("/{model_id}/versions/{version}/restore", response_model=Model, responses=errors(404, 412),
             summary="a new version with the spec and values of an old one")
def restore(model_id: ModelId, version: Annotated[int, Path(ge=1, le=2**63 - 1)], service: ServiceDep,
            response: Response, if_match: IfMatch) -> dict[str, Any]:
    return _answer(response, service.restore(model_id, version, if_match))
