"""create_app(): the routers, the page, plotly.js from the plotly package, and error handlers."""

from __future__ import annotations

import importlib.resources
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__
from .api import catalog, files, models, params, run
from .config import Settings
from .errors import LayerLabError
from .service import ModelService
from .spec import error_path

log = logging.getLogger("layerlab")


class RequestId:
    """Gives every request an id (``X-Request-ID``), so a logged failure can be found."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings | None = None, service: ModelService | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="LayerLab", version=__version__,
                  description="Assemble PyTorch networks from JSON specs and look inside them.")
    app.state.service = service or ModelService(settings)
    for module in (catalog, models, params, run, files):
        app.include_router(module.router)
    app.add_exception_handler(LayerLabError, _engine_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RequestId)

    plotly_js = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(str(plotly_js), media_type="text/javascript")

    if settings.frontend_dir.is_dir():
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="page")
    return app


async def _engine_error(request: Request, exc: LayerLabError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        loc = loc[1:] if loc[:1] == ("body",) else loc
        msg = "unexpected key" if err.get("type") == "extra_forbidden" else str(err.get("msg", ""))
        errors.append({"path": error_path(loc), "msg": msg.removeprefix("Value error, ")})
    return JSONResponse({"detail": {"errors": errors}}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "-")
    log.exception("request %s failed: %s %s", request_id, request.method, request.url.path)
    # This handler runs outside the middleware stack, so the id header is set here too.
    return JSONResponse({"detail": f"internal error (request id {request_id})"}, status_code=500,
                        headers={"X-Request-ID": request_id})
