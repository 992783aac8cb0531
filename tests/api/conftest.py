"""In-process HTTP tests: httpx.AsyncClient over ASGITransport, a fresh data directory each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from layerlab.app import create_app
from layerlab.config import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_client(tmp_path) -> Callable[..., Any]:
    @asynccontextmanager
    async def make(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(Settings(data_dir=tmp_path / "data", **settings))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://layerlab") as client:
            yield client
    return make


@pytest.fixture
async def client(make_client) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


async def create(client: httpx.AsyncClient, spec: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/models", json=spec)
    assert response.status_code == 201, response.text
    return response.json()
