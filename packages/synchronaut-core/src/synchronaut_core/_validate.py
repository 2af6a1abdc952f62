"""Checks for the options users pass (timeouts, read-ahead), shared by every entry point.

One policy everywhere: a value of the wrong *type* is a ``TypeError``, a value of the
right type but out of range is a ``ValueError``; both say what was given and what is
accepted. Every public function that takes a number of seconds checks it here.
"""

from __future__ import annotations

import math
import threading

#: The longest wait a lock or a queue accepts; a longer wait is as good as none.
_TIMEOUT_MAX = threading.TIMEOUT_MAX


def _check_seconds(
    value: object,
    what: str = "timeout",
    *,
    zero_ok: bool = False,
    infinite_ok: bool = False,
) -> float:
    """``value`` as given (an int or float of seconds), or TypeError/ValueError.

    Accepts numbers ``> 0`` (``>= 0`` with ``zero_ok``), finite unless ``infinite_ok``.
    ``bool`` is refused (``timeout=True`` is a mistake, not one second), so is NaN. An
    int too large for a float counts as infinite. ``what`` names the argument in the
    message (``"calls[3]: timeout"``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{what} must be None or a number of seconds, got {value!r} ({type(value).__name__})"
        )
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    low_ok = seconds >= 0 if zero_ok else seconds > 0
    if not low_ok or math.isnan(seconds) or (seconds == math.inf and not infinite_ok):
        if zero_ok:
            accepted = (
                "a number of seconds >= 0" if infinite_ok else "a finite number of seconds >= 0"
            )
        else:
            accepted = "a positive number" if infinite_ok else "a positive, finite number"
            accepted += " of seconds"
        raise ValueError(f"{what} must be None or {accepted}, got {value!r}")
    return value


def _check_timeout(timeout: object, what: str = "timeout") -> float:
    """A call's ``timeout``: a positive, finite number of seconds (see ``_check_seconds``)."""
    return _check_seconds(timeout, what)


def _wait_limit(seconds: float | None) -> float | None:
    """``seconds`` as a lock/queue/join timeout: None (no limit) past ``TIMEOUT_MAX``."""
    if seconds is None or seconds >= _TIMEOUT_MAX:
        return None
    return float(seconds)


def _check_read_ahead(read_ahead: object) -> int:
    """``read_ahead`` as given, or ``TypeError``/``ValueError`` unless it is an int >= 0."""
    if isinstance(read_ahead, bool) or not isinstance(read_ahead, int):
        raise TypeError(f"read_ahead must be an int (items to produce ahead), got {read_ahead!r}")
    if read_ahead < 0:
        raise ValueError(f"read_ahead must be 0 or more, got {read_ahead}")
    return read_ahead
