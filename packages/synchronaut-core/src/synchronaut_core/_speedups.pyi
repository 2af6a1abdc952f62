"""Types of the optional C accelerator (see _speedups.c)."""

from collections.abc import Callable
from typing import Any

def setup(
    get_running_loop: Callable[[], object],
    fallback: Callable[..., Any],
    resolve: Callable[[Any, Callable[..., Any]], Any],
    close_if_unstarted: Callable[[Any], None],
    doc: str,
    /,
) -> Callable[..., Any]: ...

class DirectCall:
    """Base type of synchronaut's decorated functions (their hot paths in C)."""

    _direct_func: Callable[..., Any] | None
    _fast_kind: int
