"""The built wheels installed with ``uv pip install --no-sources`` into a fresh venv: they work.

The wheels come from a copy of packages/ outside git (conftest ``dists``); nothing of the
workspace (editable installs, src/, the editable build's .so finder) is visible to the
venv's interpreter, so this is what a user installing from PyPI gets.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from importlib import metadata
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


INLINE_SMOKE = textwrap.dedent(
    """
    import asyncio
    import json
    import threading

    import synchronaut_core
    from synchronaut import call_any, call_sync, shutdown, synchronaut
    from synchronaut_core import _inline


    async def fetch(x):
        await asyncio.sleep(0)
        return x + 1


    @synchronaut()
    async def decorated(x):
        return 10 * x


    def rows(n):
        for i in range(n):
            yield call_any(fetch, i)


    def business():
        return [
            call_any(fetch, 1),
            call_sync(fetch, 2),
            decorated(3),
            call_any(threading.get_ident, force_offload=True) != threading.get_ident(),
        ]


    async def main():
        value = await call_any(business, inline=True)
        items = [item async for item in call_any(rows, 3, inline=True)]
        return value, items, [await call_any(lambda: i, inline=True) for i in range(3)]


    value, items, trivial = asyncio.run(main())
    shutdown()
    print(json.dumps({
        "value": value,
        "items": items,
        "trivial": trivial,
        "accelerated": synchronaut_core.ACCELERATED,
        "c_switch": _inline._switch_in is not _inline._switch_in_py,
    }))
    """
)


def _copy_distribution(name: str, python: Path) -> None:
    """Install the distribution ``name`` of this environment into ``python``'s venv by
    copying its files (those its RECORD lists) into the venv's site-packages."""
    site = Path(
        run(
            [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            cwd=python.parent,
        ).stdout.strip()
    )
    dist = metadata.distribution(name)
    for file in dist.files or []:
        source = Path(str(dist.locate_file(file)))
        if file.parts[0] == ".." or not source.is_file():
            continue  # scripts and the like, outside site-packages
        target = site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


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
    # Inline mode from the installed wheels, with its optional dependency: every bridge
    # call kind, a generator, the C switch when built. greenlet is copied in from this
    # environment (offline, uv can install only what its cache resolves: wheels by
    # path, not a registry name), the package and its metadata, nothing else of it.
    _copy_distribution("greenlet", python)
    (tmp_path / "inline_smoke.py").write_text(INLINE_SMOKE)
    report = json.loads(run([str(python), "-I", "inline_smoke.py"], cwd=tmp_path).stdout)
    assert report["value"] == [2, 3, 30, True]
    assert report["items"] == [1, 2, 3]
    assert report["trivial"] == [0, 1, 2]
    assert report["c_switch"] is report["accelerated"] is record["built"]
