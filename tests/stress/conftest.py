"""The stress suite's scale: short by default (CI), the issue's full figures on demand.

``pytest tests/stress --stress-long`` (or ``SYNCHRONAUT_STRESS=long``) runs every test
at the figures the reliability issue names -- 1 000 000 mixed calls, 10 000 timeouts,
more fuzzing examples -- and lifts the per-test timeout accordingly. The default short
run exercises the same mechanisms with smaller counts, so the whole directory stays
well under a minute on two cores.
"""

from __future__ import annotations

import os

import pytest
from stress_helpers import Scale


def _long(config: pytest.Config) -> bool:
    return bool(config.getoption("--stress-long")) or (
        os.environ.get("SYNCHRONAUT_STRESS", "").lower() == "long"
    )


@pytest.fixture(scope="session")
def scale(request: pytest.FixtureRequest) -> Scale:
    """``scale(short, long)``: the figure for this run; ``scale.long`` says which run."""
    return Scale(_long(request.config))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _long(config):
        return
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            # The long run takes minutes per test; the suite's 120 s guard against
            # hangs would cut it short.
            item.add_marker(pytest.mark.timeout(1800))
