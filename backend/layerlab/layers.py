"""The layer registry: type name -> torch class, argument model, category, doc; ``catalog()``.

Argument models are derived from each constructor's own signature (names, annotations,
defaults), so a layer takes exactly the keyword arguments ``torch.nn`` documents, minus
``device``/``dtype`` (the service decides those) and private ``_x`` arguments.
Teams add their own ``nn.Module`` types with ``Registry.add``, from a plugin: a module named
in the ``plugins`` setting or an entry point in the ``layerlab.layers`` group, either one
exposing ``register(registry)``.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Annotated, Any, Literal, Union

import torch
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, create_model
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from . import custom

ENTRY_POINT_GROUP = "layerlab.layers"
InputKind = Literal["float", "index"]

# Bounds that torch checks late or not at all, applied to any argument of that name.
_POSITIVE = {"in_features", "out_features", "in1_features", "in2_features", "in_channels", "out_channels",
             "num_features", "num_embeddings", "embedding_dim", "num_groups", "num_channels",
             "num_parameters", "in_units", "units", "groups"}
_POSITIVE_EVERYWHERE = {"kernel_size", "stride", "dilation"}  # ints or tuples of ints, each at least 1
_BOUNDS: dict[str, dict[str, float]] = {"p": {"ge": 0.0, "le": 1.0}, "eps": {"gt": 0.0}}


class UnknownName(ValueError):
    """A lookup by a name no registry entry has; the message lists the valid names."""


@dataclass(frozen=True)
class LayerType:
    name: str
    cls: type[nn.Module]
    category: str
    doc: str
    args: type[BaseModel]
    example: dict[str, Any] = field(default_factory=dict)
    example_input: list[int] | None = None
    input_kind: InputKind = "float"
    inputs: int = 1

    @property
    def lazy(self) -> bool:
        return issubclass(self.cls, LazyModuleMixin)

    @property
    def arg_names(self) -> list[str]:
        return list(self.args.model_fields)

    def validate(self, args: dict[str, Any]) -> dict[str, Any]:
        """The arguments as the constructor takes them; only those given (its defaults stay its own)."""
        return self.args.model_validate(args).model_dump(exclude_unset=True)

    def construct(self, args: dict[str, Any]) -> nn.Module:
        return self.cls(**self.validate(args))

    def describe(self) -> dict[str, Any]:
        return {"type": self.name, "category": self.category, "lazy": self.lazy, "doc": self.doc,
                "schema": self.args.model_json_schema(), "example": self.example,
                "example_input": self.example_input, "input_kind": self.input_kind, "inputs": self.inputs}


class Registry:
    """Layer types by name. ``get`` names the known types when asked for an unknown one."""

    def __init__(self) -> None:
        self._types: dict[str, LayerType] = {}

    def add(self, cls: type[nn.Module], *, name: str | None = None, category: str = "custom",
            doc: str | None = None, example: dict[str, Any] | None = None,
            example_input: list[int] | None = None, input_kind: InputKind = "float", inputs: int = 1) -> LayerType:
        name = name or cls.__name__
        if name == "Sequential":
            raise ValueError("'Sequential' is the nested-block entry and cannot be registered")
        entry = LayerType(name=name, cls=cls, category=category, doc=doc or first_line(cls.__doc__),
                          args=args_model(cls, name), example=dict(example or {}),
                          example_input=example_input, input_kind=input_kind, inputs=inputs)
        self._types[name] = entry
        return entry

    def get(self, name: str) -> LayerType:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownName(f"unknown layer type {name!r}; known types: {', '.join(sorted(self._types))}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[LayerType]:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    def catalog(self) -> list[dict[str, Any]]:
        return [t.describe() for t in self._types.values()]


def first_line(doc: str | None) -> str:
    """The first sentence of a torch docstring, without reST markup."""
    text = " ".join((doc or "").strip().split("\n\n")[0].split())
    text = re.sub(r":(math|class|attr|func|meth):`~?([^`]*)`", r"\2", text).replace("``", "")
    return text


def _json_type(annotation: Any) -> Any:
    """Map torch-specific annotations to JSON-friendly ones (``torch.Size`` -> ``list[int]``)."""
    if annotation is torch.Size:
        return list[int]
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = tuple(dict.fromkeys(_json_type(a) for a in typing.get_args(annotation)))
        return Union[options]  # noqa: UP007 - built from a runtime tuple
    return annotation


def _mentions_tensor(annotation: Any) -> bool:
    return "Tensor" in repr(annotation) or "Module" in repr(annotation)


def _positive_ints(annotation: Any) -> Any:
    """The same type with every ``int`` in it (in unions and tuples too) at least 1."""
    if annotation is int:
        return Annotated[int, Field(ge=1)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return Union[tuple(_positive_ints(a) for a in args)]  # noqa: UP007 - built from a runtime tuple
    if origin in (tuple, list) and args:
        inner = tuple(a if a is Ellipsis else _positive_ints(a) for a in args)
        return origin[inner] if origin is tuple else list[inner[0]]  # type: ignore[valid-type]
    return annotation


def _constrained(name: str, annotation: Any) -> Any:
    if name in _POSITIVE_EVERYWHERE:
        return _positive_ints(annotation)
    if name in _POSITIVE and annotation is int:
        return Annotated[int, Field(ge=1)]
    if name in _BOUNDS and annotation is float:
        return Annotated[float, Field(**_BOUNDS[name])]  # type: ignore[call-overload]
    return annotation


def args_model(cls: type[nn.Module], name: str) -> type[BaseModel]:
    """A pydantic model of the constructor's keyword arguments, read off its signature."""
    return signature_model(cls.__init__, name, skip=1, exclude=("device", "dtype"))


