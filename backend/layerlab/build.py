"""spec -> ``nn.Sequential``: checking, counting before allocating, ties, shapes, materialization.

A tie is the very same module instance at several positions, as in the builder's guide's
``shared = nn.LazyLinear(8)``: ``named_parameters()`` then lists its tensors once, under the
first position, and ``state_dict()`` under every position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn
from torch.nn.parameter import is_lazy
from torch.utils.flop_counter import FlopCounterMode

from .config import Limits
from .errors import LayerLabError, LimitError, SpecError
from .layers import Registry, UnknownName, validation_messages
from .rng import global_seed, new_seed
from .spec import Entry, NetworkSpec, error_path

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}
DRY_RUN_BATCH = 2  # batch 1 trips BatchNorm's "more than 1 value per channel" check in training


class ShapeError(SpecError):
    """A layer could not take its input; names the layer and keeps the shapes before it."""


@dataclass
class Network:
    """A built network: the spec it came from (with the seed and input shape it used) and the module."""

    spec: NetworkSpec
    module: nn.Sequential
    device: torch.device
    output_shapes: dict[str, list[int]] = field(default_factory=dict)
    flops_per_sample: int | None = None  # counted on meta for the input shape; None until known

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.spec.dtype]

    @property
    def materialized(self) -> bool:
        return not any(is_lazy(t) for t in (*self.module.parameters(), *self.module.buffers()))

    @property
    def param_count(self) -> int:
        return count_params(self.module)

    def positions(self) -> Iterator[tuple[str, nn.Module]]:
        return positions(self.module)

    def aliases(self) -> dict[int, list[str]]:
        """Module id -> every address it sits at, the canonical (first) one first."""
        found: dict[int, list[str]] = {}
        for address, module in self.positions():
            found.setdefault(id(module), []).append(address)
        return found

    def layers(self) -> list[dict[str, Any]]:
        aliases = self.aliases()
        out = []
        for address, module in self.positions():
            first = aliases[id(module)][0]
            out.append({"address": address, "type": type(module).__name__, "repr": describe(module),
                        "tied_to": None if first == address else first,
                        "param_count": count_params(module), "output_shape": self.output_shapes.get(address)})
        return out

    def input_tensor_kind(self) -> str:
        first = next((m for _, m in self.positions() if not isinstance(m, nn.Sequential)), None)
        return "index" if isinstance(first, nn.Embedding) else "float"


def positions(module: nn.Sequential, prefix: str = "") -> Iterator[tuple[str, nn.Module]]:
    """Every (address, module) in forward order, nested blocks included; a tied module repeats."""
    for index, child in enumerate(module):
        address = f"{prefix}{index}"
        yield address, child
        if type(child) is nn.Sequential:
            yield from positions(child, address + ".")


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if not is_lazy(p))


def describe(module: nn.Module) -> str:
    if type(module) is nn.Sequential:
        return f"Sequential({len(module)} layers)"
    return f"{type(module).__name__}({module.extra_repr()})"


# --- checking -------------------------------------------------------------------------------

def check_spec(spec: NetworkSpec, registry: Registry, limits: Limits) -> None:
    """Every problem of the spec at once, each with its path; limits on size before anything else."""
    entries = list(_walk_entries(spec.layers, ("layers",), ()))
    if len(entries) > limits.max_layers:
        raise LimitError("max_layers", limits.max_layers, len(entries), "the number of layers")
    depth = max(len(loc) // 2 for loc, _, _ in entries)
    if depth > limits.max_depth:
        raise LimitError("max_depth", limits.max_depth, depth, "the nesting depth")
    errors: list[dict[str, Any]] = []
    names: dict[str, tuple[tuple[int | str, ...], tuple[str, ...]]] = {}
    for loc, entry, ancestors in entries:
        if entry.name is not None:
            if entry.name in names:
                errors.append({"path": error_path((*loc, "name")), "msg": f"the name {entry.name!r} is used twice"})
            names[entry.name] = (loc, ancestors)
        if entry.kind == "layer":
            errors += _check_args(entry, loc, registry)
    for loc, entry, ancestors in entries:
        if entry.kind != "tie":
            continue
        path = error_path((*loc, "tie"))
        if entry.tie not in names:
            known = ", ".join(sorted(names)) or "none"
            errors.append({"path": path, "msg": f"no entry is named {entry.tie!r}; names in this spec: {known}"})
        elif entry.tie in ancestors:
            errors.append({"path": path, "msg": f"{entry.tie!r} is a block that contains this tie"})
    if errors:
        raise SpecError(errors)


def _walk_entries(entries: list[Entry], loc: tuple[int | str, ...], ancestors: tuple[str, ...]
                  ) -> Iterator[tuple[tuple[int | str, ...], Entry, tuple[str, ...]]]:
    for index, entry in enumerate(entries):
        here = (*loc, index)
        yield here, entry, ancestors
        if entry.kind == "block":
            inner = ancestors + ((entry.name,) if entry.name else ())
            yield from _walk_entries(entry.layers or [], (*here, "layers"), inner)


def _check_args(entry: Entry, loc: tuple[int | str, ...], registry: Registry) -> list[dict[str, Any]]:
    assert entry.type is not None
    try:
        layer_type = registry.get(entry.type)
    except UnknownName as exc:
        return [{"path": error_path((*loc, "type")), "msg": str(exc)}]
    try:
        layer_type.validate(entry.args)
    except ValidationError as exc:
        takes = ", ".join(layer_type.arg_names) or "no arguments"
        out = []
        for where, msg in validation_messages(exc):
            if msg == "unexpected argument":
                msg = f"unexpected argument; {entry.type} takes {takes}"
            out.append({"path": error_path(loc + where), "msg": msg})
        return out
    return []


# --- construction ---------------------------------------------------------------------------

def construct(spec: NetworkSpec, registry: Registry) -> nn.Sequential:
    """Instantiate the modules (on the current default device); a tie reuses the named instance."""
    named = {loc_entry.name: loc_entry for _, loc_entry, _ in _walk_entries(spec.layers, ("layers",), ())
             if loc_entry.name}
    paths = {id(e): loc for loc, e, _ in _walk_entries(spec.layers, ("layers",), ())}
    made: dict[str, nn.Module] = {}

    def make(entry: Entry) -> nn.Module:
        if entry.kind == "tie":
            return make(named[entry.tie or ""])
        if entry.name and entry.name in made:
            return made[entry.name]
        if entry.kind == "block":
            module: nn.Module = nn.Sequential(*(make(e) for e in entry.layers or []))
        else:
            try:
                module = registry.get(entry.type or "").construct(entry.args)
            except (ValueError, RuntimeError, TypeError, OverflowError, AssertionError) as exc:
                raise SpecError.at(error_path(paths[id(entry)]), f"{entry.type}: {exc}") from None
        if entry.name:
            made[entry.name] = module
        return module

    return nn.Sequential(*(make(e) for e in spec.layers))


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Run in eval mode (no batch-statistics updates, no dropout), then restore every flag."""
    flags = {m: m.training for m in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for m, flag in flags.items():
            m.training = flag


Visit = Callable[[str, nn.Module, torch.Tensor], None]


def run_positions(module: nn.Sequential, x: torch.Tensor, visit: Visit, prefix: str = "") -> torch.Tensor:
    """What ``nn.Sequential.forward`` does, visiting each position's output (ties once per position).

    A layer that fails raises ``ShapeError`` naming it, its input shape and what it expects.
    """
    for index, child in enumerate(module):
        address = f"{prefix}{index}"
        if type(child) is nn.Sequential:
            y = run_positions(child, x, visit, address + ".")
        else:
            try:
                y = child(x)
            except LayerLabError:
                raise
            except Exception as exc:
                raise _shape_error(address, child, x, exc) from None
            if not isinstance(y, torch.Tensor):
                raise _shape_error(address, child, x, TypeError(f"returned {type(y).__name__}, not one tensor"))
        visit(address, child, y)
        x = y
    return x


def _shape_error(address: str, module: nn.Module, x: torch.Tensor, exc: Exception) -> ShapeError:
    got = list(x.shape[1:])
    expects = expected_input(module)
    m: Any = module
    matches = [("in_features", -1), ("in_channels", 0), ("num_features", 0)]
    if expects and got and any(hasattr(m, attr) and got[axis] == getattr(m, attr) for attr, axis in matches):
        expects = None  # the input has what the layer expects there: the problem is elsewhere (a kernel, say)
    msg = f"layer {address} ({type(module).__name__}) cannot take an input of shape {got}"
    msg += f"; it expects {expects}" if expects else ""
    return ShapeError([{"path": f"layer {address}", "msg": f"{msg}: {str(exc).splitlines()[0]}"}],
                      layer=address, input_shape=got, expected=expects)


def expected_input(module: nn.Module) -> str | None:
    """What one sample must look like for a module, batch excluded, where that can be said simply."""
    m: Any = module

    def known(name: str) -> bool:
        value = getattr(m, name, None)
        return isinstance(value, torch.Tensor) and not is_lazy(value)

    if isinstance(module, nn.Bilinear):
        return "two inputs, which nn.Sequential cannot pass"
    if isinstance(module, nn.Embedding):
        return f"integer indices below {m.num_embeddings}"
    if hasattr(m, "in_features") and known("weight"):
        return f"(*, {m.in_features})"
    if hasattr(m, "in_channels") and known("weight"):
        return f"({m.in_channels}, ...)"
    if isinstance(module, nn.modules.batchnorm._NormBase) and known("running_mean"):
        return f"({m.num_features}, ...)"
    if isinstance(module, nn.LayerNorm):
        return f"(*, {', '.join(map(str, m.normalized_shape))})"
    if isinstance(module, nn.GroupNorm):
        return f"({m.num_channels}, *)"
    return None


def zeros_input(net: Network, batch: int, input_shape: list[int]) -> torch.Tensor:
    """A batch of zeros the network takes: indices for an Embedding first, else its dtype."""
    dtype = torch.long if net.input_tensor_kind() == "index" else net.dtype
    return torch.zeros(batch, *input_shape, dtype=dtype, device=net.device)


def dry_run(net: Network, input_shape: list[int], counter: FlopCounterMode | None = None) -> dict[str, list[int]]:
    """A forward pass on zeros that gives lazy layers their shapes; returns each position's output shape."""
    shapes: dict[str, list[int]] = {}
    module, x = net.module, zeros_input(net, DRY_RUN_BATCH, input_shape)
    with torch.no_grad(), eval_mode(module), counter or nullcontext():
        try:
            run_positions(module, x, lambda address, _, y: shapes.__setitem__(address, list(y.shape[1:])))
        except ShapeError as exc:
            before = [{"address": a, "output_shape": s} for a, s in shapes.items()]
            raise ShapeError(exc.errors, **exc.extra, layers_before=before) from None
    return shapes


# --- the public operations -------------------------------------------------------------------

def estimate(spec: NetworkSpec, registry: Registry, limits: Limits) -> tuple[int, dict[str, list[int]]]:
    """Parameter count and output shapes from a build on the ``meta`` device: nothing is allocated.

    Refuses a network over ``max_params``; a shape error names the layer.
    """
    probed = probe(spec, registry, limits)
    return probed.param_count, probed.output_shapes


def probe(spec: NetworkSpec, registry: Registry, limits: Limits) -> Network:
    """The network built on ``meta``: shapes, counts and FLOPs of every layer, no memory.

    Checks the limits on parameters, activations and FLOPs before anything real is done.
    """
    check_spec(spec, registry, limits)
    if spec.input_shape is not None:
        check_activations(spec.input_shape, {}, DRY_RUN_BATCH, limits)  # the input alone, before any work
    with torch.device("meta"):
        module = construct(spec, registry).to(DTYPES[spec.dtype])
    shapes: dict[str, list[int]] = {}
    flops = None
    if spec.input_shape is not None:
        counter = FlopCounterMode(display=False)
        shapes = dry_run(Network(spec, module, torch.device("meta")), spec.input_shape, counter)
        flops = counter.get_total_flops() // DRY_RUN_BATCH
    count = count_params(module)
    if count > limits.max_params:
        raise LimitError("max_params", limits.max_params, count, "the network's parameter count")
    if spec.input_shape is not None:
        check_activations(spec.input_shape, shapes, DRY_RUN_BATCH, limits)
        check_flops(flops, DRY_RUN_BATCH, limits)
        _check_batch_kept(Network(spec, module, torch.device("meta")), spec.input_shape)
    return Network(spec, module, torch.device("meta"), shapes, flops)


def _check_batch_kept(net: Network, input_shape: list[int]) -> None:
    """Every position must keep the batch as its first dimension, whatever the batch size.

    Many layers also take unbatched input (Conv2d takes (C, H, W)); an input shape without its
    channel dimension then makes PyTorch read the batch as channels. A second pass on meta with
    another batch size finds that, where the first pass cannot.
    """
    batch = DRY_RUN_BATCH + 1
    x = zeros_input(net, batch, input_shape)

    hint = f"if it lacks its channel dimension, add it: [1, {', '.join(map(str, input_shape))}] for one channel"

    def refuse(address: str, module: nn.Module, what: str) -> ShapeError:
        return ShapeError([{"path": f"layer {address}", "msg": (
            f"layer {address} ({type(module).__name__}) {what}: PyTorch read the input shape "
            f"{list(input_shape)} as unbatched, so the batch changed its meaning; {hint}")}],
            layer=address, input_shape=list(input_shape), expected=None)

    def visit(address: str, module: nn.Module, y: torch.Tensor) -> None:
        if y.dim() == 0 or y.shape[0] != batch:
            raise refuse(address, module, f"gives {list(y.shape)} for a batch of {batch}")

    with torch.no_grad(), eval_mode(net.module):
        try:
            run_positions(net.module, x, visit)
        except ShapeError as exc:
            if exc.extra.get("expected") is None:
                raise
            module = dict(net.positions())[exc.extra["layer"]]
            raise refuse(exc.extra["layer"], module, "fails for another batch size") from None


def check_flops(per_sample: int | None, batch: int, limits: Limits) -> None:
    """A pass's floating-point operations (counted on meta) against ``max_flops``: compute is bounded too."""
    if per_sample is not None and per_sample * batch > limits.max_flops:
        raise LimitError("max_flops", limits.max_flops, per_sample * batch,
                         f"the floating-point operations of a pass over a batch of {batch}")


def check_activations(input_shape: list[int], shapes: dict[str, list[int]], batch: int, limits: Limits) -> None:
    """The largest tensor a forward pass of ``batch`` samples makes, against ``max_activation_elements``."""
    largest = max(math.prod(s) for s in [input_shape, *shapes.values()]) * batch
    if largest > limits.max_activation_elements:
        raise LimitError("max_activation_elements", limits.max_activation_elements, largest,
                         f"the largest activation for a batch of {batch}")


def build(spec: NetworkSpec, registry: Registry, limits: Limits, device: torch.device) -> Network:
    """Check, count on ``meta``, then build for real on ``device`` (materialized when the shape is known).

    Construction-time initialization uses ``spec.seed`` (a fresh one, recorded in the spec, if absent).
    """
    estimate(spec, registry, limits)
    if spec.seed is None:
        spec = spec.model_copy(update={"seed": new_seed()})
    assert spec.seed is not None
    with global_seed(spec.seed, device), torch.device(device):
        module = construct(spec, registry).to(DTYPES[spec.dtype])
    net = Network(spec, module, device)
    if spec.input_shape is not None:
        net = materialize(net, spec.input_shape, registry, limits)
    return net


def skeleton(spec: NetworkSpec, registry: Registry, limits: Limits, device: torch.device) -> Network:
    """The network with uninitialized memory on ``device``, to be filled from stored values.

    Built on ``meta`` (lazy layers take their shapes there) and then given real memory, so a
    rebuild spends no time on random initialization. A lazy network without an input shape is
    built normally: its lazy tensors cost nothing.
    """
    probed = probe(spec, registry, limits)
    if not probed.materialized or _shares_inside_modules(probed) or _has_non_persistent_buffers(probed.module):
        return build(spec, registry, limits, device)  # to_empty would split the sharing or lose the buffers
    return Network(spec, probed.module.to_empty(device=device), device, probed.output_shapes,
                   probed.flops_per_sample)


def _shares_inside_modules(net: Network) -> bool:
    """A tensor shared other than by a tie of whole positions (a plugin's own weight sharing)."""
    modules = dict(net.module.named_modules(remove_duplicate=False))
    owners: dict[int, set[int]] = {}
    for key, tensor in net.module.state_dict(keep_vars=True).items():
        owner = modules[key.rsplit(".", 1)[0]] if "." in key else net.module
        owners.setdefault(id(tensor), set()).add(id(owner))
    return any(len(found) > 1 for found in owners.values())


def _has_non_persistent_buffers(module: nn.Module) -> bool:
    return any(m._non_persistent_buffers_set for m in module.modules())


def materialize(net: Network, input_shape: list[int], registry: Registry, limits: Limits) -> Network:
    """Give lazy layers their shapes by a dry run (the guide's ``apply_init`` pattern).

    The count is checked on ``meta`` first; the new shape is recorded in the spec.
    """
    if any(d < 1 for d in input_shape):
        raise SpecError.at("input_shape", f"{input_shape}: every dimension must be at least 1")
    spec = net.spec.model_copy(update={"input_shape": list(input_shape)})
    probed = probe(spec, registry, limits)
    assert spec.seed is not None
    with global_seed(spec.seed + 1, net.device):
        shapes = dry_run(net, list(input_shape))
    return Network(spec, net.module, net.device, shapes, probed.flops_per_sample)
