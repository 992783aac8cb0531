"""Download and upload of a ~100M-parameter model through the real server, against bare PyTorch.

    python -m bench.files [--features 10000]

Transfers use curl. Starts `layerlab serve` on a free port with a temporary data directory, creates
``Linear(features, features)`` (100,010,000 parameters at 10000), then times: the create,
each download format, an upload, and bare ``torch.save`` / ``torch.load(weights_only=True)``
of the same state dict in this process. The server's peak resident memory (VmHWM, reset
before each phase through /proc/PID/clear_refs) is printed per phase.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> tuple[int, int]:
    """(current, peak) resident MB of a process."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="layerlab-bench-"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "layerlab.cli", "serve", "--port", str(port),
                               "--data-dir", str(work / "data"), "--device", "cpu"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
    try:
        for _ in range(300):
            try:
                client.get("/api/health")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        rows: list[tuple[str, float, str]] = []

        def phase(name: str, fn) -> object:  # type: ignore[no-untyped-def]
            reset_peak(server.pid)
            start = time.perf_counter()
            result = fn()
            seconds = time.perf_counter() - start
            rss, peak = memory(server.pid)
            rows.append((name, seconds, f"server RSS {rss} MB, peak {peak} MB"))
            return result

        n = args.features
        spec = {"name": "big", "input_shape": [n], "layers": [{"type": "Linear", "in_features": n, "out_features": n}]}
        model = phase("create (build + store)", lambda: client.post("/api/models", json=spec).json())
        model_id = model["id"]
        size_mb = model["param_count"] * 4 / 1e6

        base = f"http://127.0.0.1:{port}/api/models/{model_id}/state_dict/file"

        def download(fmt: str) -> Path:  # curl: a Python client would be the bottleneck
            path = work / f"download.{fmt}"
            subprocess.run(["curl", "-sf", "-o", str(path), f"{base}?format={fmt}"], check=True)
            return path

        pt = phase("download .pt", lambda: download("pt"))
        phase("download .safetensors", lambda: download("safetensors"))

        def upload() -> None:
            subprocess.run(["curl", "-sf", "-o", "/dev/null", "-X", "PUT", "-F", f"file=@{pt}", base], check=True)

        phase("upload .pt (+ new version)", upload)

        state = torch.load(pt, weights_only=True)
        start = time.perf_counter()
        torch.save(state, work / "bare.pt")
        bare_save = time.perf_counter() - start
        del state
        start = time.perf_counter()
        torch.load(work / "bare.pt", weights_only=True)
        bare_load = time.perf_counter() - start

        print(f"model: Linear({n}, {n}), {model['param_count']:,} parameters, {size_mb:.0f} MB float32")
        for name, seconds, mem in rows:
            print(f"{name:28} {seconds:7.2f} s  {size_mb / seconds:7.0f} MB/s  {mem}")
        print(f"{'bare torch.save':28} {bare_save:7.2f} s")
        print(f"{'bare torch.load':28} {bare_load:7.2f} s")
        times = {name: seconds for name, seconds, _ in rows}
        print(f"ratio download .pt / bare torch.save     {times['download .pt'] / bare_save:6.2f}")
        print(f"ratio download .safetensors / torch.save {times['download .safetensors'] / bare_save:6.2f}")
        print(f"ratio upload / bare torch.load           {times['upload .pt (+ new version)'] / bare_load:6.2f}")
    finally:
        client.close()
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", str(work)], check=False)
        os.sync()


if __name__ == "__main__":
    main()
