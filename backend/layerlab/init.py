"""Initialization rules: ``torch.nn.init`` by name, ``default`` (``reset_parameters``), ``expression``.

Rules apply in order with one ``torch.Generator`` per call, so the same seed and rules give
bit-identical parameters whatever else runs. A rule that reaches a tied module hits it once
and reports every position that shares it. A call either applies every rule or changes nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from torch import nn

from . import expr
from .build import Network
from .config import Limits
from .errors import LimitError, NotMaterializedError, SpecError
from .layers import UnknownName, signature_model, validation_messages
from .rng import generator, global_seed, new_seed
from .spec import InitRequest, InitRule

# torch 2.13's sparse_ draws its row permutations from the global RNG, not the generator it is given.
GLOBAL_RNG_SCHEMES = {"sparse"}
TORCH_SCHEMES = ("normal", "uniform", "constant", "zeros", "ones", "xavier_uniform", "xavier_normal",
                 "kaiming_uniform", "kaiming_normal", "trunc_normal", "orthogonal", "sparse", "eye", "dirac")


@dataclass(frozen=True)
class Target:
    module: nn.Module
    name: str  # the canonical name, as named_parameters() gives it
    positions: list[str]  # every address that shares the module
    tensor: torch.Tensor


@dataclass(frozen=True)
class Scheme:
    name: str
    doc: str
    args: type[BaseModel]
    apply: Callable[[Target, dict[str, Any], torch.Generator], None]

    def describe(self) -> dict[str, Any]:
        return {"scheme": self.name, "doc": self.doc, "schema": self.args.model_json_schema()}


def _torch_scheme(name: str) -> Scheme:
    fn = getattr(nn.init, name + "_")
    takes_generator = "generator" in inspect.signature(fn).parameters

    def apply(target: Target, kwargs: dict[str, Any], gen: torch.Generator) -> None:
        extra = {"generator": gen} if takes_generator else {}
        if name in GLOBAL_RNG_SCHEMES and target.tensor.device.type != "meta":
            with global_seed(_derived_seed(gen), target.tensor.device):
                fn(target.tensor, **kwargs, **extra)
        else:
            fn(target.tensor, **kwargs, **extra)

    doc = f"torch.nn.init.{name}_: " + (fn.__doc__ or "").strip().split("\n")[0]
    return Scheme(name, doc, signature_model(fn, name, skip=1, exclude=("generator",)), apply)


def _reset_parameters(target: Target, kwargs: dict[str, Any], gen: torch.Generator) -> None:
    """The layer's own ``reset_parameters``, kept to the targeted tensor: the others are put back."""
    module = target.module
    reset = getattr(module, "reset_parameters", None)
    if not callable(reset):
        raise SpecError.at("scheme", f"{type(module).__name__} has no reset_parameters, so no default init")
    # reset_parameters may reset more than the target (BatchNorm resets its running stats too)
    others = {n: t.detach().clone() for n, t in module.state_dict(keep_vars=True).items() if t is not target.tensor}
    with global_seed(_derived_seed(gen), target.tensor.device):
        reset()
    state = module.state_dict(keep_vars=True)
    for name, value in others.items():
        state[name].copy_(value)


def _derived_seed(gen: torch.Generator) -> int:
    """A seed for code that only uses the global RNG, drawn from the call's generator."""
    return int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device).item())


class ExpressionArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expr: str


def _expression(target: Target, kwargs: dict[str, Any], gen: torch.Generator) -> None:
    formula: expr.Expression = kwargs["parsed"]
    fan_in, fan_out = fans(target)
    target.tensor.copy_(formula.evaluate(target.tensor, gen, fan_in, fan_out, path=kwargs["path"]))


def fans(target: Target) -> tuple[int | None, int | None]:
    """Fan-in and fan-out of a tensor, or of its module's weight for a 1-D tensor (a bias)."""
    weight = getattr(target.module, "weight", None)
    tensor = target.tensor if target.tensor.dim() >= 2 else weight
    if not isinstance(tensor, torch.Tensor) or tensor.dim() < 2:
        return None, None
    return nn.init._calculate_fan_in_and_fan_out(tensor)


SCHEMES: dict[str, Scheme] = {name: _torch_scheme(name) for name in TORCH_SCHEMES}
SCHEMES["default"] = Scheme("default", "the layer's own reset_parameters(), as PyTorch initializes it",
                            create_model("default_args", __config__=ConfigDict(extra="forbid")), _reset_parameters)
SCHEMES["expression"] = Scheme("expression", "a formula over the current values w, e.g. w * (abs(w) >= 5); "
                               "names w, fan_in, fan_out, numel; functions " + ", ".join(expr.FUNCTIONS),
                               ExpressionArgs, _expression)


def get_scheme(name: str) -> Scheme:
    try:
        return SCHEMES[name]
    except KeyError:
        raise UnknownName(f"unknown init scheme {name!r}; schemes: {', '.join(SCHEMES)}") from None


def catalog() -> list[dict[str, Any]]:
    return [s.describe() for s in SCHEMES.values()]


@dataclass(frozen=True)
class Step:
    index: int
    scheme: Scheme
    kwargs: dict[str, Any]
    targets: list[Target]


