"""`runlake` as a person runs it: the installed entry point in a pseudo-terminal of a given
size (so it sees a terminal, as in a shell), or with its stdout a pipe the reader closes."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

RUNLAKE = Path(sys.executable).with_name("runlake")


@dataclass
class Terminal:
    code: int
    text: str  # what the terminal showed: stdout and stderr, as they interleave there

    @property
    def lines(self) -> list[str]:
        return self.text.replace("\r\n", "\n").splitlines()


def environment(store: Path | str | None = None, **more: str) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    if store is not None:
        env["RUNLAKE_STORE"] = str(store)
    return {**env, **more}


def runlake(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    """`runlake ARGS` with stdout and stderr captured as text (not a terminal)."""
    return subprocess.run(
        [str(RUNLAKE), *args],
        capture_output=True,
        text=True,
        env=environment() if env is None else env,
        timeout=timeout,
    )


def in_terminal(
    *args: str, env: dict[str, str], columns: int = 100, timeout: float = 120
) -> Terminal:
    """Run `runlake ARGS` with stdin, stdout and stderr on a pty of `columns` x 50."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(
        [str(RUNLAKE), *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**env, "COLUMNS": str(columns), "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(max(1.0, deadline - time.monotonic()))
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    return Terminal(code, b"".join(chunks).decode("utf-8", errors="replace"))


def reading_a_little(
    *args: str, env: dict[str, str], lines: int = 1, timeout: float = 60
) -> tuple[int, list[str], str]:
    """Run `runlake ARGS | head -LINES`: read that many lines of stdout, close the pipe, and
    return (exit code, the lines read, stderr)."""
    process = subprocess.Popen(
        [str(RUNLAKE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stdout is not None and process.stderr is not None
    read = [process.stdout.readline().decode(errors="replace") for _ in range(lines)]
    process.stdout.close()
    try:
        stderr = process.stderr.read().decode(errors="replace")
        code = process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return code, read, stderr
