"""Parameter files: ``.pt`` (``torch.save`` of the state dict) and ``.safetensors``.

Reading is safe or nothing: ``torch.load`` only with ``weights_only=True``, on a zip archive
whose declared sizes were checked first (``weights_only`` is no guard against a zip bomb or a
tensor that declares far more elements than its storage holds); safetensors through its own
parser. The format comes from the bytes, never the file name. Loading checks every key, shape
and tied pair first and then applies all of it, or nothing.
"""

from __future__ import annotations

import json
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

import safetensors.torch
import torch

from .build import Network
from .config import Limits
from .errors import FileContentError, FileFormatError, LimitError, NotMaterializedError
from .inspection import summarize, tensor_aliases

Format = Literal["pt", "safetensors"]
FORMATS: tuple[Format, ...] = ("pt", "safetensors")
MEDIA_TYPES = {"pt": "application/octet-stream", "safetensors": "application/octet-stream"}
SAFETENSORS_MAX_HEADER = 100 << 20
SAFETENSORS_DTYPES = ("F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL")
DTYPES = (torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
          torch.int8, torch.uint8, torch.bool)


def detect_format(head: bytes) -> Format:
    """``pt`` for a zip archive (torch.save since 1.6), ``safetensors`` for its length-prefixed JSON."""
    if head[:4] == b"PK\x03\x04":
        return "pt"
    if len(head) >= 9:
        (size,) = struct.unpack("<Q", head[:8])
        if 2 <= size <= SAFETENSORS_MAX_HEADER and head[8:9] == b"{":
            return "safetensors"
    if head[:1] == b"\x80":
        raise FileFormatError("a legacy (pre-1.6, non-zip) torch.save file: re-save it with a current PyTorch")
    raise FileFormatError("not a torch.save zip archive or a safetensors file (judged by the bytes)")


# --- writing ------------------------------------------------------------------------------------

