"""The exceptions synchronaut raises: a call's timeout and a cancelled offload."""

from __future__ import annotations

__all__ = ["CallAnyTimeout", "CallCancelled"]


class CallAnyTimeout(TimeoutError):
    """A call made through synchronaut ran longer than its ``timeout``.

    Subclasses the built-in :class:`TimeoutError`, so ``except TimeoutError`` catches it
    too. Only synchronaut's own time limit raises it: a ``TimeoutError`` raised by the
    callee itself propagates unchanged. ``func_name`` and ``timeout`` say which call
    timed out and after how long.
    """

    func_name: str | None
    timeout: float | None

    def __init__(
        self, message: str, *, func_name: str | None = None, timeout: float | None = None
    ) -> None:
        super().__init__(message)
        self.func_name = func_name
        self.timeout = timeout


class CallCancelled(BaseException):
    """Raised by :func:`check_cancelled` inside offloaded sync code whose caller is gone.

    The caller timed out or was cancelled, so nobody will read the result. It derives
    from ``BaseException`` (like ``asyncio.CancelledError``) so that a broad
    ``except Exception`` in user code does not swallow it by accident.
    """


def _timeout_error(name: str, timeout: float) -> CallAnyTimeout:
    return CallAnyTimeout(
        f"Function {name} timed out after {timeout}s", func_name=name, timeout=timeout
    )
