"""Expression rules: a formula over a tensor's current values ``w``, parsed by a whitelisting walker.

``w * (abs(w) >= 5)`` zeroes every weight under 5 in size. The source is parsed with ``ast``
and every node is checked against a short list; nothing is ever passed to ``eval``. Numbers
become 0-d tensors, so no arithmetic runs in unbounded Python integers.

Grammar: numbers, ``True``/``False``; the names ``w``, ``fan_in``, ``fan_out``, ``numel``,
``pi``, ``e``; ``+ - * / // % **`` (a literal exponent at most 64 in size); comparisons
(chained too); ``and``/``or``/``not`` elementwise; ``a if cond else b``; and calls of the
functions in ``FUNCTIONS`` with positional arguments.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .errors import SpecError

MAX_NODES = 256
MAX_DEPTH = 24
MAX_EXPONENT = 64.0
NAMES = ("w", "fan_in", "fan_out", "numel", "pi", "e")

Ctx = dict[str, Any]


def _random(kind: str) -> Callable[..., torch.Tensor]:
    def draw(ctx: Ctx, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        w = ctx["w"]
        out = torch.empty(w.shape, dtype=a.dtype, device=w.device)
        if w.device.type == "meta":  # a shape check: nothing to draw
            return out
        if kind == "uniform":
            return out.uniform_(float(a), float(b), generator=ctx["generator"])
        return out.normal_(float(a), float(b), generator=ctx["generator"])
    return draw


def _bernoulli(ctx: Ctx, p: torch.Tensor) -> torch.Tensor:
    w = ctx["w"]
    if w.device.type == "meta":
        return torch.empty(w.shape, dtype=p.dtype, device="meta")
    if p.numel() != 1 or not 0 <= float(p) <= 1:  # checked on the host: on CUDA a bad p is a device assert
        raise ExpressionError.at(ctx["path"], "bernoulli(p) takes one probability p in [0, 1]")
    probabilities = torch.full(w.shape, float(p), dtype=p.dtype, device=w.device)
    return torch.bernoulli(probabilities, generator=ctx["generator"])  # Tensor.bernoulli_() ignores its values


# name -> (arity, function(ctx, *tensors)); the random ones draw from the rule's generator.
FUNCTIONS: dict[str, tuple[int, Callable[..., torch.Tensor]]] = {
    **{name: (1, lambda ctx, x, f=getattr(torch, name): f(x))
       for name in ("abs", "sign", "sqrt", "exp", "log", "sin", "cos", "tanh", "sigmoid", "floor", "ceil", "round")},
    "relu": (1, lambda ctx, x: torch.relu(x)),
    "clamp": (3, lambda ctx, x, lo, hi: torch.clamp(x, lo, hi)),
    "where": (3, lambda ctx, c, a, b: torch.where(c.bool(), a, b)),
    "minimum": (2, lambda ctx, a, b: torch.minimum(a, b)),
    "maximum": (2, lambda ctx, a, b: torch.maximum(a, b)),
    "uniform": (2, _random("uniform")),
    "normal": (2, _random("normal")),
    "bernoulli": (1, _bernoulli),
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}


class ExpressionError(SpecError):
    """An expression outside the grammar, or one whose value cannot be used."""


@dataclass(frozen=True)
class Expression:
    source: str
    tree: ast.Expression
    depth: int  # nesting: how many intermediate tensors evaluation can hold at once, at most

    def memory(self, w: torch.Tensor) -> int:
        """A bound on the bytes evaluation may hold for ``w``: a tensor of w's size per level."""
        itemsize = 8 if w.dtype == torch.float64 else 4
        return (self.depth + 2) * w.numel() * itemsize

    def evaluate(self, w: torch.Tensor, generator: torch.Generator, fan_in: int | None = None,
                 fan_out: int | None = None, path: str = "expr") -> torch.Tensor:
        """The formula's value for ``w``: finite, of ``w``'s shape and dtype; else ``ExpressionError``."""
        compute = torch.float64 if w.dtype == torch.float64 else torch.float32
        ctx: Ctx = {"w": w.detach().to(compute), "generator": generator, "dtype": compute,
                    "fan_in": fan_in, "fan_out": fan_out, "numel": w.numel(), "path": path}
        try:
            value = _eval(self.tree.body, ctx)
        except ExpressionError:
            raise
        except (RuntimeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise ExpressionError.at(path, f"cannot evaluate {self.source!r}: {exc}") from None
        if torch.broadcast_shapes(value.shape, w.shape) != w.shape:
            raise ExpressionError.at(path, f"the result has shape {list(value.shape)}, not w's {list(w.shape)}")
        value = _as_float(value, ctx)
        if w.device.type != "meta" and value.numel() and not _finite(value):
            raise ExpressionError.at(path, f"{self.source!r} gives values that are not finite (NaN or Inf)")
        return value.to(w.dtype).expand(w.shape)


def parse(source: str, max_length: int, path: str = "expr") -> Expression:
    """Parse and check ``source`` against the grammar; errors give the column."""
    if len(source) > max_length:
        raise ExpressionError.at(path, f"the expression has {len(source)} characters; the limit "
                                       f"max_expr_length is {max_length}", limit="max_expr_length", value=max_length)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        col = getattr(exc, "offset", None)
        raise ExpressionError.at(path, f"not a formula{f' (col {col})' if col else ''}: "
                                       f"{getattr(exc, 'msg', None) or exc}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError.at(path, f"the expression has {len(nodes)} parts; at most {MAX_NODES}")
    parents = {child: node for node in nodes for child in ast.iter_child_nodes(node)}
    for node in nodes:
        problem = _refuse(node)
        if problem:
            located = node
            while not hasattr(located, "col_offset") and located in parents:
                located = parents[located]  # operators carry no position; their expression does
            raise ExpressionError.at(path, f"col {getattr(located, 'col_offset', 0) + 1}: {problem}")
    depth = _depth(tree.body)
    if depth > MAX_DEPTH:
        raise ExpressionError.at(path, f"the expression nests {depth} levels deep; at most {MAX_DEPTH}")
    return Expression(source, tree, depth)


def _depth(node: ast.AST) -> int:
    children = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
    return 1 + max((_depth(c) for c in children), default=0)


def _refuse(node: ast.AST) -> str | None:
    """Why ``node`` is outside the grammar, or None."""
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Call,
               ast.Name, ast.Constant, ast.Load, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
               *_BINARY, *_COMPARE)
    if not isinstance(node, allowed):
        return f"{type(node).__name__} is not allowed in a formula"
    if isinstance(node, ast.Constant) and (type(node.value) not in (int, float, bool)):
        return f"only numbers are allowed as constants, not {node.value!r}"
    if isinstance(node, ast.Name) and node.id not in NAMES and node.id not in FUNCTIONS:
        return f"unknown name {node.id!r}; names: {', '.join(NAMES)}"
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            return f"only these functions can be called: {', '.join(FUNCTIONS)}"
        arity = FUNCTIONS[node.func.id][0]
        if node.keywords or len(node.args) != arity:
            return f"{node.func.id}() takes {arity} positional argument(s)"
    if isinstance(node, ast.Name) and node.id in FUNCTIONS and not isinstance(node.ctx, ast.Load):
        return "assignment is not allowed"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = _literal(node.right)
        if exponent is not None and abs(exponent) > MAX_EXPONENT:
            return f"the exponent {exponent} is over {MAX_EXPONENT:g} in size"
    return None


def _literal(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    return None


def _number(value: Any, ctx: Ctx) -> torch.Tensor:
    return torch.tensor(float(value), dtype=ctx["dtype"], device=ctx["w"].device)


def _eval(node: ast.AST, ctx: Ctx) -> torch.Tensor:
    if isinstance(node, ast.Constant):
        return _number(node.value, ctx)
    if isinstance(node, ast.Name):
        if node.id in ("pi", "e"):
            return _number(math.pi if node.id == "pi" else math.e, ctx)
        if node.id == "w":
            return ctx["w"]
        value = ctx.get(node.id)
        if value is None:
            raise ExpressionError.at(ctx["path"], f"{node.id} is not defined for this tensor")
        return _number(value, ctx)
    if isinstance(node, ast.BinOp):
        left, right = _numeric(_eval(node.left, ctx), _eval(node.right, ctx), ctx)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, ctx)
        if isinstance(node.op, ast.Not):
            return operand == 0
        operand = _as_float(operand, ctx)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Compare):
        left, result = _eval(node.left, ctx), torch.ones((), dtype=torch.bool, device=ctx["w"].device)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, ctx)
            step = _COMPARE[type(op)](left, right)
            result = result & step
            left = right
        return result
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, ctx) != 0 for v in node.values]
        combined = values[0]
        for value in values[1:]:
            combined = combined & value if isinstance(node.op, ast.And) else combined | value
        return combined
    if isinstance(node, ast.IfExp):
        return torch.where(_eval(node.test, ctx) != 0, _eval(node.body, ctx), _eval(node.orelse, ctx))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_eval(a, ctx) for a in node.args]
        if node.func.id != "where":
            args = [_as_float(a, ctx) for a in args]
        else:
            args = [args[0], *(_as_float(a, ctx) for a in args[1:])]
        return _as_float(FUNCTIONS[node.func.id][1](ctx, *args), ctx)
    raise ExpressionError.at(ctx["path"], f"{type(node).__name__} is not allowed")  # unreachable after parse


def _as_float(value: torch.Tensor, ctx: Ctx) -> torch.Tensor:
    return value.to(ctx["dtype"]) if value.dtype != ctx["dtype"] else value


def _finite(value: torch.Tensor) -> bool:
    """One pass and no big temporary: NaN propagates through min and max, Inf shows in them."""
    lo, hi = torch.aminmax(value)
    return math.isfinite(float(lo)) and math.isfinite(float(hi))


def _numeric(a: torch.Tensor, b: torch.Tensor, ctx: Ctx) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks stay bool (a fraction of the memory) until arithmetic needs numbers: bool + bool in
    torch is a logical or, so two masks become floats; a mask and a float tensor promote by themselves."""
    if a.dtype == torch.bool and b.dtype == torch.bool:
        return _as_float(a, ctx), _as_float(b, ctx)
    return a, b
