"""Who may read what: every query endpoint asks `readable()` and confines its answer to it;
a reader confined to some clusters and namespaces learns nothing of others (not even that
they exist).

Two ways to decide (RUNLAKE_QUERY_AUTH):

- `tokens` (the default): RUNLAKE_QUERY_TOKENS = "t1=team-a,prod-eu/ci,staging/*;t2=*" says
  what each token may read: a namespace in every cluster, a namespace of one cluster, or all
  of one cluster's. Unset means open: everything, no token needed.
- `kubernetes`: the bearer token is a Kubernetes one, checked by the API server of the
  cluster this service runs for (RUNLAKE_CLUSTER); see query.http.kubeauth. Tokens named in
  RUNLAKE_QUERY_TOKENS keep working beside it (e.g. for automation).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from flask import current_app, request, session

from layout.store import StoreError
from query.engine import SqlError
from query.http.context import get_engine, query_failed
from query.http.kubeauth import KubeReviewer, KubeUnavailable
from query.runs import namespaces_in
from query.scope import Readable, readable_of
from service.auth import matching_token, presented_token, token_refused, token_required
from service.errors import RETRY_AFTER_S, ApiError

ALL = None  # readable() result meaning "everything"
TOKENS_KEY = "runlake.query_tokens"
REVIEWER_KEY = "runlake.kube_reviewer"


def parse_query_tokens(value: str | None) -> dict[str, Readable | None]:
    """token -> what it may read (None for `*`). Raises ValueError naming a malformed entry."""
    tokens: dict[str, Readable | None] = {}
    for entry in (value or "").split(";"):
        entry = entry.strip()
        if not entry:
            continue
        token, sep, spaces = entry.partition("=")
        names = [n.strip() for n in spaces.split(",") if n.strip()]
        if not sep or not token.strip() or not names:
            raise ValueError(
                "RUNLAKE_QUERY_TOKENS entries look like token=ns1,cluster/ns2,cluster/* or token=*"
            )
        try:
            tokens[token.strip()] = readable_of(names)
        except ValueError as exc:
            raise ValueError(f"RUNLAKE_QUERY_TOKENS: {exc}") from exc
    return tokens


def readable_for(presented: str | None, tokens: Mapping[str, Readable | None]) -> Readable | None:
    """What a presented static token may read; raises ApiError 401 otherwise. Compared in
    constant time against every token."""
    if not tokens:
        return ALL
    if presented is None:
        raise token_required()
    token = matching_token(presented, tokens)
    if token is None:
        raise token_refused()
    return tokens[token]


def basic_password(headers: Mapping[str, str]) -> str | None:
    """The password of `Authorization: Basic`: what Go's HTTP client sends for a URL with
    `user:password@` in it, the only way to give the Tekton Dashboard's --external-logs a
    token (it forwards no header of its own)."""
    scheme, _, credential = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def readable(basic: bool = False) -> Readable | None:
    """For the current request: None (everything) or what its reader may read. The web page
    keeps a token entered once in its session cookie; with `basic`, a Basic password counts
    as the token too."""
    presented = presented_token(request.headers, request.args)
    if presented is None and basic:
        presented = basic_password(request.headers)
    if presented is None and current_app.secret_key:
        presented = session.get("token")
    tokens = _query_tokens()
    if current_app.config["RUNLAKE_QUERY_AUTH"] != "kubernetes":
        return readable_for(presented, tokens)
    if presented is None:
        raise token_required()
    static = matching_token(presented, tokens)
    if static is not None:
        return tokens[static]
    return _kubernetes_readable(presented)


def _query_tokens() -> dict[str, Readable | None]:
    tokens = current_app.extensions.get(TOKENS_KEY)
    if tokens is None:
        tokens = parse_query_tokens(current_app.config.get("RUNLAKE_QUERY_TOKENS"))
        current_app.extensions[TOKENS_KEY] = tokens
    return tokens


def _kubernetes_readable(token: str) -> Readable:
    config = current_app.config
    cluster = config["RUNLAKE_CLUSTER"]
    reviewer = current_app.extensions.get(REVIEWER_KEY)
    if reviewer is None:
        reviewer = current_app.extensions.setdefault(
            REVIEWER_KEY, KubeReviewer(config["RUNLAKE_QUERY_AUTH_CACHE_S"])
        )

    def candidates() -> list[str]:
        try:
            return namespaces_in(get_engine(), cluster)
        except (StoreError, SqlError) as exc:
            raise query_failed(exc) from exc

    try:
        found = reviewer.readable(token, cluster, candidates)
    except KubeUnavailable as exc:
        # Never "allowed": a reader whose token cannot be checked reads nothing, and retries.
        raise ApiError(
            503,
            "the token cannot be checked with Kubernetes now; retry later",
            [str(exc)],
            {"Retry-After": str(RETRY_AFTER_S)},
        ) from exc
    if found is None:
        raise token_refused()
    return found
