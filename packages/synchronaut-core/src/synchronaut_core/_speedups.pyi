"""Types of the optional C accelerator (see _speedups.c)."""

from collections.abc import Callable
from typing import Any

def setup(
    get_running_loop: Callable[[], object],
    fallback: Callable[..., Any],
    resolve: Callable[[Any, Callable[..., Any]], Any],
    doc: str,
    /,
) -> Callable[..., Any]: ...
def setup_wrappers(sync_call: Callable[..., Any], async_call: Callable[..., Any], /) -> None: ...

sync_wrapper_call: Any
async_wrapper_call: Any
