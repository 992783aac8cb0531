"""Settings (from the environment, ``LAYERLAB_*``), the limits the engine enforces, and the device."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class Limits:
    """Every limit the engine enforces before doing the work. Defaults suit a 24 GiB machine."""

    max_params: int = 200_000_000
    max_layers: int = 512
    max_depth: int = 8
    max_upload_bytes: int = 2 << 30
    max_unpack_bytes: int = 4 << 30
    max_file_elements: int = 1_000_000_000
    max_file_entries: int = 100_000
    max_file_depth: int = 32
    max_values: int = 1_000_000
    max_bins: int = 1_000
    max_expr_length: int = 500
    max_batch: int = 4_096
    max_activation_elements: int = 200_000_000
    max_flops: int = 200_000_000_000
    max_expr_memory: int = 4 << 30
    max_code_length: int = 100_000


class Settings(BaseSettings):
    """One object for every setting; each also reads ``LAYERLAB_<NAME>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="LAYERLAB_", frozen=True)

    data_dir: Path = Path("data")
    frontend_dir: Path = Field(default=Path(__file__).resolve().parents[2] / "frontend",
                               description="the page's files, served at /")
    device: str = "auto"
    plugins: list[str] = Field(default_factory=list, description="modules with register(registry)")
    cache_bytes: int = Field(default=4 << 30, description="live models kept in memory, least recently used first out")
    keep_versions: int = Field(default=0, ge=0, description="versions kept per model; 0 keeps all")
    max_params: int = Limits.max_params
    max_layers: int = Limits.max_layers
    max_depth: int = Limits.max_depth
    max_upload_bytes: int = Limits.max_upload_bytes
    max_unpack_bytes: int = Limits.max_unpack_bytes
    max_file_elements: int = Limits.max_file_elements
    max_file_entries: int = Limits.max_file_entries
    max_file_depth: int = Limits.max_file_depth
    max_values: int = Limits.max_values
    max_bins: int = Limits.max_bins
    max_expr_length: int = Limits.max_expr_length
    max_batch: int = Limits.max_batch
    max_activation_elements: int = Limits.max_activation_elements
    max_flops: int = Limits.max_flops
    max_expr_memory: int = Limits.max_expr_memory
    max_code_length: int = Limits.max_code_length

    @property
    def limits(self) -> Limits:
        names = Limits.__dataclass_fields__
        return Limits(**{name: getattr(self, name) for name in names})


def resolve_device(setting: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cpu``, ``cuda``, ``cuda:N`` and ``mps`` as named."""
    setting = setting.strip().lower()
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(setting)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {setting!r}: use auto, cpu, cuda, cuda:N or mps") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {setting!r} asked for, but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {setting!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("device 'mps' asked for, but MPS is not available")
    elif device.type != "cpu":
        raise ValueError(f"unknown device {setting!r}: use auto, cpu, cuda, cuda:N or mps")
    return device
