"""One model's life: the store, a cache of live networks, a lock per model, and the engine.

Every change runs under the model's lock: check ``If-Match``, apply it with the engine, write
the tensors it touched, commit the new version, and only then answer. A change the engine
refuses has changed nothing; any other failure drops the live network so the next request
rebuilds it from the store. Routers call this and never touch tensors.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import torch

from . import __version__, codegen, forward, inspection, io
from .build import Network, ShapeError, build, materialize, probe, skeleton
from .config import Settings, resolve_device
from .errors import LayerLabError, LimitError, NotFoundError, SpecError
from .init import apply_init
from .layers import Registry, default_registry
from .spec import InitRequest, NetworkSpec, parse_spec
from .store import Manifest, SqliteStore, StaleVersionError, Store, VersionRecord

T = TypeVar("T")


@dataclass
class Live:
    net: Network
    version: int
    manifest: Manifest

    @cached_property
    def nbytes(self) -> int:
        """Memory of the tensors (a tied one once); fixed for a Live, so counted once, not at every cache visit."""
        seen = {id(t): t for t in _state(self.net).values()}
        return sum(t.numel() * t.element_size() for t in seen.values())


def check_if_match(if_match: int | None, version: int) -> None:
    if if_match is not None and if_match != version:
        raise StaleVersionError(f"If-Match names version {if_match}, but the model is at version {version}")


class ModelService:
    def __init__(self, settings: Settings, store: Store | None = None, registry: Registry | None = None) -> None:
        self.settings, self.limits = settings, settings.limits
        self.device = resolve_device(settings.device)
        self.registry = registry or default_registry(settings.plugins)
        self.store: Store = store or SqliteStore(settings.data_dir, settings.keep_versions)
        self._cache: OrderedDict[str, Live] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "torch": torch.__version__, "device": str(self.device)}

    # --- live networks --------------------------------------------------------------------------

    def _lock(self, model_id: str) -> threading.RLock:
        with self._cache_lock:
            return self._locks.setdefault(model_id, threading.RLock())

    def _record(self, model_id: str, version: int | None = None) -> VersionRecord:
        record = self.store.version(model_id, version)
        if record is None:
            what = f"model {model_id!r}" if version is None else f"version {version} of model {model_id!r}"
            raise NotFoundError(f"no {what}")
        return record

    def _network(self, record: VersionRecord) -> Network:
        """A network rebuilt from a stored version: the spec's modules, the stored values."""
        spec = NetworkSpec.model_validate(record.spec)
        net = skeleton(spec, self.registry, self.limits, self.device)
        state = net.module.state_dict(keep_vars=True)
        with torch.no_grad():
            for digest, keys in _by_blob(record.manifest).items():  # one tensor in host memory at a time
                value = self.store.load_tensor(digest)
                for key in keys:
                    state[key].copy_(value)
        return net

    def _live(self, model_id: str) -> Live:
        with self._cache_lock:
            live = self._cache.get(model_id)
            if live is not None:
                self._cache.move_to_end(model_id)
                return live
        record = self._record(model_id)
        live = Live(self._network(record), record.version, record.manifest)
        self._remember(model_id, live)
        return live

    def _remember(self, model_id: str, live: Live) -> None:
        with self._cache_lock:
            self._cache[model_id] = live
            self._cache.move_to_end(model_id)
            total = sum(entry.nbytes for entry in self._cache.values())
            while total > self.settings.cache_bytes and len(self._cache) > 1:
                _, evicted = self._cache.popitem(last=False)
                total -= evicted.nbytes

    def _forget(self, model_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(model_id, None)

    @contextmanager
    def _using(self, model_id: str, if_match: int | None = None) -> Iterator[Live]:
        """The live network under its lock; anything but an engine refusal drops it from the cache."""
        with self._lock(model_id):
            live = self._live(model_id)
            check_if_match(if_match, live.version)
            try:
                yield live
            except LayerLabError:
                raise
            except BaseException:
                self._forget(model_id)
                raise

    def _read(self, model_id: str, version: int | None, fn: Callable[[Network], T]) -> T:
        """Run ``fn`` on the current network, or on an old version rebuilt from the store.

        Under the model's lock either way: an old version is not pruned while it is read, and
        concurrent reads of old versions do not each hold a copy of the model.
        """
        with self._using(model_id) as live:
            if version is None or version == live.version:
                return fn(live.net)
            return fn(self._network(self._record(model_id, version)))

    def _commit(self, model_id: str, live: Live, net: Network, action: str, touched: set[str] | None) -> Live:
        """Store the tensors a change touched (None: all) as the next version, then make it live."""
        groups = inspection.tensor_aliases(net)
        state = _state(net)
        keys = set(state) if touched is None else {k for name in touched for k in groups.get(name, [name])}
        written = self.store.put_tensors({k: v for k, v in state.items() if k in keys})
        manifest = {k: written.get(k) or live.manifest[k] for k in state}
        record = VersionRecord(model_id, live.version + 1, action, time.time(), net.spec.dump(), manifest,
                               net.param_count, net.materialized)
        try:
            self.store.commit(record, live.version, written)
        except BaseException:
            self._forget(model_id)
            raise
        new = Live(net, record.version, manifest)
        self._remember(model_id, new)
        return new

    def _view(self, model_id: str, live: Live) -> dict[str, Any]:
        stored = self.store.get(model_id)
        net = live.net
        return {"id": model_id, "name": net.spec.name, "version": live.version, "device": str(net.device),
                "dtype": net.spec.dtype, "materialized": net.materialized, "param_count": net.param_count,
                "spec": net.spec.dump(), "layers": net.layers(),
                "created": stored.created if stored else None, "updated": stored.updated if stored else None}

    # --- models ---------------------------------------------------------------------------------

    def create(self, spec: NetworkSpec, action: str = "create") -> dict[str, Any]:
        net = build(spec, self.registry, self.limits, self.device)
        return self._create(net, action, None)

    def _create(self, net: Network, action: str, manifest: Manifest | None, held: Manifest | None = None
                ) -> dict[str, Any]:
        model_id = uuid.uuid4().hex[:12]
        written: Manifest = held or {}
        if manifest is None:
            manifest = written = self.store.put_tensors(_state(net))
        record = VersionRecord(model_id, 1, action, time.time(), net.spec.dump(), manifest, net.param_count,
                               net.materialized)
        self.store.commit(record, None, written)
        live = Live(net, 1, manifest)
        self._remember(model_id, live)
        return self._view(model_id, live)

    def get(self, model_id: str) -> dict[str, Any]:
        with self._using(model_id) as live:
            return self._view(model_id, live)

    def exists(self, model_id: str) -> bool:
        return self.store.get(model_id) is not None

    def models(self) -> list[dict[str, Any]]:
        return [{"id": r.id, "name": r.name, "version": r.version, "param_count": r.param_count,
                 "created": r.created, "updated": r.updated} for r in self.store.models()]

    def delete(self, model_id: str) -> None:
        with self._lock(model_id):
            if not self.store.delete(model_id):
                raise NotFoundError(f"no model {model_id!r}")
            self._forget(model_id)

    def versions(self, model_id: str) -> list[dict[str, Any]]:
        return [{"version": v.version, "action": v.action, "created": v.created, "param_count": v.param_count,
                 "materialized": v.materialized} for v in self.store.versions(model_id)]

    def clone(self, model_id: str) -> dict[str, Any]:
        """A new model with the same spec and the same stored tensors (only the manifest is copied)."""
        with self._using(model_id) as live:
            record = self._record(model_id, live.version)
            held = self.store.hold(record.manifest)  # safe from a concurrent delete until committed
            net = self._network(record)
        return self._create(net, f"clone of {model_id} v{record.version}", record.manifest, held)

    # --- changes --------------------------------------------------------------------------------

    def materialize(self, model_id: str, input_shape: list[int], if_match: int | None) -> dict[str, Any]:
        with self._using(model_id, if_match) as live:
            net = materialize(live.net, input_shape, self.registry, self.limits)
            return self._view(model_id, self._commit(model_id, live, net, "materialize", None))

    def init(self, model_id: str, request: InitRequest, if_match: int | None) -> dict[str, Any]:
        with self._using(model_id, if_match) as live:
            try:  # no rollback copies (a copy of every touched tensor): a failure rebuilds from the store
                report = apply_init(live.net, request, self.limits, rollback=False)
            except LayerLabError:
                self._forget(model_id)
                raise
            touched = {p["name"] for step in report["applied"] for p in step["params"]}
            new = self._commit(model_id, live, live.net, "init", touched)
            return {**self._view(model_id, new), "report": report}

    def set_element(self, model_id: str, name: str, index: list[int], value: float,
                    if_match: int | None) -> dict[str, Any]:
        with self._using(model_id, if_match) as live:
            inspection.set_element(live.net, name, index, value)
            canonical = self._canonical(live.net, name)
            new = self._commit(model_id, live, live.net, f"set {name}{index}", {canonical})
            param = next(p for p in inspection.parameters(live.net) if p["name"] == canonical)
            return {**param, "version": new.version, "index": index,
                    "value": inspection.json_float(float(inspection.resolve(live.net, name).detach()[tuple(index)]))}

    def upload(self, model_id: str, path: Path, strict: bool, if_match: int | None) -> dict[str, Any]:
        with self._using(model_id, if_match) as live:
            report = io.load_state_dict(live.net, path, self.limits, strict)
            if not report["loaded"]:  # a non-strict load that matched nothing changes nothing
                return {**report, "version": live.version}
            touched = {self._canonical(live.net, k) for k in report["loaded"]}
            new = self._commit(model_id, live, live.net, "upload", touched)
            return {**report, "version": new.version}

    def restore(self, model_id: str, version: int, if_match: int | None) -> dict[str, Any]:
        """A new version whose spec and values are those of an old one."""
        with self._using(model_id, if_match) as live:
            old = self._record(model_id, version)
            record = VersionRecord(model_id, live.version + 1, f"restore v{version}", time.time(), old.spec,
                                   old.manifest, old.param_count, old.materialized)
            self.store.commit(record, live.version, {})
            self._forget(model_id)
            return self.get(model_id)  # still under the lock: the answer names the restore's own version

    @staticmethod
    def _canonical(net: Network, key: str) -> str:
        for canonical, keys in inspection.tensor_aliases(net).items():
            if key in keys:
                return canonical
        raise NotFoundError(f"no parameter or buffer named {key!r}")

    # --- reads ----------------------------------------------------------------------------------

    def params(self, model_id: str, version: int | None = None) -> list[dict[str, Any]]:
        return self._read(model_id, version, inspection.parameters)

    def histograms(self, model_id: str, version: int | None, bins: int, names: list[str] | None,
                   value_range: tuple[float, float] | None) -> dict[str, Any]:
        return self._read(model_id, version,
                          lambda net: inspection.histograms(net, self.limits, bins, names, value_range))

    def state_dict(self, model_id: str, layer: str | None, version: int | None = None) -> dict[str, Any]:
        return self._read(model_id, version, lambda net: inspection.state_dict(net, self.limits, layer))

    def values(self, model_id: str, name: str, offset: int, limit: int | None,
               version: int | None = None) -> dict[str, Any]:
        return self._read(model_id, version,
                          lambda net: inspection.values_page(net, name, offset, limit, self.limits))

    def forward(self, model_id: str, **kwargs: Any) -> dict[str, Any]:
        return self._read(model_id, None, lambda net: forward.forward(net, self.registry, self.limits, **kwargs))

    def compare(self, a: str, b: str, batch: int, seed: int | None) -> dict[str, Any]:
        """The same seeded batch through both networks (eval mode): equal outputs?"""
        first = self.forward(a, batch=batch, seed=seed, bins=1)
        second = self.forward(b, data=None, batch=batch, seed=first["seed"], bins=1)
        if first["input_shape"] != second["input_shape"] or first["shape"] != second["shape"]:
            raise SpecError.at("b", f"the networks take or give different shapes: {first['input_shape']} -> "
                                    f"{first['shape']} and {second['input_shape']} -> {second['shape']}")
        x, y = torch.tensor(_numbers(first["output"])), torch.tensor(_numbers(second["output"]))
        diff = float((x - y).abs().max()) if x.numel() else 0.0
        return {"equal": bool(torch.equal(x, y)), "max_abs_diff": inspection.json_float(diff), "seed": first["seed"],
                "shape": first["shape"]}

    def code(self, model_id: str) -> str:
        return self._read(model_id, None, lambda net: codegen.to_code(net.spec, self.registry))

    # --- files ----------------------------------------------------------------------------------

    def download(self, model_id: str, version: int | None, fmt: io.Format) -> tuple[str, Iterator[bytes], int]:
        """(file name, byte stream, length). Safetensors streams from the stored blobs; ``.pt`` is
        written by ``torch.save`` to a temporary file that is streamed and removed."""
        with self._using(model_id) as live:
            record = self._record(model_id, version if version is not None else live.version)
            name = f"{_slug(record.spec.get('name', 'network'))}-v{record.version}.{fmt}"
            if fmt == "safetensors":  # the blobs stay held while they stream: pruning cannot cut it short
                held = self.store.hold(record.manifest)
                stream, length = io.stream_safetensors(
                    [(k, self.store.blob_data(h)) for k, h in record.manifest.items()],
                    {"format": "pt", "layerlab_spec": json.dumps(record.spec), "layerlab_version": str(record.version)},
                    on_close=lambda: self.store.abandon(held))
                return name, stream, length
            tmp = Path(tempfile.mkstemp(prefix="layerlab-", suffix=".pt")[1])
            try:
                if record.version == live.version and live.net.device.type == "cpu":
                    io.save_state_dict(live.net, tmp, "pt")
                else:  # CPU tensors in the file, whatever the device: plain torch.load reads it anywhere
                    torch.save(self.store.load_tensors(record.manifest, torch.device("cpu")), tmp)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        return name, io.stream_and_remove(tmp), tmp.stat().st_size

    def check(self, data: Any) -> dict[str, Any]:
        """What building a draft spec would give (layers, shapes, counts), on ``meta``; nothing is stored.

        A draft is often invalid while it is edited, so problems are part of the answer:
        ``{ok, errors: [{path, msg}], shape_error}``; a shape error keeps the layers before it.
        """
        try:
            net = probe(parse_spec(data), self.registry, self.limits)
        except (SpecError, LimitError) as exc:  # a ShapeError is a SpecError that names the layer
            errors = exc.errors if isinstance(exc, SpecError) else [{"path": "", "msg": str(exc)}]
            return {"ok": False, "errors": errors, "shape_error": exc.detail if isinstance(exc, ShapeError) else None,
                    "layers": [], "param_count": None, "materialized": False}
        return {"ok": True, "errors": [], "shape_error": None, "param_count": net.param_count,
                "materialized": net.materialized, "layers": net.layers()}

    def inspect_file(self, path: Path) -> dict[str, Any]:
        return io.inspect_file(path, self.limits)

    def from_code(self, source: str) -> dict[str, Any]:
        return codegen.from_code(source, self.registry, self.limits)


def _state(net: Network) -> dict[str, torch.Tensor]:
    """The state dict with tied keys as one tensor object (``keep_vars``), lazy tensors left out."""
    return {k: v for k, v in net.module.state_dict(keep_vars=True).items() if not torch.nn.parameter.is_lazy(v)}


def _by_blob(manifest: Manifest) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for key, digest in manifest.items():
        groups.setdefault(digest, []).append(key)
    return groups


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:80] or "network"


def _numbers(values: Any) -> Any:
    """Outputs with non-finite values travel as strings; turn them back into floats."""
    if isinstance(values, list):
        return [_numbers(v) for v in values]
    return float(values) if isinstance(values, str) else values
