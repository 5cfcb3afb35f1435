"""Query tokens: RUNLAKE_QUERY_TOKENS = "token=ns1,ns2;token2=*" says which namespaces each
token may read. Unset means open: every namespace, no token needed.

Every query endpoint asks `allowed_namespaces()` and confines its answer to them; a token
confined to some namespaces learns nothing of others (not even that they exist).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from flask import current_app, request, session

from service.auth import presented_token
from service.errors import ApiError

ALL = None  # allowed_namespaces() result meaning "every namespace"


def parse_query_tokens(value: str | None) -> dict[str, frozenset[str] | None]:
    """token -> its namespaces (None for `*`). Raises ValueError naming a malformed entry."""
    tokens: dict[str, frozenset[str] | None] = {}
    for entry in (value or "").split(";"):
        entry = entry.strip()
        if not entry:
            continue
        token, sep, spaces = entry.partition("=")
        names = {n.strip() for n in spaces.split(",") if n.strip()}
        if not sep or not token.strip() or not names:
            raise ValueError("RUNLAKE_QUERY_TOKENS entries look like token=ns1,ns2 or token=*")
        tokens[token.strip()] = None if "*" in names else frozenset(names)
    return tokens


def namespaces_for(
    presented: str | None, tokens: Mapping[str, frozenset[str] | None]
) -> frozenset[str] | None:
    """The namespaces a presented token may read; raises ApiError 401 otherwise. Compared in
    constant time against every token."""
    if not tokens:
        return ALL
    if presented is None:
        raise ApiError(
            401,
            "a token is required",
            ["send Authorization: Bearer <token> or ?token=<token>"],
            {"WWW-Authenticate": 'Bearer realm="runlake"'},
        )
    match: frozenset[str] | None = frozenset()
    found = False
    for token, spaces in tokens.items():
        if hmac.compare_digest(presented.encode(), token.encode()):
            found, match = True, spaces
    if not found:
        raise ApiError(
            401,
            "the token is not accepted",
            ["the token is not accepted"],
            {"WWW-Authenticate": 'Bearer realm="runlake", error="invalid_token"'},
        )
    return match


def allowed_namespaces() -> frozenset[str] | None:
    """For the current request: None (all namespaces) or the set the token may read.
    The web page keeps a token entered once in its session cookie."""
    tokens = current_app.extensions.get("runlake.query_tokens")
    if tokens is None:
        tokens = parse_query_tokens(current_app.config.get("RUNLAKE_QUERY_TOKENS"))
        current_app.extensions["runlake.query_tokens"] = tokens
    presented = presented_token(request.headers, request.args)
    if presented is None and current_app.secret_key:
        presented = session.get("token")
    return namespaces_for(presented, tokens)
