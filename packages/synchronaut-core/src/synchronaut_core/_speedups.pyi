"""Types of the optional C accelerator (see _speedups.c)."""

from collections.abc import Callable
from typing import Any

def setup(
    get_running_loop: Callable[[], object],
    fallback: Callable[..., Any],
    resolve: Callable[[Any, Callable[..., Any]], Any],
    close_if_unstarted: Callable[[Any], None],
    option_names: tuple[str, ...],
    coroutine_types: dict[type, bool],
    doc: str,
    /,
) -> Callable[..., Any]: ...
def setup_inline(
    set_running_loop: Callable[[Any], object],
    getcurrent: Callable[[], Any],
    green_type: type,
    enter: Callable[[Callable[..., Any], tuple[Any, ...], str], Any],
    /,
) -> None:
    """Inline mode is in use: call_any hands inline code's coroutines to its task."""

def inline_switch(
    switch: Callable[[Any], Any], arg: Any, loop: Any, inline: Any, threshold: float | None, /
) -> Any:
    """Switch into an inline greenlet with ``arg``, the loop hidden meanwhile."""

def set_inline_threshold(seconds: float | None, /) -> None:
    """The inline blocking guard's threshold for InlineChain (seconds; None: off)."""

class InlineChain:
    """The driving task's awaits of one inline call (see ``_inline._drive``)."""

    #: The coroutine awaited now; None once the await returned or failed in a switch.
    request: Any
    #: True if the last exception out of the await came from a switch into the greenlet.
    in_switch: bool
    def __init__(
        self,
        switch: Callable[[Any], Any],
        loop: Any,
        local: Any,
        inline: Any,
        green: Any,
        context: Any,
        task: Any,
        /,
    ) -> None: ...
    def follow(self, request: Any, /) -> InlineChain:
        """Await ``request`` next; the chain itself."""
    def __await__(self) -> InlineChain: ...
    def __iter__(self) -> InlineChain: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any, /) -> Any: ...
    def throw(self, *exc: Any) -> Any: ...
    def close(self) -> None: ...

def hide_running_loop(loop: Any, /) -> Any:
    """Hide this thread's running asyncio loop ``loop``; a token for show_running_loop."""

def show_running_loop(token: Any, loop: Any, /) -> None:
    """Undo ``hide_running_loop(loop)``: ``loop`` is this thread's running loop again."""

def adopt(cls: type[DirectCall], /) -> None:
    """Free instances of ``cls`` (a field-less subclass) with DirectCall's own code."""

class DirectCall:
    """Base type of synchronaut's decorated functions (their hot paths in C)."""

    _direct_func: Callable[..., Any] | None
    _fast_kind: int
    _func: Callable[..., Any]
    _options: Any
    _options_here: Any
    #: The class of this wrapper's bound forms; None: attribute access never binds.
    _bound_type: type[DirectCall] | None
    #: Bound forms bind to the class (a classmethod) rather than the instance.
    _bind_class: bool
    @property
    def __func__(self) -> Any:
        """A bound form's wrapper (AttributeError on a wrapper that is not bound)."""
    @property
    def __self__(self) -> Any:
        """A bound form's instance or class (AttributeError on a wrapper not bound)."""
    def __get__(self, instance: object, owner: type | None = None, /) -> Any:
        """``obj.method``: a bound form (see ``_decorator._Wrapper._get``), or self."""
