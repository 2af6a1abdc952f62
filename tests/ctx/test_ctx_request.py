"""The request context: get/set, and request_context() as a sync and async block."""

from __future__ import annotations

import contextvars

import pytest

from synchronaut_ctx import get_request_ctx, request_context, set_request_ctx

UNSET = object()


def test_unset_returns_default() -> None:
    # A brand-new Context: nothing set, whatever earlier tests did.
    empty = contextvars.Context()
    assert empty.run(get_request_ctx) is None
    assert empty.run(get_request_ctx, "fallback") == "fallback"
    assert empty.run(get_request_ctx, default=UNSET) is UNSET


def test_set_then_get_and_token_reset() -> None:
    def body() -> None:
        value = {"user_id": 1}
        token = set_request_ctx(value)
        assert isinstance(token, contextvars.Token)
        assert token.var.name == "synchronaut_request_ctx"
        assert get_request_ctx() is value
        token.var.reset(token)
        assert get_request_ctx(UNSET) is UNSET

    contextvars.Context().run(body)


def test_set_accepts_any_object_including_none() -> None:
    def body() -> None:
        set_request_ctx(None)
        assert get_request_ctx("default") is None  # set to None is not "unset"
        set_request_ctx(7)
        assert get_request_ctx() == 7

    contextvars.Context().run(body)


def test_block_sets_and_restores_previous_value() -> None:
    with request_context("outer"):
        with request_context("inner") as value:
            assert value == "inner"
            assert get_request_ctx() == "inner"
        assert get_request_ctx() == "outer"
    assert get_request_ctx(UNSET) is UNSET


def test_block_restores_unset_state() -> None:
    with request_context({"a": 1}):
        assert get_request_ctx() == {"a": 1}
    assert get_request_ctx(UNSET) is UNSET


def test_block_restores_on_exception_and_does_not_swallow_it() -> None:
    with request_context("outer"):
        with pytest.raises(KeyError, match="boom"), request_context("inner"):
            raise KeyError("boom")
        assert get_request_ctx() == "outer"
    assert get_request_ctx(UNSET) is UNSET


def test_block_restores_a_value_set_with_set_request_ctx() -> None:
    def body() -> None:
        set_request_ctx("global")
        with request_context("block"):
            assert get_request_ctx() == "block"
        assert get_request_ctx() == "global"

    contextvars.Context().run(body)


def test_deep_nesting_unwinds_in_order() -> None:
    blocks = [request_context(i) for i in range(20)]
    for i, block in enumerate(blocks):
        block.__enter__()
        assert get_request_ctx() == i
    for i in reversed(range(20)):
        assert get_request_ctx() == i
        blocks[i].__exit__(None, None, None)
    assert get_request_ctx(UNSET) is UNSET


def test_one_instance_can_be_reused_and_nested() -> None:
    block = request_context("x")
    with block:
        with block:
            assert get_request_ctx() == "x"
        assert get_request_ctx() == "x"
    assert get_request_ctx(UNSET) is UNSET
    with block:
        assert get_request_ctx() == "x"
    assert get_request_ctx(UNSET) is UNSET


def test_exit_in_a_different_context_raises_value_error() -> None:
    # Documented limitation of Token.reset: enter and exit must share one Context.
    block = request_context("x")
    contextvars.Context().run(block.__enter__)
    with pytest.raises(ValueError, match="different Context"):
        block.__exit__(None, None, None)


def test_exit_without_enter_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="exited more times than it was entered"):
        request_context("x").__exit__(None, None, None)


def test_async_with(backend) -> None:
    async def fail_inside_block() -> None:
        async with request_context("failing"):
            await backend.checkpoint()
            raise ZeroDivisionError

    async def main() -> None:
        async with request_context("outer") as outer:
            assert outer == "outer"
            async with request_context("inner"):
                await backend.checkpoint()
                assert get_request_ctx() == "inner"
            assert get_request_ctx() == "outer"
            with pytest.raises(ZeroDivisionError):
                await fail_inside_block()
            assert get_request_ctx() == "outer"
        assert get_request_ctx(UNSET) is UNSET

    backend.run(main)


def test_async_and_sync_forms_mix(run) -> None:
    async def main() -> None:
        async with request_context("async"):
            with request_context("sync"):
                assert get_request_ctx() == "sync"
            assert get_request_ctx() == "async"

    run(main)


def test_concurrent_tasks_never_see_each_others_value(backend) -> None:
    n_tasks = 100

    async def main() -> None:
        all_inside = backend.event()
        inside = 0
        seen: dict[int, list[object]] = {i: [] for i in range(n_tasks)}

        async def worker(i: int) -> None:
            nonlocal inside
            async with request_context({"task": i}):
                seen[i].append(get_request_ctx()["task"])
                inside += 1
                if inside == n_tasks:
                    all_inside.set()
                # Every task is inside its own block before any of them reads again.
                await all_inside.wait()
                for _ in range(3):
                    await backend.checkpoint()
                    seen[i].append(get_request_ctx()["task"])
                with request_context({"task": -i}):
                    await backend.checkpoint()
                    seen[i].append(-get_request_ctx()["task"])
                seen[i].append(get_request_ctx()["task"])
            seen[i].append(get_request_ctx(UNSET))

        async with request_context("parent"):
            await backend.gather([lambda i=i: worker(i) for i in range(n_tasks)])
            assert get_request_ctx() == "parent"

        for i in range(n_tasks):
            # Each task's copy of the context started with the parent's value.
            assert seen[i] == [i, i, i, i, i, i, "parent"]

    backend.run(main)
