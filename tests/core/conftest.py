"""Fixtures shared by the core tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Threads switch every microsecond: the races of waits and pools show up.

    A module opts in for all its tests with
    ``pytestmark = pytest.mark.usefixtures("fast_switching")``.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
