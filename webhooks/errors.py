"""The one exception every decoder raises: it carries every problem of a request, so a client
fixes them all in one round trip and ingest answers DESIGN.md's error body directly."""

from __future__ import annotations

from collections.abc import Iterable


class InvalidInput(ValueError):
    """A request that must not be stored. `errors` lists every problem found, not just the
    first; `error` is a one-line summary; `status` is the HTTP status to answer."""

    def __init__(self, errors: list[str], status: int = 400, error: str | None = None) -> None:
        # A bare string would otherwise be split into one "problem" per character.
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        self.status = status
        self.error = error or _summary(self.errors)
        super().__init__(self.error)

    def prefixed(self, prefix: str) -> list[str]:
        """The problems with `prefix` in front, e.g. "events[2]: ", for a caller that
        validated one element of a larger request."""
        return [prefix + problem for problem in self.errors]


class UnsupportedMediaType(InvalidInput):
    """A Content-Type this endpoint cannot read at all (HTTP 415)."""

    def __init__(self, errors: list[str], status: int = 415, error: str | None = None) -> None:
        super().__init__(errors, status=status, error=error)


def raise_if(problems: Iterable[str]) -> None:
    """Raise InvalidInput when any problem was collected."""
    problems = list(problems)
    if problems:
        raise InvalidInput(problems)


def _summary(errors: list[str]) -> str:
    if not errors:
        return "invalid input"
    if len(errors) == 1:
        return errors[0]
    return f"invalid input: {len(errors)} problems, the first: {errors[0]}"
