"""What the stress tests share: the run's scale, and child processes watched closely."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Scale:
    """The figures of this run: the short CI version, or the issue's (``--stress-long``)."""

    long: bool

    def __call__(self, short: T, long: T) -> T:
        return long if self.long else short


@dataclass
class Exited:
    """A child process that ran to its end."""

    returncode: int
    stdout: str
    stderr: str
    #: Seconds from the child's last line of output (it prints one just before its
    #: main module ends) to the end of the process: how long the exit itself took.
    exit_seconds: float


def python_code(code: str) -> list[str]:
    """The command line running ``code`` in a fresh interpreter, warnings shown."""
    return [sys.executable, "-W", "default", "-c", textwrap.dedent(code)]


def run_child(code: str, *, timeout: float = 60, env: dict[str, str] | None = None) -> Exited:
    """Run ``code`` in a child Python; time its exit from its last line of output.

    Output is read as it comes (a thread per pipe), so the moment the child printed
    its last line is known even though the process lives on while it exits.
    """
    proc = subprocess.Popen(
        python_code(code),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        # A group of its own: a hung child is killed with everything it forked.
        start_new_session=os.name == "posix",
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    lines: list[str] = []
    last_line_at = [time.monotonic()]

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            last_line_at[0] = time.monotonic()
            lines.append(line)

    errors: list[str] = []
    readers = [
        threading.Thread(target=read_stdout, daemon=True),
        threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    try:
        returncode = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()
        for reader in readers:
            reader.join(5)
        proc.stdout.close()
        proc.stderr.close()
        raise AssertionError(
            f"the child hung (killed after {timeout}s); stdout so far: {''.join(lines)!r}; "
            f"stderr: {''.join(errors)!r}"
        ) from None
    ended = time.monotonic()
    for reader in readers:
        reader.join(10)
    proc.stdout.close()
    proc.stderr.close()
    return Exited(returncode, "".join(lines), "".join(errors), ended - last_line_at[0])


class LineReader:
    """The lines a child prints, read in a thread, waited for with a timeout."""

    def __init__(self, stream: object) -> None:
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._lines.put(line)
        self._lines.put("")  # end of output

    def next(self, timeout: float) -> str | None:
        """The next line ("" at the end of output), or None if none came in time."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
