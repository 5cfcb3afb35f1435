"""`runlake`: serve, fill, query, watch and tend the archive from a shell; each command group
is a module of runlake.cli, registered here.

Exit codes: 0 done, 1 failed (one line on stderr, no traceback), 2 usage.
"""

from __future__ import annotations

import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="runlake", prog_name="runlake", message="%(prog)s %(version)s")
def main() -> None:
    """runlake keeps the history of Tekton runs as Parquet and answers SQL over it."""


def _add_commands() -> None:
    """Each group of commands lives in its own module; they are all registered here."""
    from runlake.cli import archive, lifecycle, logs, read, serve, sql, watch

    for module in (serve, archive, sql, read, logs, watch, lifecycle):
        for command in module.commands:
            main.add_command(command)


_add_commands()


def run() -> None:  # pragma: no cover - console entry for `python -m runlake.cli.main`
    main(prog_name="runlake")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
