"""Cooperative cancellation for offloaded sync code: ``check_cancelled()``.

A thread cannot be killed, so a sync call whose caller timed out or was cancelled
keeps running. Each offloaded call carries a flag its caller sets when it gives up;
the worker thread records the call it is running in a thread-local, so code deep in
the callee can ask, with no argument passed down, whether to stop.
"""

from __future__ import annotations

import threading
from typing import Protocol

from ._errors import CallCancelled

__all__ = ["check_cancelled"]


class _Cancellable(Protocol):
    cancel_reason: str | None
    name: str


# The offloaded call running on this thread (set by the worker around the callee).
_current = threading.local()


def check_cancelled() -> None:
    """Raise :class:`CallCancelled` if the caller of this offloaded call has given up.

    Call it from sync code that synchronaut runs in a worker thread (an offload with
    ``timeout=``, ``force_offload=True``, or any sync call made from async code), for
    example once per iteration of a long loop, so work stops early instead of running
    on abandoned. Anywhere else (a direct call, a thread synchronaut did not start) it
    returns ``None``: no caller can have given up on it.
    """
    job: _Cancellable | None = getattr(_current, "job", None)
    if job is not None and job.cancel_reason is not None:
        raise CallCancelled(f"the caller of {job.name} {job.cancel_reason}; stop the work")
