"""The request context: one ContextVar holding "the current request" object, and helpers
to read it, set it, and set it for the duration of a ``with`` / ``async with`` block."""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# One variable for the whole process. A ContextVar (not a thread-local or a global) so
# that every asyncio task, Trio task and context-copying thread sees its own value.
_request_ctx: contextvars.ContextVar[Any] = contextvars.ContextVar("synchronaut_request_ctx")


def set_request_ctx(value: object) -> contextvars.Token[Any]:
    """Set the request context of the *current* context to ``value`` (any object).

    Reads/writes: the ``synchronaut_request_ctx`` ContextVar of the current
    ``contextvars.Context`` (the running asyncio/Trio task's context, or the thread's).
    The change is visible to later code in this context and to every context copied from
    it *afterwards* (new tasks, ``spawn_thread_with_ctx`` threads, ``bind_context``
    snapshots, ``ContextExecutor`` submissions). Threads, tasks and snapshots created
    earlier hold a copy and do not see it.

    Returns the ``contextvars.Token`` of the change; ``token.var.reset(token)`` undoes it.
    The reset must happen in the same Context the token was created in, otherwise
    ``ValueError`` is raised. Prefer ``request_context(value)``, which does this for you.

    Raises nothing.
    """
    return _request_ctx.set(value)


def get_request_ctx(default: Any = None) -> Any:
    """Return the request context of the current context, or ``default`` if it is unset.

    Reads: the ``synchronaut_request_ctx`` ContextVar of the current
    ``contextvars.Context``. The value is whatever was set in this context, or in the
    context this one was copied from at the time of the copy (a snapshot, not a live
    view of another thread's or task's later changes).

    Raises nothing.
    """
    return _request_ctx.get(default)


# Lower-case name: it is used like a function, `with request_context(value):`.
class request_context(Generic[T]):
    """Set the request context to ``value`` for a block, then restore the previous value.

    Works as ``with request_context(value) as v:`` and ``async with request_context(value)
    as v:`` (``v`` is ``value``). On exit - normal or by an exception, which is never
    swallowed - the previous value is restored; if the request context was unset before,
    it is unset again. Blocks nest.

    Reads/writes: the ``synchronaut_request_ctx`` ContextVar of the current Context, so
    each asyncio task and Trio task that enters its own block sees its own value. Threads
    and tasks started inside the block get a snapshot of ``value`` taken when they start;
    leaving the block does not change what they see.

    Restoring uses a ``contextvars.Token``, which may only be reset in the Context that
    created it: entering the block in one task/thread/Context and leaving it in another
    raises ``ValueError``. For the same reason, one instance may be re-entered when the
    uses nest in the same context, but must not be shared between concurrently running
    tasks; write ``request_context(value)`` at each use instead.

    Raises: ``ValueError`` (from ``ContextVar.reset``) when exited in a different Context
    than it was entered in; ``RuntimeError`` when exited more often than entered.
    """

    __slots__ = ("_tokens", "_value")

    def __init__(self, value: T) -> None:
        self._value = value
        # A stack, not a single slot, so that nested re-use of one instance restores
        # each level correctly (tokens are reset in reverse order of creation).
        self._tokens: list[contextvars.Token[Any]] = []

    def __enter__(self) -> T:
        self._tokens.append(_request_ctx.set(self._value))
        return self._value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._tokens:
            raise RuntimeError("request_context exited more times than it was entered")
        _request_ctx.reset(self._tokens.pop())

    async def __aenter__(self) -> T:
        # No await in between: enter and exit run in the awaiting task's Context.
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