def signature_model(fn: Callable[..., Any], name: str, skip: int, exclude: tuple[str, ...]) -> type[BaseModel]:
    """A pydantic model of ``fn``'s arguments after the first ``skip``, less ``exclude`` and ``_private``."""
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the defaults' types
        hints = {}
    fields: dict[str, Any] = {}
    for param in list(signature.parameters.values())[skip:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in exclude or param.name.startswith("_"):
            continue
        default = ... if param.default is param.empty else param.default
        annotation = hints.get(param.name)
        if annotation is None:
            annotation = JsonValue if default in (..., None) else type(default)
        if _mentions_tensor(annotation):
            if default is ...:
                raise ValueError(f"{name}: argument {param.name!r} takes a tensor and has no default")
            continue
        annotation = _json_type(annotation)
        if param.name == "padding" and annotation is not str:
            annotation = Union[annotation, str]  # noqa: UP007 - the lazy convolutions take "same" too, unannotated
        fields[param.name] = (_constrained(param.name, annotation), default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=False, allow_inf_nan=False)
    return create_model(f"{name}Args", __config__=config, **fields)


def _builtin_types() -> list[tuple[str, str, dict[str, Any], list[int] | None]]:
    """(type, category, example arguments, example input shape) for every built-in type."""
    conv = {"in_channels": 2, "out_channels": 3, "kernel_size": 3}
    lazy_conv = {"out_channels": 3, "kernel_size": 3}
    shape_1d, shape_2d, shape_3d = [2, 8], [2, 8, 8], [2, 6, 6, 6]
    table: list[tuple[str, str, dict[str, Any], list[int] | None]] = [
        ("Linear", "linear", {"in_features": 4, "out_features": 3}, [4]),
        ("LazyLinear", "linear", {"out_features": 3}, [4]),
        ("Bilinear", "linear", {"in1_features": 4, "in2_features": 4, "out_features": 3}, None),
        ("Identity", "linear", {}, [4]),
        ("Conv1d", "convolution", conv, shape_1d),
        ("Conv2d", "convolution", conv, shape_2d),
        ("Conv3d", "convolution", conv, shape_3d),
        ("LazyConv1d", "convolution", lazy_conv, shape_1d),
        ("LazyConv2d", "convolution", lazy_conv, shape_2d),
        ("LazyConv3d", "convolution", lazy_conv, shape_3d),
        ("ConvTranspose1d", "convolution", conv, shape_1d),
        ("ConvTranspose2d", "convolution", conv, shape_2d),
        ("LazyConvTranspose1d", "convolution", lazy_conv, shape_1d),
        ("LazyConvTranspose2d", "convolution", lazy_conv, shape_2d),
        ("MaxPool1d", "pooling", {"kernel_size": 2}, shape_1d),
        ("MaxPool2d", "pooling", {"kernel_size": 2}, shape_2d),
        ("AvgPool1d", "pooling", {"kernel_size": 2}, shape_1d),
        ("AvgPool2d", "pooling", {"kernel_size": 2}, shape_2d),
        ("AdaptiveAvgPool1d", "pooling", {"output_size": 2}, shape_1d),
        ("AdaptiveAvgPool2d", "pooling", {"output_size": [2, 2]}, shape_2d),
        ("BatchNorm1d", "normalization", {"num_features": 4}, [4]),
        ("BatchNorm2d", "normalization", {"num_features": 2}, shape_2d),
        ("LazyBatchNorm1d", "normalization", {}, [4]),
        ("LazyBatchNorm2d", "normalization", {}, shape_2d),
        ("LayerNorm", "normalization", {"normalized_shape": [4]}, [4]),
        ("GroupNorm", "normalization", {"num_groups": 2, "num_channels": 4}, [4, 5]),
        ("InstanceNorm1d", "normalization", {"num_features": 2, "affine": True}, shape_1d),
        ("InstanceNorm2d", "normalization", {"num_features": 2, "affine": True}, shape_2d),
        ("Dropout", "dropout", {"p": 0.5}, [4]),
        ("Dropout1d", "dropout", {"p": 0.5}, shape_1d),
        ("Dropout2d", "dropout", {"p": 0.5}, shape_2d),
        ("Flatten", "shape", {}, [2, 3, 3]),
        ("Unflatten", "shape", {"dim": 1, "unflattened_size": [2, 2]}, [4]),
        ("Embedding", "embedding", {"num_embeddings": 10, "embedding_dim": 3}, [5]),
        ("PReLU", "activation", {}, [4]),
        ("Softmax", "activation", {"dim": -1}, [4]),
        ("LogSoftmax", "activation", {"dim": -1}, [4]),
    ]
    for name in ("ReLU", "LeakyReLU", "ReLU6", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid",
                 "Tanh", "Hardtanh", "Softplus", "Softsign"):
        table.append((name, "activation", {}, [4]))
    return table


def default_registry(plugins: list[str] | tuple[str, ...] = ()) -> Registry:
    """The built-in types, the builder's-guide custom layers, then every plugin's types."""
    registry = Registry()
    for name, category, example, example_input in _builtin_types():
        registry.add(getattr(nn, name), category=category, example=example, example_input=example_input,
                     input_kind="index" if name == "Embedding" else "float",
                     inputs=2 if name == "Bilinear" else 1)
    registry.add(custom.MyLinear, example={"in_units": 4, "units": 3}, example_input=[4])
    registry.add(custom.CenteredLayer, example={}, example_input=[4])
    for register in _plugin_hooks(plugins):
        register(registry)
    return registry


def _plugin_hooks(plugins: list[str] | tuple[str, ...]) -> list[Callable[[Registry], None]]:
    hooks: list[Callable[[Registry], None]] = [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)]
    for path in plugins:
        module = importlib.import_module(path)
        if not callable(getattr(module, "register", None)):
            raise ValueError(f"plugin module {path!r} has no register(registry) function")
        hooks.append(module.register)
    return hooks


def validation_messages(exc: ValidationError) -> list[tuple[tuple[int | str, ...], str]]:
    """(location, message) pairs, with pydantic's wording made plain: the members of a union
    (``kernel_size.tuple[int, int][0]``) are folded into one message at the argument."""
    merged: dict[tuple[int | str, ...], list[str]] = {}
    for err in exc.errors(include_url=False):
        msg = "unexpected argument" if err["type"] == "extra_forbidden" else err["msg"]
        loc = tuple(err["loc"])
        member = next((i for i, part in enumerate(loc) if isinstance(part, str) and _UNION_MEMBER.match(part)), None)
        if member is not None:
            loc = loc[:member]  # what one member of a union said belongs to the argument itself
        merged.setdefault(loc, [])
        if msg not in merged[loc]:
            merged[loc].append(msg)
    return [(loc, " or ".join(msgs)) for loc, msgs in merged.items()]


_UNION_MEMBER = re.compile(r"^(int|float|str|bool|none|list\[.*|tuple\[.*|literal\[.*|dict\[.*|function-.*)$")
