"""Health, the layer and init catalogs, and specs read from source code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from .. import init
from .deps import ServiceDep, errors
from .schemas import CodeRequest, Health

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/health", response_model=Health)
def health(service: ServiceDep) -> dict[str, Any]:
    return service.health()


@router.get("/layers", summary="the layer catalog")
def layers(service: ServiceDep) -> list[dict[str, Any]]:
    return service.registry.catalog()


@router.get("/inits", summary="the init-scheme catalog")
def inits() -> list[dict[str, Any]]:
    return init.catalog()


@router.post("/specs/check", summary="a draft spec checked on the meta device; nothing stored",
             description="Always 200 for a JSON body: `ok` says whether the spec would build; `errors` lists "
                         "`{path, msg}`; `shape_error` names the failing layer and keeps the layers before it.")
def check(spec: Annotated[dict[str, Any], Body(description="a network spec, as for POST /api/models")],
          service: ServiceDep) -> dict[str, Any]:
    return service.check(spec)


@router.post("/specs/from-code", summary="a spec parsed from nn.Sequential(...) source; nothing is executed",
             responses=errors(413, 422))
def from_code(body: CodeRequest, service: ServiceDep) -> dict[str, Any]:
    return service.from_code(body.code)
