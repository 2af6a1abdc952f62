"""parallel_map inside an asyncio coroutine: the spec's second example.

One task per call: the coroutines run on the loop, the sync call in a worker thread;
the coroutine given 0.01s comes back as a CallAnyTimeout in its position.
"""

import asyncio

from synchronaut import parallel_map


async def async_hello(name):
    await asyncio.sleep(0.1)
    return f"Hi, {name}!"


def sync_double(x):
    return x * 2


async def main():
    calls = [
        # run async_hello("Charlie") with a 0.5s timeout
        (async_hello, ("Charlie",), {}, 0.5),
        # run sync_double(21) with no timeout
        (sync_double, (21,), {}, None),
        # run async_hello but force it to "time out" in 0.01s
        (async_hello, ("TooSlow",), {}, 0.01),
    ]

    # We want exceptions captured so we can see who timed out
    results = await parallel_map(calls, return_exceptions=True)

    # results[0] -> "Hi, Charlie!"
    # results[1] -> 42
    # results[2] -> CallAnyTimeout(...) because async_hello slept 0.1s > 0.01s
    print(results)


asyncio.run(main())
