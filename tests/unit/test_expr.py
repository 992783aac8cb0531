"""The expression parser: a whitelist; PyTorch gives the expected values."""

from __future__ import annotations

import ast
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from layerlab.expr import FUNCTIONS, NAMES, ExpressionError, parse

W = torch.linspace(-3, 3, 13)
GEN = torch.Generator()


def value(source: str, w: torch.Tensor = W, **names) -> torch.Tensor:
    return parse(source, 500).evaluate(w, GEN, **names)


@pytest.mark.parametrize(("source", "expected"), [
    ("w * (abs(w) >= 2)", W * (W.abs() >= 2)),
    ("where(w > 0, w, 0)", torch.where(W > 0, W, torch.zeros(()))),
    ("clamp(w, -1, 1) ** 2", W.clamp(-1, 1) ** 2),
    ("-w if w > 1 else w", torch.where(W > 1, -W, W)),
    ("1 < w < 2", ((W > 1) & (W < 2)).float()),
    ("not w > 0 or w == 3", ((W <= 0) | (W == 3)).float()),
    ("sign(w) * sqrt(abs(w)) + tanh(w) // 1 % 2", torch.sign(W) * W.abs().sqrt() + torch.tanh(W) // 1 % 2),
    ("2.5", torch.full_like(W, 2.5)),
    ("minimum(w, 0) + maximum(w, 1) - relu(w) * sigmoid(w) + exp(-abs(w))",
     torch.minimum(W, torch.zeros(())) + torch.maximum(W, torch.ones(())) - W.relu() * W.sigmoid() + (-W.abs()).exp()),
])
def test_values_equal_torch(source, expected):
    assert torch.allclose(value(source), expected)


def test_fan_and_numel_names():
    assert torch.allclose(value("w * 0 + fan_in * 10 + fan_out + numel", fan_in=3, fan_out=4),
                          torch.full_like(W, 34.0 + 13))
    with pytest.raises(ExpressionError, match="fan_in is not defined"):
        value("w * fan_in")


def test_random_functions_draw_from_the_given_generator():
    draw = parse("uniform(-10, 10)", 500).evaluate(torch.zeros(1000), torch.Generator().manual_seed(1))
    again = parse("uniform(-10, 10)", 500).evaluate(torch.zeros(1000), torch.Generator().manual_seed(1))
    assert torch.equal(draw, again) and draw.min() >= -10 and draw.max() <= 10
    mask = parse("bernoulli(0.25)", 500).evaluate(torch.zeros(10000), torch.Generator().manual_seed(2))
    assert abs(mask.mean().item() - 0.25) < 0.02


@pytest.mark.parametrize("source", [
    "__import__('os').system('touch /tmp/x')", "w.__class__", "w[0]", "[w for w in range(3)]", "lambda: 0",
    "open('/etc/passwd')", "eval('1')", "exec('1')", "w @ w", "'text'", "b'bytes'", "1j", "{1: 2}", "(w, w)",
    "torch.ones(3)", "abs(w, 2)", "abs(x=w)", "x", "w := 1", "f'{w}'", "...", "2 ** 1000", "w ** -65",
    "(lambda: 0)()", "getattr(w, 'data')", "globals()", "w if w else (yield)", "await w", "w and",
])
def test_refused(source):
    with pytest.raises(ExpressionError):
        parse(source, 500)


def test_length_is_limited():
    with pytest.raises(ExpressionError, match="max_expr_length"):
        parse("w + " * 50 + "w", 100)


@pytest.mark.parametrize("source", ["1 / (w - w)", "log(w - 10)", "exp(w * 1000)"])
def test_non_finite_results_are_refused(source):
    with pytest.raises(ExpressionError, match="not finite"):
        value(source)


ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Call, ast.Name,
           ast.Constant, ast.Load, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
TOKENS = ["w", "x", "abs", "open", "__import__", "os", ".", "(", ")", "[", "]", "+", "*", "**", ",", "'", "1",
          "9e9", "lambda", ":", " ", "if", "else", "for", "in", "=", "<", "__class__", "_", "fan_in", "getattr",
          "\\", "\n", "@", "{", "}", "yield", "import", ";"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=24).map("".join))
def test_anything_accepted_is_inside_the_grammar(source):
    try:
        parsed = parse(source, 500)
    except ExpressionError:
        return
    for node in ast.walk(parsed.tree):
        assert isinstance(node, ALLOWED), source
        if isinstance(node, ast.Name):
            assert node.id in NAMES or node.id in FUNCTIONS
        if isinstance(node, ast.Constant):
            assert type(node.value) in (int, float, bool)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_fails_only_with_expression_errors(source):
    try:
        result = parse(source, 500).evaluate(W, GEN, fan_in=2, fan_out=3)
    except ExpressionError:
        return
    assert result.shape == W.shape and bool(torch.isfinite(result).all())
    assert not math.isnan(float(result.sum()))


def test_bernoulli_checks_its_probability_on_the_host():
    with pytest.raises(ExpressionError, match=r"in \[0, 1\]"):
        value("bernoulli(2)")


def test_nesting_is_limited():
    with pytest.raises(ExpressionError, match="levels deep"):
        parse("-w+(" * 30 + "w" + ")" * 30, 500)
    assert parse("w * (abs(w) >= 5)", 500).depth == 4
