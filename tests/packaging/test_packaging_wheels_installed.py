"""The built wheels installed with ``uv pip install --no-sources`` into a fresh venv: they work.

The wheels come from a copy of packages/ outside git (conftest ``dists``); nothing of the
workspace (editable installs, src/, the editable build's .so finder) is visible to the
venv's interpreter, so this is what a user installing from PyPI gets.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from support_packaging import PACKAGES, Dists, built, run, uv, venv_python

pytestmark = pytest.mark.slow

SMOKE = textwrap.dedent(
    """
    import asyncio
    import json

    import synchronaut_core
    from synchronaut import call_any, parallel_map, shutdown, synchronaut


    def add(a, b):
        return a + b


    async def mul(a, b):
        await asyncio.sleep(0)
        return a * b


    @synchronaut()
    async def double(x):
        await asyncio.sleep(0)
        return 2 * x


    batch = [(add, (1, 2), {}, None), (mul, (2, 3), {}, 1.0)]


    async def in_async():
        return [
            await call_any(add, 1, 2),
            await call_any(mul, 2, 3),
            await parallel_map(batch),
            await double(4),
        ]


    in_sync = [call_any(add, 1, 2), call_any(mul, 2, 3), parallel_map(batch), double(4)]
    from_async = asyncio.run(in_async())
    shutdown()
    print(json.dumps({
        "sync": in_sync,
        "async": from_async,
        "accelerated": synchronaut_core.ACCELERATED,
        "core_file": synchronaut_core.__file__,
    }))
    """
)


def test_installed_wheels_run_sync_async_batch_and_decorator(dists: Dists, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # cwd: tmp_path, so no workspace configuration (or its sources) is seen by uv.
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=tmp_path)
    python = venv_python(venv)
    wheels = [str(built(dists.out, name, "wheel").path) for name in PACKAGES]
    run(
        [uv(), "pip", "install", "--offline", "--no-sources", "--python", str(python), *wheels],
        cwd=tmp_path,
    )
    (tmp_path / "smoke.py").write_text(SMOKE)
    report = json.loads(run([str(python), "-I", "smoke.py"], cwd=tmp_path).stdout)
    assert report["sync"] == [3, 6, [3, 6], 8]
    assert report["async"] == [3, 6, [3, 6], 8]
    assert report["core_file"].startswith(str(venv))
    core_wheel = built(dists.out, "synchronaut-core", "wheel")
    record = json.loads(core_wheel.read(core_wheel.find("extra_metadata/speedups.json")))
    # The binary wheel's .so loads in a plain install (not only via the editable finder).
    assert report["accelerated"] is record["built"]
