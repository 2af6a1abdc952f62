"""A forked child failed the parent's finished jobs too, and the standard library logged it.

Found running the pool's model (``test_core_pool_model.py``) with 300 examples of 100
steps: the forked children printed ``Future ... in unexpected state: FINISHED`` on
stderr (a CRITICAL record of ``concurrent.futures``). A worker names its job
(``_Worker.job``) until it takes the pool's lock after the job, so a fork in between
found a job whose future was already settled among the ones to fail; ``_FutureItem.fail``
called ``set_running_or_notify_cancel()`` on it, which logs before it raises (the error
was suppressed, the record not). A settled future is now left as it is.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

import pytest

from synchronaut_core import _pool


@pytest.mark.parametrize("settle", ["result", "exception", "cancel"])
def test_failing_a_job_whose_future_is_settled_leaves_it_and_logs_nothing(
    settle: str, caplog: pytest.LogCaptureFixture
) -> None:
    future: Future[int] = Future()
    item = _pool._FutureItem(future, int, (), {})  # pyright: ignore[reportPrivateUsage]
    if settle == "result":
        future.set_running_or_notify_cancel()
        future.set_result(1)
    elif settle == "exception":
        future.set_running_or_notify_cancel()
        future.set_exception(ValueError("its own"))
    else:
        future.cancel()
        future.set_running_or_notify_cancel()  # as a worker skipping it does
    with caplog.at_level(logging.DEBUG):
        item.fail(RuntimeError("the process forked"))
    assert caplog.records == []
    if settle == "result":
        assert future.result() == 1
    elif settle == "exception":
        assert isinstance(future.exception(), ValueError)
    else:
        assert future.cancelled()


def test_failing_a_pending_or_running_job_still_gives_it_the_error() -> None:
    for running in (False, True):
        future: Future[int] = Future()
        if running:
            future.set_running_or_notify_cancel()
        item = _pool._FutureItem(future, int, (), {})  # pyright: ignore[reportPrivateUsage]
        item.fail(RuntimeError("the process forked"))
        with pytest.raises(RuntimeError, match="forked"):
            future.result(timeout=0)
