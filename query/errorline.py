"""The first error line of a step's log: what `step_failures` shows beside each failure.

Pure logic over the log's text chunks (no I/O): the first line that says it is an error
(`error`, `failed`, `FAIL`, `fatal`, `panic`, `exception`, `traceback`, `denied`, as a word,
any case), ANSI colour codes removed; a log without one gives its last non-empty line, which
is where a failing tool usually says why. Only the first MAX_BYTES are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_BYTES = 8 * 1024 * 1024
MAX_CHARS = 300

_ERROR = re.compile(
    r"\b(error|errors|err|failed|failure|fail|fatal|panic|exception|traceback|denied)\b", re.I
)
_ANSI = re.compile(r"\x1b\[[0-9;:?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")


def first_error_line(chunks: Iterable[bytes]) -> str | None:
    """The line, trimmed to MAX_CHARS; None for an empty log."""
    last = None
    carry = ""
    read = 0
    for chunk in chunks:
        read += len(chunk)
        text = carry + chunk.decode("utf-8", "replace")
        *lines, carry = text.split("\n")
        for line in lines:
            found, last = _judge(line, last)
            if found:
                return found
        if read >= MAX_BYTES:
            break
    found, last = _judge(carry, last)
    return found or last


def _judge(line: str, last: str | None) -> tuple[str | None, str | None]:
    clean = _ANSI.sub("", line).strip()
    if not clean:
        return None, last
    clean = clean[:MAX_CHARS]
    return (clean if _ERROR.search(clean) else None), clean