def select(net: Network, rule: InitRule, path: str) -> list[Target]:
    """The tensors a rule reaches: each module once, however many positions share it."""
    aliases = net.aliases()
    known = [address for address, _ in net.positions()]
    for j, address in enumerate(rule.layers or []):
        if address not in known:
            raise SpecError.at(f"{path}.layers[{j}]", f"no layer at address {address!r}; addresses: {', '.join(known)}")
    targets, seen = [], set()
    for _, module in net.positions():
        if type(module) is nn.Sequential or id(module) in seen:
            continue
        positions = aliases[id(module)]
        if rule.layers is not None and not any(_within(p, sel) for p in positions for sel in rule.layers):
            continue
        if rule.types is not None and type(module).__name__ not in rule.types:
            continue
        seen.add(id(module))
        for pname, tensor in module.named_parameters():
            if rule.param in ("*", pname, pname.rsplit(".", 1)[-1]):
                targets.append(Target(module, f"{positions[0]}.{pname}", positions, tensor))
    if not targets:
        raise SpecError.at(path, f"the rule reaches no parameter (layers={rule.layers}, types={rule.types}, "
                                 f"param={rule.param!r})")
    return targets


def _within(address: str, selected: str) -> bool:
    return address == selected or address.startswith(selected + ".")


def plan(net: Network, request: InitRequest, limits: Limits) -> list[Step]:
    """Check every rule before anything changes: scheme, arguments, targets, and shapes (on meta)."""
    steps = []
    for i, rule in enumerate(request.rules):
        path = f"rules[{i}]"
        try:
            scheme = get_scheme(rule.scheme)
        except UnknownName as exc:
            raise SpecError.at(f"{path}.scheme", str(exc)) from None
        try:
            kwargs = scheme.args.model_validate(rule.args).model_dump(exclude_unset=True)
        except ValidationError as exc:
            raise SpecError([{"path": f"{path}." + ".".join(map(str, loc)), "msg": msg}
                             for loc, msg in validation_messages(exc)]) from None
        if scheme.name == "expression":
            kwargs = {"parsed": expr.parse(kwargs["expr"], limits.max_expr_length, f"{path}.expr"),
                      "path": f"{path}.expr"}
        targets = select(net, rule, path)
        if scheme.name == "expression":
            largest = max(targets, key=lambda t: t.tensor.numel())
            needed = kwargs["parsed"].memory(largest.tensor)
            if needed > limits.max_expr_memory:
                raise LimitError("max_expr_memory", limits.max_expr_memory, needed,
                                 f"the memory {path}.expr may need for {largest.name}")
        for target in targets:
            _check_on_meta(scheme, kwargs, target, path)
        steps.append(Step(i, scheme, kwargs, targets))
    return steps


def _check_on_meta(scheme: Scheme, kwargs: dict[str, Any], target: Target, path: str) -> None:
    """Run the scheme on a meta tensor of the same shape: torch's own argument checks, no data."""
    if scheme.name == "default":
        return
    probe = torch.empty(target.tensor.shape, dtype=target.tensor.dtype, device="meta")
    try:
        scheme.apply(Target(target.module, target.name, target.positions, probe), kwargs,
                     torch.Generator(device="cpu"))
    except SpecError:
        raise
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        raise SpecError.at(path, f"{scheme.name} cannot initialize {target.name} of shape "
                                 f"{list(target.tensor.shape)}: {exc}") from None
    except Exception:  # noqa: S110 - an op without a meta kernel; the real run will check
        pass


def apply_init(net: Network, request: InitRequest, limits: Limits, rollback: bool = True) -> dict[str, Any]:
    """Apply the rules in order; every rule is checked before anything changes.

    A failure while applying (a later expression that turns out not finite) puts every touched
    tensor back when ``rollback`` is on, which costs a copy of each touched tensor. The service
    turns it off: it drops the live network on failure and rebuilds it from the stored version.
    Returns ``{seed, applied: [{rule, scheme, params: [{name, positions}]}]}``.
    """
    if not net.materialized:
        raise NotMaterializedError("initializing")
    steps = plan(net, request, limits)
    seed = request.seed if request.seed is not None else new_seed()
    gen = generator(seed, net.device)
    backups: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    applied = []
    with torch.no_grad():
        try:
            for step in steps:
                for target in step.targets:
                    if rollback and id(target.tensor) not in backups:
                        backups[id(target.tensor)] = (target.tensor, target.tensor.detach().clone())
                    try:
                        step.scheme.apply(target, step.kwargs, gen)
                    except (RuntimeError, ValueError, NotImplementedError, OverflowError, ZeroDivisionError) as exc:
                        # what torch refuses only on real data (std < 0, a > b, an op missing for float16)
                        raise SpecError.at(f"rules[{step.index}]", f"{step.scheme.name} cannot initialize "
                                           f"{target.name}: {str(exc).splitlines()[0]}") from None
                applied.append({"rule": step.index, "scheme": step.scheme.name,
                                "params": [{"name": t.name, "positions": t.positions} for t in step.targets]})
        except Exception:
            for tensor, saved in backups.values():
                tensor.copy_(saved)
            raise
    return {"seed": seed, "applied": applied}
