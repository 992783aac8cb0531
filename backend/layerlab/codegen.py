"""spec -> runnable PyTorch source, and source -> spec by walking the AST (never executed).

Every named entry becomes a variable (``shared = nn.LazyLinear(out_features=8)``), so a tie is
the same variable used again, exactly as the builder's guide writes it. Reading source accepts
that shape back: imports, the custom layer classes LayerLab knows, assignments of modules and
``nn.Sequential(...)``, an example input (``X = torch.randn(2, 4)``) and calls ``net(X)``.
Argument values must be literals (``ast.literal_eval``); anything else is an error with its
line and column.
"""

from __future__ import annotations

import ast
import inspect
import keyword
from typing import Any

from torch import nn

from . import custom
from .config import Limits
from .errors import SpecError
from .layers import Registry, UnknownName
from .spec import Entry, NetworkSpec

RESERVED = {"torch", "nn", "F", "net", "X", "Y"}
INPUT_FACTORIES = {"randn", "rand", "zeros", "ones", "empty", "randint"}


class CodeError(SpecError):
    pass


# --- spec -> source --------------------------------------------------------------------------

def to_code(spec: NetworkSpec, registry: Registry) -> str:
    """Python source that rebuilds the network: ties are one instance, lazy layers materialized."""
    variables: dict[str, str] = {}  # spec name -> Python identifier
    definitions: list[str] = []
    used_types: set[str] = set()
    named = _named_entries(spec.layers)

    def identifier(name: str) -> str:
        if name not in variables:
            base = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
            base = base if base.isidentifier() and not keyword.iskeyword(base) else f"layer_{base}"
            candidate, n = base, 2
            while candidate in RESERVED or candidate in variables.values():
                candidate, n = f"{base}_{n}", n + 1
            variables[name] = candidate
        return variables[name]

    def expression(entry: Entry, indent: int) -> str:
        if entry.kind == "tie" or entry.name:
            name = entry.tie if entry.kind == "tie" else entry.name
            assert name is not None
            if name not in variables:
                var = identifier(name)
                definitions.append(f"{var} = {construct(named[name], 0)}")
            return variables[name]
        return construct(entry, indent)

    def construct(entry: Entry, indent: int) -> str:
        if entry.kind == "block":
            pad = "    " * (indent + 1)
            inner = "".join(f"{pad}{expression(e, indent + 1)},\n" for e in entry.layers or [])
            return f"nn.Sequential(\n{inner}{'    ' * indent})"
        assert entry.type is not None
        layer_type = registry.get(entry.type)
        used_types.add(entry.type)
        args = ", ".join(f"{k}={v!r}" for k, v in layer_type.validate(entry.args).items())
        prefix = "nn." if getattr(nn, entry.type, None) is layer_type.cls else ""
        return f"{prefix}{entry.type}({args})"

    body = "".join(f"    {expression(e, 1)},\n" for e in spec.layers)
    lines = ["import torch", "import torch.nn.functional as F", "from torch import nn", ""]
    lines += _class_sources(used_types, registry)
    if definitions:
        lines += ["# Named modules: a module used at several positions is one instance (tied parameters).",
                  *definitions, ""]
    lines.append(f"net = nn.Sequential(\n{body})")
    if spec.input_shape is not None:
        lines += ["", f"X = torch.randn({', '.join(map(str, [2, *spec.input_shape]))})",
                  "Y = net(X)  # a first forward pass gives lazy layers their shapes"]
    return "\n".join(lines) + "\n"


def _named_entries(entries: list[Entry]) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for entry in entries:
        if entry.name:
            out[entry.name] = entry
        if entry.kind == "block":
            out.update(_named_entries(entry.layers or []))
    return out


def _class_sources(used: set[str], registry: Registry) -> list[str]:
    lines = []
    for name in sorted(used):
        cls = registry.get(name).cls
        if getattr(nn, name, None) is cls:
            continue
        if cls.__module__ == custom.__name__:
            lines += [inspect.getsource(cls), ""]
        else:
            lines += [f"from {cls.__module__} import {cls.__qualname__} as {name}", ""]
    return lines


# --- source -> spec --------------------------------------------------------------------------

def from_code(source: str, registry: Registry, limits: Limits) -> dict[str, Any]:
    """A spec (as JSON data) from ``nn.Sequential(...)`` source; nothing in it is executed."""
    if len(source) > limits.max_code_length:
        raise CodeError.at("code", f"{len(source)} characters; the limit max_code_length is {limits.max_code_length}")
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line, col = getattr(exc, "lineno", None) or "?", getattr(exc, "offset", None) or "?"
        raise CodeError.at("code", f"line {line}, col {col}: not valid Python: {getattr(exc, 'msg', exc)}") from None
    return _Reader(registry).read(tree)


def _fail(node: ast.AST, msg: str) -> CodeError:
    line, col = getattr(node, "lineno", "?"), getattr(node, "col_offset", -1) + 1
    return CodeError([{"path": "code", "msg": f"line {line}, col {col}: {msg}"}])


