"""Who may send to ingest, and which cluster their runs come from: RUNLAKE_INGEST_TOKENS.

`tok1=prod-eu,tok2=staging,tok3`: a token may name its cluster. A token that names one
decides the cluster of everything sent with it; a sender that names another (`?cluster=`) is
refused, so a watcher holding the wrong cluster's token is noticed instead of filing runs
under the wrong cluster. A plain token (or an open endpoint) trusts the sender: its runs are
of the cluster the request names, else of RUNLAKE_CLUSTER.
"""

from __future__ import annotations

from collections.abc import Mapping

from layout.settings import cluster_name
from service.errors import ApiError


def parse_tokens(value: str | None) -> dict[str, str | None]:
    """token -> its cluster (None for a plain token). Unset or empty means the endpoint is
    open. Raises ValueError naming every malformed entry."""
    tokens: dict[str, str | None] = {}
    problems = []
    for entry in (value or "").split(","):
        token, sep, cluster = (part.strip() for part in entry.partition("="))
        if not token and not sep:
            continue
        if not token or (sep and not cluster):
            problems.append(f"{entry.strip()!r} is not token or token=cluster")
            continue
        try:
            tokens[token] = cluster_name(cluster) if sep else None
        except ValueError as exc:
            problems.append(f"{token[:4]}...: {exc}")
    if problems:
        raise ValueError("RUNLAKE_INGEST_TOKENS: " + "; ".join(problems))
    return tokens


def request_cluster(
    token: str | None, tokens: Mapping[str, str | None], named: str | None, default: str
) -> str:
    """The cluster of the rows a request sends. `token` is the accepted token (None when the
    endpoint is open), `named` the request's `?cluster=`. Raises ApiError 400 for a name that
    is no cluster name, 403 when it differs from the token's cluster."""
    if named is not None:
        try:
            cluster_name(named)
        except ValueError as exc:
            raise ApiError(400, "invalid cluster", [str(exc)]) from exc
    bound = tokens.get(token) if token is not None else None
    if bound is not None:
        if named is not None and named != bound:
            raise ApiError(
                403,
                "the token belongs to another cluster",
                [f"this token sends runs of cluster {bound!r}, not {named!r}"],
            )
        return bound
    return named or default
