"""Fixtures for the synchronaut_batch tests: ``run`` runs an async test body on
asyncio, asyncio with uvloop, and Trio; ``mode`` adds plain sync code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from batch_helpers import BACKENDS, MODES, Mode, run_on


@pytest.fixture(params=BACKENDS)
def run(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """Run an async test body on each backend: asyncio, asyncio+uvloop, Trio."""
    backend: str = request.param
    if backend == "uvloop":
        pytest.importorskip("uvloop")  # not available on Windows
    return lambda fn: run_on(backend, fn)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    """Each place a batch can start from: sync code, asyncio, asyncio+uvloop, Trio."""
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    return Mode(request.param)