class _Reader:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.modules: dict[str, ast.Call] = {}  # variable -> constructor call (a layer or a Sequential)
        self.inputs: dict[str, list[int]] = {}
        self.calls: list[tuple[str, str]] = []  # net(X): (module variable, input variable)
        self.emitted: set[str] = set()
        self.nested: set[str] = set()

    def read(self, tree: ast.Module) -> dict[str, Any]:
        last_sequential: tuple[str, ast.Call] | None = None
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(stmt, ast.ClassDef):
                if stmt.name not in self.registry:
                    raise _fail(stmt, f"class {stmt.name} is not a registered layer type; classes are never run")
                continue
            if isinstance(stmt, ast.Expr):
                if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                    continue  # a docstring
                if isinstance(stmt.value, ast.Call) and self._is_sequential(stmt.value):
                    last_sequential = ("net", stmt.value)
                    continue
                self._forward_call(stmt.value, stmt)
                continue
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                raise _fail(stmt, f"{type(stmt).__name__} is not supported: only imports, module assignments, "
                                  "nn.Sequential(...), an example input and net(X)")
            name, value = stmt.targets[0].id, stmt.value
            if not isinstance(value, ast.Call):
                raise _fail(value, f"{name} = ... must be a module, an example input or net(X)")
            if self._input_shape(value) is not None:
                self.inputs[name] = self._input_shape(value) or []
            elif self._is_sequential(value) or self._layer_type(value) is not None:
                self.modules[name] = value
                if self._is_sequential(value):
                    last_sequential = (name, value)
            else:
                self._forward_call(value, stmt)
        if last_sequential is None:
            raise CodeError.at("code", "no nn.Sequential(...) found")
        net_name, call = last_sequential
        if "net" in self.modules and self._is_sequential(self.modules["net"]):
            net_name, call = "net", self.modules["net"]
        self.emitted.add(net_name)
        spec: dict[str, Any] = {"name": net_name, "layers": self._entries(call)}
        shape = next((self.inputs[x] for m, x in self.calls if m == net_name and x in self.inputs), None)
        if shape is None and not self.calls and len(self.inputs) == 1:
            shape = next(iter(self.inputs.values()))  # one example input and no call: it is the net's
        if shape is not None:
            spec["input_shape"] = shape
        return spec

    def _forward_call(self, value: ast.expr, stmt: ast.stmt) -> None:
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in self.modules
                and len(value.args) == 1 and isinstance(value.args[0], ast.Name)):
            self.calls.append((value.func.id, value.args[0].id))
            return
        raise _fail(stmt, "only module assignments, nn.Sequential(...), an example input and net(X) are read")

    def _dotted(self, node: ast.expr) -> list[str] | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            return [node.id, *parts]
        return None

    def _class_name(self, call: ast.Call) -> str | None:
        parts = self._dotted(call.func)
        if parts is None:
            return None
        if parts[:-1] in ([], ["nn"], ["torch", "nn"]):
            return parts[-1]
        return None

    def _is_sequential(self, call: ast.Call) -> bool:
        return self._class_name(call) == "Sequential"

    def _layer_type(self, call: ast.Call) -> str | None:
        name = self._class_name(call)
        if name is None or name == "Sequential":
            return None
        if name not in self.registry:
            if name[:1].isupper():
                try:
                    self.registry.get(name)
                except UnknownName as exc:
                    raise _fail(call, str(exc)) from None
            return None
        return name

    def _input_shape(self, call: ast.Call) -> list[int] | None:
        parts = self._dotted(call.func)
        if parts is None or len(parts) != 2 or parts[0] != "torch" or parts[1] not in INPUT_FACTORIES:
            return None
        args = list(call.args)
        if parts[1] == "randint":
            args = args[2:] if len(args) >= 3 else args[1:]
        size = next((k.value for k in call.keywords if k.arg == "size"), None)
        try:
            values = ast.literal_eval(size) if size is not None else [ast.literal_eval(a) for a in args]
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise _fail(call, "the example input's size must be literal integers") from None
        if not isinstance(values, (list, tuple)):
            values = [values]
        if len(values) == 1 and isinstance(values[0], (list, tuple)):
            values = list(values[0])
        if not values or not all(isinstance(v, int) and v >= 1 for v in values):
            raise _fail(call, "the example input's size must be positive integers, batch first")
        return list(values[1:])

    def _entries(self, call: ast.Call) -> list[dict[str, Any]]:
        if call.keywords:
            raise _fail(call, "nn.Sequential takes modules as positional arguments")
        return [self._entry(arg) for arg in call.args]

    def _entry(self, node: ast.expr) -> dict[str, Any]:
        if isinstance(node, ast.Name):
            if node.id not in self.modules:
                raise _fail(node, f"{node.id} is not a module defined above")
            if node.id in self.emitted:
                return {"tie": node.id}
            self.emitted.add(node.id)
            return {**self._entry(self.modules[node.id]), "name": node.id}
        if not isinstance(node, ast.Call):
            raise _fail(node, f"{type(node).__name__} is not a module: expected nn.Layer(...) or a variable")
        if self._is_sequential(node):
            return {"type": "Sequential", "layers": self._entries(node)}
        layer = self._layer_type(node)
        if layer is None:
            raise _fail(node, "expected a torch.nn layer such as nn.Linear(...)")
        arg_names = self.registry.get(layer).arg_names
        if len(node.args) > len(arg_names):
            raise _fail(node, f"{layer} takes at most {len(arg_names)} positional arguments")
        entry: dict[str, Any] = {"type": layer}
        pairs = [*zip(arg_names, node.args, strict=False), *((k.arg, k.value) for k in node.keywords)]
        for name, value in pairs:
            if name is None:
                raise _fail(node, "**kwargs are not supported")
            try:
                entry[name] = _json_literal(ast.literal_eval(value))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise _fail(value, f"the argument {name} of {layer} must be a literal value") from None
        return entry


def _json_literal(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_literal(v) for v in value]
    if isinstance(value, list):
        return [_json_literal(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(type(value).__name__)
