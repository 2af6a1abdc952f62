"""parallel_map inside a Trio function: the spec's third example.

One task per call in a nursery (0.3 ran Trio batches one by one); the square given
0.01s comes back as a CallAnyTimeout in its position.
"""

import trio

from synchronaut import parallel_map


async def async_square(n):
    await trio.sleep(0.05)
    return n * n


def sync_subtract(a, b):
    return a - b


async def trio_main():
    calls = [
        (async_square, (5,), {}, 0.1),  # finishes in 0.05s < 0.1s
        (sync_subtract, (10, 3), {}, None),
        (async_square, (10,), {}, 0.01),  # will timeout
    ]

    results = await parallel_map(calls, return_exceptions=True)
    # -> [25, 7, CallAnyTimeout(...)]
    print(results)


trio.run(trio_main)
