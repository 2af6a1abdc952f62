"""synchronaut-batch: run many sync and async calls at once, from sync, asyncio or Trio code.

``parallel_map`` runs a batch of ``(func, args, kwargs, timeout)`` calls concurrently
and returns the results in input order; ``parallel_iter`` yields them as they finish;
``call_map`` calls several functions with the same arguments. Each call goes through
``synchronaut_core``: sync functions run in an executor (threads, processes, a Dask
cluster), coroutines together on one event loop. Importing this package starts no
thread and imports neither Trio nor an executor library.
"""

from ._call_map import call_map
from ._calls import CallSpec
from ._iter import BatchIterator, parallel_iter
from ._map import parallel_map

__all__ = ["BatchIterator", "CallSpec", "call_map", "parallel_iter", "parallel_map"]

__version__ = "0.4.0"
