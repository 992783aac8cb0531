"""Request and response bodies that are the service's own (the spec and rules live in ``spec``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PositiveInt = Annotated[int, Field(ge=1)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaterializeRequest(Body):
    input_shape: list[PositiveInt] = Field(min_length=1, max_length=8)


class SetElementRequest(Body):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    index: list[int] = Field(min_length=0, max_length=8)
    value: float


class ForwardRequest(Body):
    input: Any = Field(default=None, description="nested lists, batch first; a seeded random batch when absent")
    batch: PositiveInt = 2
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    mode: Literal["eval", "train"] = "eval"
    bins: PositiveInt = 30


class CompareRequest(Body):
    a: str
    b: str
    batch: PositiveInt = 2
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)


class CodeRequest(Body):
    code: str


class Health(BaseModel):
    status: str
    version: str
    torch: str
    device: str


class Layer(BaseModel):
    address: str
    type: str
    repr: str
    tied_to: str | None
    param_count: int
    output_shape: list[int] | None


class Model(BaseModel):
    id: str
    name: str
    version: int
    device: str
    dtype: str
    materialized: bool
    param_count: int
    spec: dict[str, Any]
    layers: list[Layer]
    created: float | None = None
    updated: float | None = None
    report: dict[str, Any] | None = Field(default=None, description="what an init did (init only)")


class ModelSummary(BaseModel):
    id: str
    name: str
    version: int
    param_count: int
    created: float
    updated: float


class Version(BaseModel):
    version: int
    action: str
    created: float
    param_count: int
    materialized: bool


class Param(BaseModel):
    name: str
    layer: str
    shape: list[int] | None
    dtype: str
    numel: int | None
    requires_grad: bool
    tied: list[str]
    stats: dict[str, Any] | None


class LoadReport(BaseModel):
    format: str
    strict: bool
    loaded: list[str]
    missing: list[str]
    unexpected: list[str]
    mismatched: list[dict[str, Any]]
    converted: list[dict[str, Any]]
    tied_conflicts: list[dict[str, Any]]
    version: int
