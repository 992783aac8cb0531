"""Persistence: models, their version history, and parameter snapshots stored once by content.

The embedded store is SQLite (WAL, synchronous=FULL) in the data directory for models and
versions, and one safetensors file per distinct tensor under ``blobs/``, named by the SHA-256
of its dtype, shape and bytes, written to a temporary file, fsynced and renamed. A version is a
manifest ``{state-dict key: blob hash}``: a version that changes one tensor writes one blob,
tied keys share one, and a clone copies only the manifest.

``Store`` is the interface the service uses; a PostgreSQL-backed store can implement it
without touching the service or the routers.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import safetensors.torch
import torch

from .errors import LayerLabError

Manifest = dict[str, str]


class StaleVersionError(LayerLabError):
    status = 412


@dataclass(frozen=True)
class VersionRecord:
    model_id: str
    version: int
    action: str
    created: float
    spec: dict[str, Any]
    manifest: Manifest
    param_count: int
    materialized: bool


@dataclass(frozen=True)
class ModelRecord:
    id: str
    name: str
    created: float
    updated: float
    version: int
    param_count: int


@dataclass(frozen=True)
class BlobData:
    """Where a blob's raw bytes lie, and what tensor they are."""

    path: Path
    offset: int
    length: int
    dtype: str  # safetensors' name: F32, BF16, I64, ...
    shape: list[int]


class Store(Protocol):
    def put_tensors(self, tensors: dict[str, torch.Tensor]) -> Manifest: ...
    def commit(self, record: VersionRecord, expected_version: int | None, written: Manifest) -> None: ...
    def abandon(self, written: Manifest) -> None: ...
    def get(self, model_id: str) -> ModelRecord | None: ...
    def models(self) -> list[ModelRecord]: ...
    def version(self, model_id: str, version: int | None = None) -> VersionRecord | None: ...
    def versions(self, model_id: str) -> list[VersionRecord]: ...
    def delete(self, model_id: str) -> bool: ...
    def load_tensors(self, manifest: Manifest, device: torch.device) -> dict[str, torch.Tensor]: ...
    def load_tensor(self, digest: str) -> torch.Tensor: ...
    def hold(self, manifest: Manifest) -> Manifest: ...
    def blob_data(self, digest: str) -> BlobData: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    version INTEGER NOT NULL, param_count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE, version INTEGER NOT NULL,
    action TEXT NOT NULL, created REAL NOT NULL, spec TEXT NOT NULL, manifest TEXT NOT NULL,
    param_count INTEGER NOT NULL, materialized INTEGER NOT NULL, PRIMARY KEY (model_id, version));
