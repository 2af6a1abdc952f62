"""Checks for the options users pass (timeouts, read-ahead), shared by every entry point."""

from __future__ import annotations

import math


def _check_timeout(timeout: object) -> float:
    """``timeout`` as given, or ``ValueError`` unless it is a positive, finite number."""
    if not isinstance(timeout, bool) and isinstance(timeout, (int, float)):
        try:
            seconds = float(timeout)  # an int too large for a float is not finite
        except OverflowError:
            seconds = math.inf
        if 0 < seconds < math.inf:  # also rejects NaN
            return timeout
    raise ValueError(
        f"timeout must be None or a positive, finite number of seconds, got {timeout!r}"
    )


def _check_read_ahead(read_ahead: object) -> int:
    """``read_ahead`` as given, or ``ValueError``/``TypeError`` unless it is an int >= 0."""
    if isinstance(read_ahead, bool) or not isinstance(read_ahead, int):
        raise TypeError(f"read_ahead must be an int (items to produce ahead), got {read_ahead!r}")
    if read_ahead < 0:
        raise ValueError(f"read_ahead must be 0 or more, got {read_ahead}")
    return read_ahead
