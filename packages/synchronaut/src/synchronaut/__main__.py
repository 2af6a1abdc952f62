"""``python -m synchronaut``: what this installation is and what it will use.

Prints the versions of the parts, whether the C accelerator is active (and why not),
whether uvloop and Trio are installed, and the default pool size. It replaces 0.3.5's
``hello`` console script. ``--json`` prints the same as one JSON object.

uvloop and Trio are looked up (``importlib.util.find_spec``, version from their
metadata) but never imported: the report must not start what it describes.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import platform
import sys
import sysconfig
from typing import Any

import synchronaut
import synchronaut_batch
import synchronaut_core
import synchronaut_ctx
from synchronaut_core._pool import default_worker_count

_PARTS = {
    "synchronaut": synchronaut.__version__,
    "synchronaut-core": synchronaut_core.__version__,
    "synchronaut-ctx": synchronaut_ctx.__version__,
    "synchronaut-batch": synchronaut_batch.__version__,
}


def _optional(name: str) -> str | None:
    """The installed version of an optional dependency, or None; it is not imported."""
    if importlib.util.find_spec(name) is None:
        return None
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:  # importable, but without metadata
        return "unknown version"


def _build_marker() -> dict[str, Any] | None:
    """What the build of synchronaut-core recorded about the accelerator (hatch_build.py)."""
    try:
        text = importlib.metadata.distribution("synchronaut-core").read_text(
            "extra_metadata/speedups.json"
        )
    except importlib.metadata.PackageNotFoundError:
        return None
    return json.loads(text) if text else None


def _accelerator() -> dict[str, Any]:
    # synchronaut_core._accelerator is the one place that decides, and says why.
    decision = importlib.import_module("synchronaut_core._accelerator")
    active = bool(getattr(synchronaut_core, "ACCELERATED", decision._speedups is not None))
    reason = "" if active else str(decision._REASON)
    return {"active": active, "reason": reason, "build": _build_marker()}


def report() -> dict[str, Any]:
    """The report as a dict (what ``--json`` prints)."""
    return {
        "versions": dict(_PARTS),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            "executable": sys.executable,
        },
        "accelerator": _accelerator(),
        "uvloop": _optional("uvloop"),
        "trio": _optional("trio"),
        "default_pool_size": default_worker_count(),
    }


def _format(data: dict[str, Any]) -> str:
    versions = data["versions"]
    py = data["python"]
    acc = data["accelerator"]
    build = acc["build"]
    parts = ", ".join(f"{name} {v}" for name, v in versions.items() if name != "synchronaut")
    threading = "free-threaded" if py["free_threaded"] else "with the GIL"
    lines = [
        f"synchronaut {versions['synchronaut']} ({parts})",
        f"Python {py['version']} ({py['implementation']}, {threading}): {py['executable']}",
        "accelerator: "
        + ("active (C)" if acc["active"] else f"not active, pure Python ({acc['reason']})"),
    ]
    if build is not None:
        built = (
            f"built for {build['python']}" if build["built"] else f"not built ({build['reason']})"
        )
        lines.append(f"  at install: {built}")
    for name, purpose in (
        ("uvloop", "the event loops synchronaut runs use it"),
        ("trio", "Trio code is supported"),
    ):
        version = data[name]
        lines.append(
            f"{name}: {version} installed ({purpose})" if version else f"{name}: not installed"
        )
    lines.append(f"default pool size: {data['default_pool_size']} workers (min(32, CPUs + 4))")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the report; returns the exit status (0)."""
    parser = argparse.ArgumentParser(
        prog="python -m synchronaut", description="Report what this synchronaut install uses."
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    data = report()
    print(json.dumps(data, indent=2) if args.json else _format(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
