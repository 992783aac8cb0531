"""Parameters: named_parameters, state-dict views, value pages, setting one element, histograms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from ..errors import SpecError
from .deps import IfMatch, ModelId, ServiceDep, errors, set_etag
from .schemas import Param, SetElementRequest

router = APIRouter(prefix="/api/models/{model_id}", tags=["parameters"])
VersionQuery = Annotated[int | None, Query(ge=1, le=2**63 - 1,
                                           description="read a kept version instead of the current one")]


@router.get("/params", response_model=list[Param], responses=errors(404),
            summary="named_parameters(): each shared tensor once, with its tied aliases")
def params(model_id: ModelId, service: ServiceDep, version: VersionQuery = None) -> list[dict[str, Any]]:
    return service.params(model_id, version)


@router.get("/state_dict", responses=errors(404, 409, 413), summary="net.state_dict() or net[layer].state_dict()")
def state_dict(model_id: ModelId, service: ServiceDep, layer: str | None = None,
               version: VersionQuery = None) -> dict[str, Any]:
    return service.state_dict(model_id, layer, version)


@router.get("/params/{name}/values", responses=errors(404, 409, 413), summary="a page of one tensor's values")
def values(model_id: ModelId, name: str, service: ServiceDep, offset: Annotated[int, Query(ge=0)] = 0,
           limit: Annotated[int | None, Query(ge=0)] = None, version: VersionQuery = None) -> dict[str, Any]:
    return service.values(model_id, name, offset, limit, version)


@router.patch("/params/{name}", responses=errors(404, 409, 412, 422),
              summary="set one element; every tied alias sees it")
def set_element(model_id: ModelId, name: str, body: SetElementRequest, service: ServiceDep, response: Response,
                if_match: IfMatch) -> dict[str, Any]:
    result = service.set_element(model_id, name, body.index, body.value, if_match)
    set_etag(response, result["version"])
    return result


@router.get("/histograms", responses=errors(404, 409, 413, 422), summary="histograms and stats per parameter")
def histograms(model_id: ModelId, service: ServiceDep, bins: int = 30,
               names: Annotated[list[str] | None, Query(description="repeat, or separate with commas")] = None,
               lo: Annotated[float | None, Query(description="a shared range's low end")] = None,
               hi: Annotated[float | None, Query(description="a shared range's high end")] = None,
               version: VersionQuery = None) -> dict[str, Any]:
    chosen = [n for item in names for n in item.split(",") if n] if names else None
    if (lo is None) != (hi is None) or (lo is not None and hi is not None and not lo < hi):
        raise SpecError.at("lo", "give both lo and hi, with lo < hi, for a shared range")
    value_range = (lo, hi) if lo is not None and hi is not None else None
    return service.histograms(model_id, version, bins, chosen, value_range)
