"""parallel_map from plain sync code: the spec's first example.

Sync functions run in the executor all at once; the 2-second sleep exceeds its
1-second timeout and comes back as a CallAnyTimeout in its position.
"""

import time

from synchronaut import parallel_map


def sync_greet(name):
    return f"Hello, {name}!"


def sync_add(a, b):
    return a + b


def sync_sleep_and_return(x):
    time.sleep(x)
    return f"Slept {x}s"


# We want:
#  - sync_greet("Alice")           with no timeout
#  - sync_add(2, 3)                with a 1.0s timeout
#  - sync_sleep_and_return(2)      with a 1.0s timeout  (this one should "timeout")

calls = [
    (sync_greet, ("Alice",), {}, None),
    (sync_add, (2, 3), {}, 1.0),
    (sync_sleep_and_return, (2,), {}, 1.0),
]

# Collect exceptions instead of letting the sleep call raise
results = parallel_map(calls, return_exceptions=True)

# `results` is a list, in the same order:
# [
#   "Hello, Alice!",    # from sync_greet
#   5,                  # from sync_add
#   CallAnyTimeout(...) # from sync_sleep_and_return because it slept 2s > 1.0s timeout
# ]
print(results)
