"""An async generator consumed from async code with a per-item ``timeout``.

Without a timeout ``call_any`` hands back the async generator itself; with one, this
wrapper awaits each step under the limit, in the consuming task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

from ._backends import _require_backend

T = TypeVar("T")


async def _anext(aiter: AsyncIterator[Any]) -> Any:
    return await aiter.__anext__()


async def _asend(aiter: Any, value: Any) -> Any:
    return await aiter.asend(value)


async def _athrow(aiter: Any, args: tuple[Any, ...]) -> Any:
    return await aiter.athrow(*args)


class _TimedAsyncIterator(AsyncIterator[T]):
    """``async for`` over ``aiter`` where each item must come within ``timeout`` seconds.

    A step past the limit is cancelled where it waits (the generator sees the
    cancellation, its ``finally`` blocks run) and :class:`CallAnyTimeout` is raised.
    """

    __slots__ = ("_aiter", "_name", "_timeout")

    def __init__(self, aiter: AsyncIterator[T], timeout: float, name: str) -> None:
        self._aiter = aiter
        self._timeout = timeout
        self._name = name

    def __aiter__(self) -> _TimedAsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        backend = _require_backend(f"the async iterator over {self._name}")
        return await backend._with_timeout(_anext(self._aiter), self._timeout, self._name)

    async def asend(self, value: Any) -> T:
        """As the async generator's ``asend``, within the timeout."""
        backend = _require_backend(f"the async iterator over {self._name}")
        return await backend._with_timeout(_asend(self._aiter, value), self._timeout, self._name)

    async def athrow(self, *args: Any) -> T:
        """As the async generator's ``athrow`` (same arguments), within the timeout.

        What ``contextlib.asynccontextmanager`` calls to raise the block's exception
        inside the generator: FastAPI does so with a generator dependency.
        """
        backend = _require_backend(f"the async iterator over {self._name}")
        return await backend._with_timeout(_athrow(self._aiter, args), self._timeout, self._name)

    async def aclose(self) -> None:
        """Close the underlying async generator (its ``finally`` blocks run)."""
        aclose = getattr(self._aiter, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> _TimedAsyncIterator[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
