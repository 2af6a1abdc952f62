"""Fixtures for the synchronaut_batch tests: ``run`` runs an async test body on every
backend of tests/support_backends.py; ``mode`` adds plain sync code."""

from __future__ import annotations

import pytest
from batch_helpers import MODES, Mode


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    """Each place a batch can start from: sync code, and a task of each backend (asyncio,
    asyncio+debug, asyncio+eager on 3.12+, uvloop, Trio)."""
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    return Mode(request.param)
