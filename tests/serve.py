"""A real `layerlab serve` process on 127.0.0.1, a free port and a given data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> httpx.Client:
        env = {**os.environ, "LAYERLAB_DEVICE": "cpu"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "layerlab.cli", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.url, timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stdout.read().decode() if self.process.stdout else "exited")
            try:
                if self.client.get("/api/health").status_code == 200:
                    return self.client
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError("the server did not start")

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout:
            self.process.stdout.close()