"""


def digest(tensor: torch.Tensor) -> str:
    """SHA-256 of dtype, shape and the bytes in row-major order."""
    h = hashlib.sha256(f"{tensor.dtype}|{list(tensor.shape)}|".encode())
    h.update(_bytes(tensor))
    return h.hexdigest()


def _bytes(tensor: torch.Tensor) -> memoryview:
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().data if flat.numel() else memoryview(b"")


class SqliteStore:
    """The embedded default ``Store``."""

    def __init__(self, data_dir: Path, keep_versions: int = 0) -> None:
        self.root = Path(data_dir)
        self.blobs = self.root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.keep_versions = keep_versions
        self._lock = threading.RLock()
        self._pending: dict[str, int] = {}  # blobs written for versions not yet committed; GC spares them
        self._db = sqlite3.connect(self.root / "layerlab.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- blobs ----------------------------------------------------------------------------------

    def blob_path(self, digest_hex: str) -> Path:
        return self.blobs / digest_hex[:2] / f"{digest_hex}.safetensors"

    def put_tensors(self, tensors: dict[str, torch.Tensor]) -> Manifest:
        """Write each distinct tensor once; tied keys (one tensor object) are hashed once.

        The blobs stay marked as pending (safe from garbage collection) until the manifest is
        passed to ``commit`` or ``abandon``.
        """
        manifest: Manifest = {}
        by_object: dict[int, str] = {}
        try:
            for key, tensor in tensors.items():
                if id(tensor) not in by_object:
                    digest_hex = digest(tensor)
                    if digest_hex not in manifest.values():
                        self.hold({key: digest_hex})
                    manifest[key] = digest_hex  # recorded before the write, so a failure releases it
                    self._write(digest_hex, tensor)
                    by_object[id(tensor)] = digest_hex
                manifest[key] = by_object[id(tensor)]
        except BaseException:
            self._release(manifest)
            raise
        return manifest

    def hold(self, manifest: Manifest) -> Manifest:
        """Mark a manifest's blobs pending (safe from garbage collection) until ``commit`` or ``abandon``."""
        with self._lock:
            for digest_hex in set(manifest.values()):
                self._pending[digest_hex] = self._pending.get(digest_hex, 0) + 1
        return manifest

    def _write(self, digest_hex: str, tensor: torch.Tensor) -> None:
        path = self.blob_path(digest_hex)
        if not path.exists():
            if not path.parent.exists():
                path.parent.mkdir(exist_ok=True)
                _fsync(self.blobs)  # the new shard folder's own entry
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                safetensors.torch.save_file({"t": tensor.detach().to("cpu").contiguous()}, str(tmp))
                _fsync(tmp)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
            _fsync(path.parent)

    def blob_data(self, digest_hex: str) -> BlobData:
        """Where a blob's raw tensor bytes lie, for streaming them without loading."""
        path = self.blob_path(digest_hex)
        with open(path, "rb") as f:
            (header_size,) = struct.unpack("<Q", f.read(8))
            info = json.loads(f.read(header_size))["t"]
        start, end = info["data_offsets"]
        return BlobData(path, 8 + header_size + start, end - start, info["dtype"], info["shape"])

    def load_tensor(self, digest_hex: str) -> torch.Tensor:
        """One blob's tensor, in host memory."""
        return safetensors.torch.load_file(str(self.blob_path(digest_hex)), device="cpu")["t"]

    def load_tensors(self, manifest: Manifest, device: torch.device) -> dict[str, torch.Tensor]:
        """The state dict of a manifest; keys that share a blob share one tensor."""
        loaded: dict[str, torch.Tensor] = {}
        out = {}
        for key, digest_hex in manifest.items():
            if digest_hex not in loaded:
                loaded[digest_hex] = self.load_tensor(digest_hex).to(device)
            out[key] = loaded[digest_hex]
        return out

    # --- records --------------------------------------------------------------------------------

    def commit(self, record: VersionRecord, expected_version: int | None, written: Manifest) -> None:
        """Add a version; ``expected_version`` None creates the model. Stale -> ``StaleVersionError``.

        ``written`` is what ``put_tensors`` returned for it: those blobs stop being pending.
        """
        try:
            with self._lock, self._transaction() as db:
                row = db.execute("SELECT version FROM models WHERE id = ?", (record.model_id,)).fetchone()
                if expected_version is None:
                    if row is not None:
                        raise StaleVersionError(f"model {record.model_id} exists already")
                    db.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?, ?)",
                               (record.model_id, record.spec.get("name", ""), record.created, record.created,
                                record.version, record.param_count))
                else:
                    if row is None or row[0] != expected_version:
                        raise StaleVersionError(f"model {record.model_id} is at version {row and row[0]}, "
                                                f"not {expected_version}")
                    db.execute("UPDATE models SET version = ?, updated = ?, param_count = ?, name = ? WHERE id = ?",
                               (record.version, record.created, record.param_count, record.spec.get("name", ""),
                                record.model_id))
                db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (record.model_id, record.version, record.action, record.created, json.dumps(record.spec),
                            json.dumps(record.manifest), record.param_count, int(record.materialized)))
                if self.keep_versions > 0:
                    db.execute("DELETE FROM versions WHERE model_id = ? AND version <= ?",
                               (record.model_id, record.version - self.keep_versions))
        finally:
            self._release(written)
        if self.keep_versions > 0:
            self.collect_garbage()

    def _release(self, manifest: Manifest) -> None:
        with self._lock:
            for digest_hex in set(manifest.values()):
                count = self._pending.get(digest_hex, 0) - 1
                if count > 0:
                    self._pending[digest_hex] = count
                else:
                    self._pending.pop(digest_hex, None)

    def abandon(self, written: Manifest) -> None:
        """Forget the pending mark of blobs written for a version that will not be committed."""
        self._release(written)

    def get(self, model_id: str) -> ModelRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone()
        return ModelRecord(*row) if row else None

    def models(self) -> list[ModelRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM models ORDER BY created").fetchall()
        return [ModelRecord(*row) for row in rows]

    def version(self, model_id: str, version: int | None = None) -> VersionRecord | None:
        query = "SELECT * FROM versions WHERE model_id = ? ORDER BY version DESC LIMIT 1"
        args: tuple[Any, ...] = (model_id,)
        if version is not None:
            query, args = "SELECT * FROM versions WHERE model_id = ? AND version = ?", (model_id, version)
        with self._lock:
            row = self._db.execute(query, args).fetchone()
        return _version(row) if row else None

    def versions(self, model_id: str) -> list[VersionRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM versions WHERE model_id = ? ORDER BY version",
                                    (model_id,)).fetchall()
        return [_version(row) for row in rows]

    def delete(self, model_id: str) -> bool:
        with self._lock, self._transaction() as db:
            deleted = db.execute("DELETE FROM models WHERE id = ?", (model_id,)).rowcount > 0
        if deleted:
            self.collect_garbage()
        return deleted

    def collect_garbage(self) -> int:
        """Remove blobs no version refers to (and none being written); returns how many."""
        with self._lock:
            used = set(self._pending)
            for (manifest,) in self._db.execute("SELECT manifest FROM versions"):
                used.update(json.loads(manifest).values())
            removed = 0
            for path in self.blobs.glob("*/*.safetensors"):
                if path.stem not in used:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed


    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _version(row: tuple[Any, ...]) -> VersionRecord:
    model_id, version, action, created, spec, manifest, param_count, materialized = row
    return VersionRecord(model_id, version, action, created, json.loads(spec), json.loads(manifest), param_count,
                         bool(materialized))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
