"""Shared fixtures: every async behaviour is proven on asyncio, asyncio+uvloop and Trio."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support_backends import BACKENDS, Backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """One of asyncio, uvloop, trio."""
    return Backend(request.param)


@pytest.fixture(params=["asyncio", "uvloop"])
def asyncio_backend(request: pytest.FixtureRequest) -> Backend:
    """asyncio with its default loop, and with uvloop."""
    return Backend(request.param)


@pytest.fixture
def run(backend: Backend) -> Callable[..., Any]:
    """``run(fn)``: run an async test body on each backend."""
    return backend.run


@pytest.fixture
def backend_factory() -> Callable[[str], Backend]:
    """For tests that only apply to some backends: ``backend_factory("uvloop")``."""
    return Backend
