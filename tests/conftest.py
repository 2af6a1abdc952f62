"""Shared fixtures: every async behaviour is proven on asyncio (also in debug mode and,
on Python 3.12+, with eager tasks), asyncio+uvloop and Trio."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support_backends import ASYNCIO_BACKENDS, BACKENDS, Backend


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here, not in tests/stress/conftest.py: only this conftest is loaded early enough
    # to add options whatever paths pytest is given.
    parser.addoption(
        "--stress-long",
        action="store_true",
        default=False,
        help="run tests/stress at the issue's full figures (1 000 000 calls, 10 000 "
        "timeouts...; minutes) instead of the short CI version; same as "
        "SYNCHRONAUT_STRESS=long",
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend: asyncio, asyncio+debug, asyncio+eager (3.12+), uvloop, trio."""
    return Backend(request.param)


@pytest.fixture(params=ASYNCIO_BACKENDS)
def asyncio_backend(request: pytest.FixtureRequest) -> Backend:
    """Each asyncio backend: the default loop, debug mode, eager tasks, uvloop."""
    return Backend(request.param)


@pytest.fixture
def run(backend: Backend) -> Callable[..., Any]:
    """``run(fn)``: run an async test body on each backend."""
    return backend.run


@pytest.fixture
def backend_factory() -> Callable[[str], Backend]:
    """For tests that only apply to some backends: ``backend_factory("uvloop")``."""
    return Backend
