"""The engine's errors: each says what was wrong and where, and maps to one HTTP status.

The core never imports FastAPI; the service turns these into responses by ``status``.
"""

from __future__ import annotations

from typing import Any


class LayerLabError(Exception):
    """Base class. ``detail`` is what a client sees (a string or a JSON-able structure)."""

    status = 422

    def __init__(self, detail: Any) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail


class SpecError(LayerLabError):
    """An invalid spec, rule or argument; ``errors`` lists ``{path, msg}`` for every problem."""

    status = 422

    def __init__(self, errors: list[dict[str, Any]], **extra: Any) -> None:
        self.errors = errors
        self.extra = extra
        super().__init__({"errors": errors, **extra})

    @classmethod
    def at(cls, path: str, msg: str, **extra: Any) -> SpecError:
        return cls([{"path": path, "msg": msg}], **extra)

    def __str__(self) -> str:
        return "; ".join(f"{e['path']}: {e['msg']}" if e["path"] else e["msg"] for e in self.errors)


class LimitError(LayerLabError):
    """A configured limit was passed; refused before the work was done."""

    status = 413

    def __init__(self, limit: str, value: int | float, actual: int | float | None = None, what: str = "") -> None:
        self.limit, self.value, self.actual = limit, value, actual
        msg = f"{what or limit} is over the limit {limit}={value}"
        if actual is not None:
            msg = f"{what or limit} ({actual}) is over the limit {limit}={value}"
        super().__init__({"msg": msg, "limit": limit, "value": value, "actual": actual})

    def __str__(self) -> str:
        return str(self.detail["msg"])


class NotMaterializedError(LayerLabError):
    status = 409

    def __init__(self, what: str = "this operation") -> None:
        super().__init__(
            f"the network has uninitialized lazy parameters: materialize it with an input shape before {what}"
        )


class NotFoundError(LayerLabError):
    status = 404


class FileFormatError(LayerLabError):
    """Bytes in no supported format."""

    status = 415


class FileContentError(LayerLabError):
    """A file in a supported format whose content cannot be used (a report says why)."""

    status = 422
