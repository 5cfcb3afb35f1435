"""What every `runlake` command shares: store flags, settings, one-line failures."""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

import click

from layout import settings
from layout.evolution import LayoutError, check_layout
from layout.store import LocalStore, Store, StoreURLError, open_store
from layout.units import parse_duration, parse_size

FORMATS = click.Choice(["table", "json", "csv"])


class Duration(click.ParamType):
    """A flag written in DESIGN's duration grammar (layout.units); its value is a timedelta."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Size(click.ParamType):
    """A flag written as a size (layout.units); its value is a number of bytes."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = Duration()
SIZE = Size()


class Failed(click.ClickException):
    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"runlake: {self.message}", err=True)


def fails_cleanly(command: Callable) -> Callable:
    """Expected failures (bad input, store down, not found) become one line and exit 1; a
    reader that stops reading (`runlake logs UID | head`) ends the command quietly, exit 0."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = command(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe shows here, not as noise at interpreter exit
            return result
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError as exc:
            if not _stdout_closed():
                raise Failed(str(exc)) from exc
            # Nothing more can reach the reader; keep the exit's own flush from failing too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None
        except (ValueError, OSError, LookupError) as exc:
            errors = getattr(exc, "errors", None)
            detail = "; ".join(errors[:5]) if errors and len(errors) > 1 else str(exc)
            raise Failed(detail or type(exc).__name__) from exc

    return wrapper


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (and not, say, a socket to the store)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def note(text: str) -> None:
    """A line for the person at the terminal, beside the output: on stderr."""
    click.echo(f"runlake: {text}", err=True)


def store_option(command: Callable) -> Callable:
    command = click.option(
        "--s3-endpoint",
        envvar="RUNLAKE_S3_ENDPOINT",
        default=None,
        help="S3-compatible endpoint (RUNLAKE_S3_ENDPOINT).",
    )(command)
    return click.option(
        "--store",
        envvar="RUNLAKE_STORE",
        default=None,
        help="Directory, file:// or s3://bucket/prefix (RUNLAKE_STORE).",
    )(command)


def resolve(store: str | None, s3_endpoint: str | None, **more: Any) -> dict[str, Any]:
    """CLI flags over environment over defaults, checked as the services check them."""
    overrides = {"RUNLAKE_STORE": store, "RUNLAKE_S3_ENDPOINT": s3_endpoint, **more}
    return settings.load(overrides={k: v for k, v in overrides.items() if v is not None})


def open_configured_store(
    config: dict[str, Any], create: bool = False, check: bool = True
) -> Store:
    """The store the settings name. Only commands that write a store (`create`) may start
    one; for every other, a local store must be a directory that exists, so a typo
    (`RUNLAKE_STORE=./typo`) or a file is one line, not an empty answer. With `check`, it
    must also have a layout this runlake reads (a layout-1 store fails with the line naming
    `runlake migrate`)."""
    try:
        store = open_store(config["RUNLAKE_STORE"], config["RUNLAKE_S3_ENDPOINT"])
    except StoreURLError as exc:
        raise Failed(str(exc)) from exc
    if not create and isinstance(store, LocalStore) and not os.path.isdir(store.root):
        problem = "is not a directory" if os.path.exists(store.root) else "does not exist"
        raise Failed(f"no store at {store.url}: {problem} (see --store or RUNLAKE_STORE)")
    if check:
        try:
            check_layout(store)
        except LayoutError as exc:
            raise Failed(str(exc)) from exc
    return store
