"""spawn_thread_with_ctx and ContextThread: whole-context snapshot, result(), error logging."""

from __future__ import annotations

import contextvars
import gc
import logging
import threading
import traceback

import pytest

from synchronaut_ctx import (
    ContextThread,
    get_request_ctx,
    request_context,
    set_request_ctx,
    spawn_thread_with_ctx,
)

other_var: contextvars.ContextVar[str] = contextvars.ContextVar("test_ctx_threads_other")


def read_both() -> tuple[object, object]:
    return get_request_ctx(), other_var.get("unset")


def test_thread_sees_every_context_var() -> None:
    def body() -> None:
        set_request_ctx({"user_id": 42})
        other_var.set("other")
        thread = spawn_thread_with_ctx(read_both)
        assert isinstance(thread, ContextThread)
        assert isinstance(thread, threading.Thread)
        assert thread.result() == ({"user_id": 42}, "other")

    contextvars.Context().run(body)


def test_plain_thread_does_not_see_it() -> None:
    # The baseline the library exists for: threading.Thread starts with an empty context.
    seen: list[object] = []
    with request_context("x"):
        plain = threading.Thread(target=lambda: seen.append(get_request_ctx("unset")))
        plain.start()
        plain.join()
    assert seen == ["unset"]


def test_thread_sees_a_snapshot_taken_at_spawn() -> None:
    changed_by_caller = threading.Event()

    def work() -> tuple[object, object]:
        changed_by_caller.wait()
        before = get_request_ctx()
        set_request_ctx("set in thread")
        other_var.set("set in thread")
        return before, get_request_ctx()

    def body() -> None:
        set_request_ctx("at spawn")
        thread = spawn_thread_with_ctx(work)
        set_request_ctx("after spawn")
        changed_by_caller.set()
        assert thread.result() == ("at spawn", "set in thread")
        # Nothing the thread did leaks back.
        assert get_request_ctx() == "after spawn"
        assert other_var.get("unset") == "unset"

    contextvars.Context().run(body)


def test_spawned_inside_block_keeps_block_value_after_exit() -> None:
    block_left = threading.Event()

    def work() -> object:
        block_left.wait()
        return get_request_ctx()

    with request_context("block"):
        thread = spawn_thread_with_ctx(work)
    block_left.set()
    assert thread.result() == "block"


def test_threads_get_separate_copies() -> None:
    barrier = threading.Barrier(2)

    def work(tag: str) -> object:
        other_var.set(tag)
        barrier.wait()  # both have set their own value before either reads
        return other_var.get()

    first = spawn_thread_with_ctx(work, "a")
    second = spawn_thread_with_ctx(work, "b")
    assert (first.result(), second.result()) == ("a", "b")


def test_args_and_kwargs_go_to_target_even_thread_like_names() -> None:
    def work(*args: object, **kwargs: object) -> tuple[tuple[object, ...], dict[str, object]]:
        return args, kwargs

    thread = spawn_thread_with_ctx(work, 1, 2, name="n", daemon="d", target="t")
    assert thread.result() == ((1, 2), {"name": "n", "daemon": "d", "target": "t"})


def test_result_returns_value_and_can_be_called_again() -> None:
    thread = spawn_thread_with_ctx(lambda: [1, 2])
    first = thread.result()
    assert first == [1, 2]
    assert thread.result() is first
    assert not thread.is_alive()


def test_result_none_return() -> None:
    assert spawn_thread_with_ctx(lambda: None).result() is None


def failing_target() -> None:
    raise ValueError("boom from target")


def test_result_reraises_with_original_traceback() -> None:
    thread = spawn_thread_with_ctx(failing_target)
    for _ in range(2):
        with pytest.raises(ValueError, match="boom from target") as info:
            thread.result()
        frames = [entry.name for entry in info.traceback]
        assert frames.count("failing_target") == 1
        # Re-raising again does not pile up frames from earlier result() calls.
        assert frames.count("result") == 1
    formatted = "".join(traceback.format_exception(info.value))
    assert 'raise ValueError("boom from target")' in formatted


