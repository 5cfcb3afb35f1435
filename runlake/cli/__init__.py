"""The `runlake` command line (click): `runlake.cli.main:main` is the console script, and each
command group has a module of its own (serve, archive, sql, read, logs, watch, lifecycle).

Commands read flags and settings, call the rooms, and print; they do I/O through them."""
