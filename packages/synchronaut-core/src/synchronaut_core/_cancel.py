"""Cooperative cancellation for offloaded sync code: ``check_cancelled()``.

A thread cannot be killed, so a sync call whose caller timed out or was cancelled
keeps running. Each offloaded call carries a flag its caller sets when it gives up;
the worker thread records the call it is running (``_thread_state``), so code deep
in the callee can ask, with no argument passed down, whether to stop.
"""

from __future__ import annotations

from ._errors import CallCancelled
from ._thread_state import _state

__all__ = ["check_cancelled"]


def check_cancelled() -> None:
    """Raise :class:`CallCancelled` if the caller of this offloaded call has given up.

    Call it from sync code that synchronaut runs in a worker thread (an offload with
    ``timeout=``, ``force_offload=True``, or any sync call made from async code), for
    example once per iteration of a long loop, so work stops early instead of running
    on abandoned. Anywhere else (a direct call, a thread synchronaut did not start) it
    returns ``None``: no caller can have given up on it.
    """
    job = _state.job
    if job is not None and job.cancel_reason is not None:
        raise CallCancelled(f"the caller of {job.name} {job.cancel_reason}; stop the work")