def test_result_reraises_base_exceptions_too() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        spawn_thread_with_ctx(interrupt).result()


def test_result_timeout_raises_builtin_timeout_error() -> None:
    release = threading.Event()
    thread = spawn_thread_with_ctx(lambda: release.wait() and "done")
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.01 seconds"):
        thread.result(timeout=0.01)
    assert thread.is_alive()
    release.set()
    assert thread.result() == "done"


def test_exception_does_not_reach_threading_excepthook(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(threading, "excepthook", calls.append)
    thread = spawn_thread_with_ctx(failing_target)
    thread.join()
    assert calls == []
    with pytest.raises(ValueError, match="boom from target"):
        thread.result()


def test_unretrieved_exception_is_logged_when_thread_is_collected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="synchronaut")
    thread = spawn_thread_with_ctx(failing_target)
    thread.join()
    name = thread.name
    assert ctx_records(caplog) == []  # not logged while someone may still call result()
    del thread
    gc.collect()
    records = ctx_records(caplog)
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert "never retrieved" in record.getMessage()
    assert name in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    assert "failing_target" in caplog.text


def test_retrieved_exception_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="synchronaut")
    thread = spawn_thread_with_ctx(failing_target)
    with pytest.raises(ValueError, match="boom from target"):
        thread.result()
    del thread
    gc.collect()
    assert ctx_records(caplog) == []


def ctx_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    # Only this package's records: abandoned calls of other tests in the same worker
    # process may log on the shared "synchronaut" logger at any time.
    return [r for r in caplog.records if "synchronaut_ctx" in r.pathname]


def test_success_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="synchronaut")
    thread = spawn_thread_with_ctx(lambda: 1)
    thread.join()
    del thread
    gc.collect()
    assert ctx_records(caplog) == []


def test_context_thread_constructor_name_daemon_and_snapshot_at_construction() -> None:
    def body() -> None:
        set_request_ctx("at construction")
        thread: ContextThread[tuple[object, object]] = ContextThread(
            read_both, name="worker-1", daemon=True
        )
        set_request_ctx("before start")
        assert thread.name == "worker-1"
        assert thread.daemon is True
        thread.start()
        assert thread.result() == ("at construction", "unset")

    contextvars.Context().run(body)


def test_context_thread_args_kwargs() -> None:
    thread = ContextThread(lambda a, b, c=0: (a, b, c), (1, 2), {"c": 3})
    thread.start()
    assert thread.result() == (1, 2, 3)


def test_default_name_mentions_target() -> None:
    def my_worker() -> None:
        pass

    thread = spawn_thread_with_ctx(my_worker)
    thread.join()
    assert thread.name.startswith("Thread-")
    assert thread.name.endswith("(my_worker)")


def test_daemon_is_inherited_by_default() -> None:
    thread = ContextThread(lambda: None)
    assert thread.daemon == threading.current_thread().daemon


def test_result_before_start_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="before it is started"):
        ContextThread(lambda: None).result()


@pytest.mark.parametrize("bad", [None, 42, "not callable"])
def test_non_callable_target_raises_type_error_before_starting(bad: object) -> None:
    before = threading.active_count()
    with pytest.raises(TypeError, match=r"spawn_thread_with_ctx\(\) target must be callable"):
        spawn_thread_with_ctx(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ContextThread target must be callable"):
        ContextThread(bad)  # type: ignore[arg-type]
    assert threading.active_count() == before
    gc.collect()  # the half-built ContextThread's __del__ must not fail


def test_spawn_from_async_task_sees_task_context(backend) -> None:
    async def main() -> None:
        async def task(i: int) -> None:
            async with request_context(i):
                thread = spawn_thread_with_ctx(get_request_ctx)
                # result() in a worker thread so the event loop is not blocked.
                assert await backend.to_thread(thread.result) == i

        await backend.gather([lambda i=i: task(i) for i in range(5)])

    backend.run(main)
