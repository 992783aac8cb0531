"""Health, the layer and init catalogs, and specs read from source code."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .. import init
from ..spec import NetworkSpec
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


@router.post("/specs/check", responses=errors(413, 422),
             summary="layers, output shapes and counts the spec would build, on the meta device; nothing stored")
def check(spec: NetworkSpec, service: ServiceDep) -> dict[str, Any]:
    return service.check(spec)


@router.post("/specs/from-code", summary="a spec parsed from nn.Sequential(...) source; nothing is executed",
             responses=errors(413, 422))
def from_code(body: CodeRequest, service: ServiceDep) -> dict[str, Any]:
    return service.from_code(body.code)
