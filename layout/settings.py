"""Every setting, declared once as data: its environment variable, default and meaning.

README's settings table and DESIGN.md are checked against this list by the tests, and
nothing here is read at import time: callers ask `load()` when they start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from layout.keys import is_dns_label
from layout.schema import DEFAULT_CLUSTER


class SettingError(ValueError):
    """A setting has a value that cannot be used; the message names it."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be a positive number")
    return value


def _seconds_or_zero(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError("must be a number of seconds, 0 or more")
    return value


def cluster_name(text: str) -> str:
    """A cluster's name in the archive: a DNS-1123 label, so that `cluster/namespace` in query
    tokens and `?cluster=` in a sink URL need no quoting."""
    if not is_dns_label(text):
        raise ValueError(f"cluster {text!r} is not a DNS-1123 label ([a-z0-9-], at most 63)")
    return text


QUERY_AUTH_MODES = ("tokens", "kubernetes")


def _query_auth(text: str) -> str:
    if text not in QUERY_AUTH_MODES:
        raise ValueError(f"must be one of {', '.join(QUERY_AUTH_MODES)}")
    return text


@dataclass(frozen=True)
class Setting:
    env: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "RUNLAKE_STORE",
        "./runlake-data",
        "a local directory, file:///abs/path, or s3://bucket/prefix",
    ),
    Setting(
        "RUNLAKE_S3_ENDPOINT",
        None,
        "S3-compatible endpoint, e.g. http://127.0.0.1:9000 (MinIO, moto); unset = AWS",
    ),
    Setting(
        "RUNLAKE_INGEST_TOKENS",
        None,
        "comma-separated bearer tokens accepted by ingest; token=cluster names the cluster "
        "its runs come from; unset = open",
    ),
    Setting(
        "RUNLAKE_CLUSTER",
        DEFAULT_CLUSTER,
        "the cluster of runs sent with a plain token or none; with RUNLAKE_QUERY_AUTH="
        "kubernetes, the cluster whose API server checks the readers",
        cluster_name,
    ),
    Setting(
        "RUNLAKE_QUERY_TOKENS",
        None,
        "token=ns1,ns2;token2=*: which namespaces each token may read (cluster/ns and "
        "cluster/* limit by cluster too); unset = open",
    ),
    Setting(
        "RUNLAKE_QUERY_AUTH",
        "tokens",
        "kubernetes: readers present a Kubernetes bearer token, checked by TokenReview, and "
        "read the namespaces where SubjectAccessReview allows list on tekton.dev pipelineruns",
        _query_auth,
    ),
    Setting(
        "RUNLAKE_QUERY_AUTH_CACHE_S",
        30.0,
        "with RUNLAKE_QUERY_AUTH=kubernetes, how long a TokenReview or SubjectAccessReview "
        "answer is reused (0: ask every time)",
        _seconds_or_zero,
    ),
    Setting(
        "RUNLAKE_MAX_BODY_BYTES",
        16 * 1024 * 1024,
        "larger request bodies get 413 (log uploads excepted: they stream)",
        _positive_int,
    ),
    Setting(
        "RUNLAKE_FLUSH_MS",
        200,
        "group commit: the longest a row waits to share an inbox object",
        _positive_int,
    ),
    Setting(
        "RUNLAKE_FLUSH_ROWS",
        5000,
        "group commit: the most rows one inbox object takes",
        _positive_int,
    ),
    Setting(
        "RUNLAKE_SQL_TIMEOUT_S", 30.0, "SQL requests running longer are cancelled", _positive_float
    ),
    Setting(
        "RUNLAKE_MATERIALIZE_S",
        5.0,
        "how often the materializer moves the inbox into the tables",
        _positive_float,
    ),
)

BY_ENV: dict[str, Setting] = {s.env: s for s in SETTINGS}


def load(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Resolve every setting: overrides (CLI flags, test config) beat the environment, which
    beats the default. An empty value counts as unset. Raises SettingError naming each bad one."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        raw = overrides.get(setting.env)
        if raw is None or raw == "":
            raw = environ.get(setting.env)
        if raw is None or raw == "":
            values[setting.env] = setting.default
            continue
        if not isinstance(raw, str):
            values[setting.env] = raw
            continue
        try:
            values[setting.env] = setting.parse(raw)
        except ValueError as exc:
            problems.append(f"{setting.env}={raw!r}: {exc}")
    if problems:
        raise SettingError("; ".join(problems))
    return values
