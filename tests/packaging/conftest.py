"""Fixtures of the packaging tests: the four packages built, offline, from a copy outside git."""

from __future__ import annotations

from pathlib import Path

import pytest
from support_packaging import PACKAGES, STALE, Dists, copy_packages, uv_build


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: builds or installs the packages (seconds each; -m 'not slow' skips)"
    )


def _src_files(packages: Path) -> dict[str, tuple[int, int]]:
    """Every file under packages/*/src with its size and mtime."""
    return {
        str(path.relative_to(packages)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(packages.glob("*/src/**/*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """Build every package's sdist and wheel (``uv build --offline``), once per worker.

    Built straight from the source directories (not via the sdist), so the wheel build
    itself meets the stale compiled files; the from-sdist route is covered by the
    core-specific tests and scripts/build-dists.
    """
    base = tmp_path_factory.mktemp("dists")
    packages = copy_packages(base)
    core_src = packages / "synchronaut-core" / "src" / "synchronaut_core"
    for name, content in STALE.items():
        (core_src / name).write_bytes(content)
    out, tmp = base / "out", base / "tmp"
    tmp.mkdir()
    before = _src_files(packages)
    logs: list[str] = []
    for name in PACKAGES:
        logs.append(
            uv_build(
                "--sdist",
                "--wheel",
                "--out-dir",
                str(out),
                name,
                cwd=packages,
                env={"TMPDIR": str(tmp)},
            )
        )
    return Dists(packages, out, tmp, "\n".join(logs), before, _src_files(packages))
