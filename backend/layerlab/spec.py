"""The network spec and the init rules, as pydantic models (see API.md).

Only the structure is checked here; layer arguments are checked against the layer registry
when the spec is compiled (``build.check_spec``), so this module knows nothing of ``torch``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import SpecError

DType = Literal["float32", "float64", "float16", "bfloat16"]
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$"


class Entry(BaseModel):
    """One position of a ``Sequential``: a layer, a tie to a named entry, or a nested block.

    Layer arguments are the extra keys, named as the ``torch.nn`` constructor names them.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str | None = None
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    tie: str | None = None
    layers: list[Entry] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Entry:
        if self.tie is not None:
            others = sorted(set(self.model_fields_set) - {"tie"})
            if others:
                raise ValueError(f"a tie entry holds only 'tie', not {others}")
        elif self.type is None:
            raise ValueError("an entry needs 'type' (a layer or 'Sequential') or 'tie'")
        elif self.type == "Sequential":
            if self.layers is None:
                raise ValueError("a Sequential block needs 'layers'")
            if self.args:
                raise ValueError(f"a Sequential block takes only 'layers' and 'name', not {sorted(self.args)}")
        elif self.layers is not None:
            raise ValueError("'layers' belongs only to a 'Sequential' block")
        return self

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def kind(self) -> Literal["tie", "block", "layer"]:
        if self.tie is not None:
            return "tie"
        return "block" if self.type == "Sequential" else "layer"

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class NetworkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="network", min_length=1, max_length=200)
    input_shape: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(default=None, max_length=8)
    dtype: DType = "float32"
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1, description="seed of the construction-time init")
    layers: list[Entry] = Field(min_length=1)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class InitRule(BaseModel):
    """Apply ``scheme`` (a ``torch.nn.init`` name, ``default`` or ``expression``) to the targets.

    Scheme arguments are the extra keys (``mean``, ``std``, ``gain``, ``expr``, ...).
    """

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    layers: list[str] | None = None
    types: list[str] | None = None
    param: str = Field(default="*", pattern=r"^(\*|[A-Za-z_][A-Za-z0-9_]*)$")
    scheme: str

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class InitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    rules: list[InitRule] = Field(min_length=1)


def error_path(loc: tuple[int | str, ...]) -> str:
    """``('layers', 3, 'out_features')`` -> ``layers[3].out_features``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def spec_errors(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(p for p in err["loc"] if not str(p).startswith("function-after"))
        msg = "unexpected key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        errors.append({"path": error_path(loc), "msg": msg})
    return errors


def parse_spec(data: Any) -> NetworkSpec:
    """Validate a JSON spec; a ``SpecError`` names the path of every problem."""
    try:
        return NetworkSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(spec_errors(exc)) from None


def parse_init(data: Any) -> InitRequest:
    try:
        return InitRequest.model_validate(data)
    except ValidationError as exc:
        raise SpecError(spec_errors(exc)) from None
