"""Seeded randomness that holds under concurrency.

``torch.nn.init`` schemes and random inputs take an explicit per-call ``torch.Generator``.
Module code that can only use the global RNG (``reset_parameters``, lazy materialization,
dropout in a forward pass) runs under ``global_seed``: one process-wide lock, the RNG state
forked and restored, so two requests never interleave their draws.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_GLOBAL_RNG_LOCK = threading.RLock()


def new_seed() -> int:
    """A fresh seed for calls that did not give one; it is reported so the call can be repeated.

    Below 2**53, so that JavaScript clients (whose numbers are doubles) read it back exactly.
    """
    return secrets.randbits(53)


def generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


@contextmanager
def global_seed(seed: int, device: torch.device) -> Iterator[None]:
    devices = [device.index or 0] if device.type == "cuda" else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