def save_state_dict(net: Network, out: BinaryIO | Path, fmt: Format) -> None:
    """Write ``net.state_dict()``. ``.pt`` keeps the sharing of tied tensors; safetensors cannot
    hold shared storage, so a tied key is written as its own copy (same values)."""
    if not net.materialized:
        raise NotMaterializedError("saving parameters")
    state = net.module.state_dict()
    if fmt == "pt":
        torch.save(state, out)
        return
    seen: set[tuple[int, int]] = set()
    flat: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        ident = (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
        flat[key] = tensor.detach().clone().contiguous() if ident in seen else tensor.detach().contiguous()
        seen.add(ident)
    metadata = {"format": "pt", "layerlab_spec": json.dumps(net.spec.dump())}
    if isinstance(out, Path):
        safetensors.torch.save_file(flat, str(out), metadata=metadata)
    else:
        out.write(safetensors.torch.save(flat, metadata=metadata))


# --- reading ------------------------------------------------------------------------------------

def read_tensors(path: Path, limits: Limits) -> tuple[Format, Any]:
    """The object in a file (tensors, lists, tuples, dicts), read safely within the limits."""
    with open(path, "rb") as f:
        fmt = detect_format(f.read(16))
    if fmt == "pt":
        _check_archive(path, limits)
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # UnpicklingError for anything but plain tensors and containers
            raise FileContentError(f"the .pt file cannot be read as weights only: {str(exc).splitlines()[0]}") from None
    else:
        _check_safetensors_header(path, limits)
        try:
            obj = safetensors.torch.load_file(str(path), device="cpu")
        except Exception as exc:
            raise FileContentError(f"the safetensors file is invalid: {exc}") from None
    _check_elements(obj, limits)
    return fmt, obj


def _check_archive(path: Path, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileContentError(f"the .pt file is not a valid zip archive: {exc}") from None
    if len(infos) > limits.max_file_entries:
        raise LimitError("max_file_entries", limits.max_file_entries, len(infos), "the archive's number of entries")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > limits.max_unpack_bytes:
        raise LimitError("max_unpack_bytes", limits.max_unpack_bytes, unpacked, "the archive's unpacked size")


def _check_safetensors_header(path: Path, limits: Limits) -> None:
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        try:
            header = json.loads(f.read(size))
        except (ValueError, RecursionError) as exc:
            raise FileContentError(f"the safetensors header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise FileContentError("the safetensors header is not a JSON object")
    numels = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        shape = info.get("shape") if isinstance(info, dict) else None
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise FileContentError(f"the safetensors entry {key!r} has no valid shape")
        if info.get("dtype") not in SAFETENSORS_DTYPES:
            raise FileContentError(f"the safetensors entry {key!r} has dtype {info.get('dtype')!r}; supported: "
                                   f"{', '.join(SAFETENSORS_DTYPES)}")
        numels.append(_prod(shape))
    if len(numels) > limits.max_file_entries:
        raise LimitError("max_file_entries", limits.max_file_entries, len(numels), "the file's number of tensors")
    if sum(numels) > limits.max_file_elements:
        raise LimitError("max_file_elements", limits.max_file_elements, sum(numels), "the file's number of elements")


def _prod(shape: list[int]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def _check_elements(obj: Any, limits: Limits) -> None:
    """Walk the loaded object: depth, entries and the elements its tensors declare."""
    total, entries = 0, 0
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        entries += 1
        if depth > limits.max_file_depth:
            raise LimitError("max_file_depth", limits.max_file_depth, depth, "the file's nesting depth")
        if entries > limits.max_file_entries:
            raise LimitError("max_file_entries", limits.max_file_entries, entries, "the file's number of entries")
        if isinstance(item, torch.Tensor):
            if getattr(item, "is_nested", False) or item.is_quantized or item.layout != torch.strided \
                    or item.device.type != "cpu":
                raise FileContentError("a tensor in the file is nested, quantized, sparse or not on the CPU: "
                                       "only dense tensors")
            if item.dtype not in DTYPES:
                raise FileContentError(f"a tensor in the file is {item.dtype}; supported: "
                                       f"{', '.join(str(d).removeprefix('torch.') for d in DTYPES)}")
            needed = item.numel() * item.element_size()
            if needed and item.untyped_storage().nbytes() < needed:
                raise FileContentError(f"a tensor of shape {list(item.shape)} declares {needed} bytes over a "
                                       f"storage of {item.untyped_storage().nbytes()} (an expanded or overlapping "
                                       "view): refused, it would unpack to far more than the file holds")
            total += item.numel()
            if total > limits.max_file_elements:
                raise LimitError("max_file_elements", limits.max_file_elements, total,
                                 "the number of elements the file's tensors declare")
        elif isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)


def inspect_file(path: Path, limits: Limits) -> dict[str, Any]:
    """Any file of tensors, lists, tuples and dicts as a tree with shapes, dtypes and stats."""
    fmt, obj = read_tensors(path, limits)
    return {"format": fmt, "root": tree(obj)}


def tree(obj: Any) -> dict[str, Any]:
    if isinstance(obj, torch.Tensor):
        return {"kind": "tensor", "shape": list(obj.shape), "dtype": str(obj.dtype).removeprefix("torch."),
                "stats": summarize(obj).stats}
    if isinstance(obj, dict):
        return {"kind": "dict", "items": {str(k): tree(v) for k, v in obj.items()}}
    if isinstance(obj, (list, tuple)):
        return {"kind": "tuple" if isinstance(obj, tuple) else "list", "items": [tree(v) for v in obj]}
    return {"kind": "scalar", "value": obj if isinstance(obj, (int, float, str, bool)) or obj is None else str(obj)}


def load_state_dict(net: Network, path: Path, limits: Limits, strict: bool = True) -> dict[str, Any]:
    """Load a parameter file into ``net``; returns the report and applies it only when it can.

    Strict: every key known and present, every shape equal, tied keys equal; else
    ``FileContentError`` with the report and nothing changed. Non-strict: the keys that fit are
    applied, the rest reported. A tied key the file lacks is not missing when another key of
    the same tensor is present (safetensors' ``save_model`` drops such duplicates). Values of
    another dtype are converted, as ``load_state_dict`` does, and listed under ``converted``.
    """
    if not net.materialized:
        raise NotMaterializedError("loading parameters")
    fmt, obj = read_tensors(path, limits)
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise FileContentError("the file does not hold a state dict (a mapping of names to tensors)")
    report = _compare(net, OrderedDict(obj))
    to_apply = report.pop("_apply")
    ok = not (report["missing"] or report["unexpected"] or report["mismatched"] or report["tied_conflicts"])
    if strict and not ok:
        raise FileContentError({"msg": "strict loading failed: nothing was changed", "format": fmt, **report})
    state = net.module.state_dict(keep_vars=True)
    with torch.no_grad():
        for canonical, key in to_apply:
            state[canonical].copy_(obj[key])
    return {"format": fmt, "strict": strict, **report}


def _compare(net: Network, incoming: OrderedDict[str, torch.Tensor]) -> dict[str, Any]:
    state = net.module.state_dict(keep_vars=True)
    groups = tensor_aliases(net)
    report: dict[str, Any] = {"loaded": [], "missing": [], "unexpected": [k for k in incoming if k not in state],
                              "mismatched": [], "converted": [], "tied_conflicts": [], "_apply": []}
    for canonical, keys in groups.items():
        present = [k for k in keys if k in incoming]
        if not present:
            report["missing"] += keys
            continue
        target = state[canonical]
        fitting = []
        for key in present:
            value = incoming[key]
            if list(value.shape) != list(target.shape):
                report["mismatched"].append({"key": key, "expected": list(target.shape), "got": list(value.shape)})
                continue
            if value.dtype != target.dtype:
                report["converted"].append({"key": key, "from": str(value.dtype).removeprefix("torch."),
                                            "to": str(target.dtype).removeprefix("torch.")})
            fitting.append(key)
        if not fitting:
            continue
        first = incoming[fitting[0]]
        differing = [k for k in fitting[1:] if not torch.equal(incoming[k].to(first.dtype), first)]
        if differing:
            report["tied_conflicts"].append({"keys": [fitting[0], *differing],
                                             "msg": "these keys hold one shared tensor but differ in the file; "
                                                    f"{fitting[0]} is used"})
        report["loaded"] += fitting
        report["_apply"].append((canonical, fitting[0]))
    loaded = set(report["loaded"])
    report["loaded"] = [k for k in state if k in loaded]  # in the network's order
    return report


# --- streaming ------------------------------------------------------------------------------------

def stream_safetensors(entries: list[tuple[str, Any]], metadata: dict[str, str],
                       on_close: Callable[[], None] = lambda: None) -> tuple[Iterator[bytes], int]:
    """A safetensors file assembled from stored blobs without loading them: ``(stream, length)``.

    ``entries`` are ``(key, BlobData)``; a blob that several keys share is written once per key,
    since safetensors cannot share storage. ``on_close`` runs when the stream ends or is dropped.
    """
    header: dict[str, Any] = {"__metadata__": metadata}
    offset = 0
    for key, blob in entries:
        header[key] = {"dtype": blob.dtype, "shape": blob.shape, "data_offsets": [offset, offset + blob.length]}
        offset += blob.length
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format pads the header to 8 bytes

    def stream() -> Iterator[bytes]:
        try:
            yield struct.pack("<Q", len(encoded)) + encoded
            for _, blob in entries:
                yield from _file_range(blob.path, blob.offset, blob.length)
        finally:
            on_close()

    return stream(), 8 + len(encoded) + offset


def _file_range(path: Path, offset: int, length: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(offset)
        while length > 0:
            data = f.read(min(chunk, length))
            if not data:
                raise OSError(f"{path} ended early")
            length -= len(data)
            yield data


def stream_and_remove(path: Path) -> Iterator[bytes]:
    """Stream a temporary file, removing it when done (or when the client goes away)."""
    try:
        yield from _file_range(path, 0, path.stat().st_size)
    finally:
        path.unlink(missing_ok=True)
