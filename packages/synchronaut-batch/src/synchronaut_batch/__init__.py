"""synchronaut-batch: run many sync and async calls at once, from sync, asyncio or Trio code.

``parallel_map`` runs a batch of ``(func, args, kwargs, timeout)`` calls concurrently
and returns the results in input order; ``parallel_iter`` yields them as they finish;
``call_map`` calls several functions with the same arguments. Each call goes through
``synchronaut_core``: sync functions run in an executor (threads, processes, a Dask
cluster), coroutines together on one event loop. Importing this package starts no
thread and imports neither Trio nor an executor library.

Each public name is loaded from its module on first use (PEP 562 ``__getattr__`` over
``_LAZY``); type checkers read the ``TYPE_CHECKING`` imports. A new public name is one
line in each of ``TYPE_CHECKING``, ``_LAZY`` and ``__all__`` (tests/meta checks them).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._call_map import call_map
    from ._calls import CallSpec
    from ._iter import BatchIterator, parallel_iter
    from ._map import parallel_map

#: Public name -> the private module that defines it.
_LAZY: dict[str, str] = {
    "BatchIterator": "_iter",
    "CallSpec": "_calls",
    "call_map": "_call_map",
    "parallel_iter": "_iter",
    "parallel_map": "_map",
}

__all__ = ["BatchIterator", "CallSpec", "call_map", "parallel_iter", "parallel_map"]

__version__ = "0.4.0"

if not TYPE_CHECKING:  # hidden from type checkers: an unknown name stays an error there

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
