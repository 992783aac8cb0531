"""Fixtures shared by every test layer: the registry, limits, and a spec -> Network helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from layerlab.build import Network, build
from layerlab.config import Limits
from layerlab.layers import Registry, default_registry
from layerlab.spec import parse_spec

CPU = torch.device("cpu")

@pytest.fixture(scope="session")
def registry() -> Registry:
    return default_registry()


@pytest.fixture
def limits() -> Limits:
    return Limits()


@pytest.fixture
def make_net(registry: Registry, limits: Limits) -> Callable[..., Network]:
    def make(spec: dict[str, Any], **overrides: Any) -> Network:
        return build(parse_spec({**spec, **overrides}), registry, limits, CPU)
    return make
