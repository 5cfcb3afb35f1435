"""What one reader may read: (cluster, namespace) pairs, either of which may be any.

A query token's entries (`team-a`, `prod-eu/team-a`, `staging/*`), or the namespaces
Kubernetes RBAC lets a reader list in the cluster that checked their token, become one
`Readable`; every query confines its answer with `Readable.sql()`. `None` stands for a reader
who may read everything (no token needed, or a token of `*`), so callers that hold the
store's credentials (the CLI) pass None.

Pure logic: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from layout.keys import is_dns_label
from layout.literals import sql_string

ANY = "*"


@dataclass(frozen=True)
class Readable:
    """`grants` holds (cluster, namespace) pairs, ANY standing for every cluster or every
    namespace; a run is readable when some pair matches it. No pairs: nothing is readable."""

    grants: frozenset[tuple[str, str]] = frozenset()

    def permits(self, cluster: str | None, namespace: str | None) -> bool:
        return any(c in (ANY, cluster) and n in (ANY, namespace) for c, n in self.grants)

    def permits_namespace(self, namespace: str) -> bool:
        """Whether some cluster's `namespace` is readable (a Results API parent is only a
        namespace)."""
        return any(n in (ANY, namespace) for _, n in self.grants)

    def sql(self) -> str:
        """A condition over the `cluster` and `namespace` columns, `false` when nothing is
        readable. Values are quoted literals, so it fits any statement's parameter style."""
        if (ANY, ANY) in self.grants:
            return "true"
        clusters = sorted(c for c, n in self.grants if n == ANY and c != ANY)
        namespaces = sorted(n for c, n in self.grants if c == ANY and n != ANY)
        pairs = sorted(f"{c}/{n}" for c, n in self.grants if ANY not in (c, n))
        terms = [
            f"list_contains({_list(values)}, {column})"
            for values, column in (
                (clusters, "cluster"),
                (namespaces, "namespace"),
                (pairs, "cluster || '/' || namespace"),
            )
            if values
        ]
        return "(" + " OR ".join(terms) + ")" if terms else "false"

    def label(self) -> str:
        """For people: `prod-eu/team-a, staging/*`, `team-a` (in any cluster)."""
        shown = [n if c == ANY else f"{c}/{n}" for c, n in sorted(self.grants)]
        return ", ".join(shown) if shown else "nothing"


def parse_grant(entry: str) -> tuple[str, str]:
    """`ns` (that namespace in every cluster), `cluster/ns`, `cluster/*`, `*/ns` or `*`.
    Raises ValueError naming what is wrong."""
    cluster, sep, namespace = entry.strip().rpartition("/")
    if not sep:
        cluster = ANY
    for part, what in ((cluster, "cluster"), (namespace, "namespace")):
        if part != ANY and not is_dns_label(part):
            raise ValueError(f"{entry.strip()!r}: {what} {part!r} is not a DNS-1123 label or *")
    return cluster, namespace


def readable_of(entries: Iterable[str]) -> Readable | None:
    """The Readable of a token's entries; None when one of them is `*` (everything)."""
    grants = frozenset(parse_grant(entry) for entry in entries)
    return None if (ANY, ANY) in grants else Readable(grants)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(sql_string(v) for v in values) + "]::VARCHAR[]"
