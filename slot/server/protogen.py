"""Generate the Python stubs of proto/slot/v1/slot.proto into slot/v1/ (``make proto``).

The stubs are committed so the client SDK installs without grpcio-tools; tests regenerate them into a
temporary directory and fail when the committed copy differs (stale stubs).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto" / "slot" / "v1" / "slot.proto"
GENERATED = ("slot_pb2.py", "slot_pb2.pyi", "slot_pb2_grpc.py")


def generate(out_dir: Path) -> list[Path]:
    """Run protoc (grpcio-tools) on the proto; return the generated files under out_dir/slot/v1."""
    from grpc_tools import protoc

    out_dir.mkdir(parents=True, exist_ok=True)
    args = ["protoc", f"-I{ROOT / 'proto'}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}", str(PROTO)]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed on " + str(PROTO))
    return [out_dir / "slot" / "v1" / name for name in GENERATED]


def main() -> int:
    for path in generate(ROOT):
        print(f"wrote {path.relative_to(ROOT)}")
    init = ROOT / "slot" / "v1" / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated gRPC stubs of proto/slot/v1/slot.proto (do not edit; run make proto)."""\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
