"""The ``layerlab`` command: ``serve`` starts the service; the others use the engine directly."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="layerlab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path, default=None, help="where models are stored (LAYERLAB_DATA_DIR)")
    serve.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps (LAYERLAB_DEVICE)")
    commands.add_parser("layers", help="list the layer types")
    code = commands.add_parser("code", help="print PyTorch source for a JSON spec file")
    code.add_argument("spec", type=Path)
    inspect = commands.add_parser("inspect", help="show the tree of a .pt or .safetensors file")
    inspect.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    overrides = {k: v for k, v in (("data_dir", getattr(args, "data_dir", None)),
                                   ("device", getattr(args, "device", None))) if v is not None}
    settings = Settings(**overrides)
    if args.command == "serve":
        return _serve(settings, args.host, args.port)

    from .codegen import to_code
    from .errors import LayerLabError
    from .io import inspect_file
    from .layers import default_registry
    from .spec import parse_spec

    registry = default_registry(settings.plugins)
    try:
        if args.command == "layers":
            for t in registry:
                print(f"{t.name:22} {t.category:14} {t.doc}")
        elif args.command == "code":
            print(to_code(parse_spec(json.loads(args.spec.read_text())), registry), end="")
        elif args.command == "inspect":
            print(json.dumps(inspect_file(args.file, settings.limits), indent=2))
    except LayerLabError as exc:
        print(f"layerlab: {exc}", file=sys.stderr)
        return 2
    return 0


def _serve(settings: Settings, host: str, port: int) -> int:
    try:
        from .app import create_app
    except ImportError:
        print("layerlab: the service is not part of this build yet", file=sys.stderr)
        return 2
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
