"""Forward passes and comparisons."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..errors import NotFoundError
from .deps import ModelId, ServiceDep, errors
from .schemas import CompareRequest, ForwardRequest

router = APIRouter(prefix="/api", tags=["forward"])


@router.post("/models/{model_id}/forward", responses=errors(404, 409, 413, 422),
             summary="the output and, per layer, the activation shape, stats and histogram")
def forward(model_id: ModelId, body: ForwardRequest, service: ServiceDep) -> dict[str, Any]:
    return service.forward(model_id, data=body.input, batch=body.batch, seed=body.seed, mode=body.mode,
                           bins=body.bins)


@router.post("/compare", responses=errors(404, 409, 422), summary="the same seeded batch through two models")
def compare(body: CompareRequest, service: ServiceDep) -> dict[str, Any]:
    for model_id in (body.a, body.b):
        if not service.exists(model_id):
            raise NotFoundError(f"no model {model_id!r}")
    return service.compare(body.a, body.b, body.batch, body.seed)
