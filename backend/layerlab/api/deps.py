"""What routers share: the service, the model-or-404 lookup, If-Match, ETag and error docs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request, Response
from pydantic import BaseModel

from ..errors import NotFoundError
from ..service import ModelService
from ..store import StaleVersionError


def get_service(request: Request) -> ModelService:
    service: ModelService = request.app.state.service
    return service


ServiceDep = Annotated[ModelService, Depends(get_service)]


def existing_model(model_id: Annotated[str, Path(description="the model's id")], service: ServiceDep) -> str:
    if not service.exists(model_id):
        raise NotFoundError(f"no model {model_id!r}")
    return model_id


ModelId = Annotated[str, Depends(existing_model)]
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def if_match(if_match: Annotated[str | None, Header(description='the version the change is based on, e.g. "3"')]
             = None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match)
    if not found:
        raise StaleVersionError(f'If-Match must name a version, such as "3"; got {if_match!r}')
    return int(found.group(1))


IfMatch = Annotated[int | None, Depends(if_match)]


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


class Error(BaseModel):
    detail: Any


_MEANING = {404: "unknown model, version or parameter", 409: "the model is not materialized yet",
            412: "If-Match names a stale version", 413: "over a configured limit (the detail names it)",
            415: "a file in no supported format", 422: "an invalid spec, rule, expression, input or file"}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses an endpoint can answer."""
    return {code: {"model": Error, "description": _MEANING[code]} for code in codes}
