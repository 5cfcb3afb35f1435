"""Readers checked by Kubernetes (RUNLAKE_QUERY_AUTH=kubernetes), as Tekton Results does:
the bearer token goes to a TokenReview, and the user it names may read a namespace's archive
when a SubjectAccessReview allows them `list` on `tekton.dev` `pipelineruns` there (VERB,
GROUP, RESOURCE), which is what `kubectl get pipelineruns -n <ns>` needs: whoever sees a
namespace's runs in the cluster sees their history, with the Roles teams already have.

A reader allowed cluster-wide (a review with no namespace) reads every namespace of the
cluster; otherwise each namespace the cluster's archive holds is reviewed. Answers are
reused for `ttl_s` seconds per (token, namespace), in bounded caches; the API server is
reached with the standard client configuration (in-cluster, else KUBECONFIG), created on first
use. Anything that keeps a review from being answered (the API server unreachable, slow, or
refusing this service's own credentials) raises KubeUnavailable: never an "allowed".
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from layout.keys import is_dns_label
from query.scope import ANY, Readable

VERB, GROUP, RESOURCE = "list", "tekton.dev", "pipelineruns"
CLUSTER_WIDE = ""  # a SubjectAccessReview without a namespace asks about every namespace
CACHE_ENTRIES = 10_000
TIMEOUT_S = 5.0
PARALLEL_REVIEWS = 8

MISSING = object()


class KubeUnavailable(Exception):
    """A TokenReview or SubjectAccessReview could not be answered; the message says why."""


@dataclass(frozen=True)
class Reader:
    """The user a TokenReview found, as a SubjectAccessReview names them again."""

    username: str | None
    uid: str | None
    groups: tuple[str, ...]
    extra: tuple[tuple[str, tuple[str, ...]], ...]


class TtlCache:
    """At most `size` entries, each answered for `ttl_s` seconds after it was put; when
    full, the least recently used goes. `ttl_s` 0 keeps nothing."""

    def __init__(
        self, ttl_s: float, size: int = CACHE_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s, self.size, self.clock = ttl_s, size, clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value, or MISSING when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return MISSING
            if entry[0] <= self.clock():
                del self._entries[key]
                return MISSING
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (self.clock() + self.ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class KubeReviewer:
    """TokenReviews and SubjectAccessReviews against one cluster's API server, cached."""

    def __init__(
        self,
        ttl_s: float,
        api_client: Callable[[], Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self._make_client = api_client or standard_api_client
        self._client: Any = None
        self._client_lock = threading.Lock()
        self.timeout_s = timeout_s
        self.readers = TtlCache(ttl_s, clock=clock)
        self.decisions = TtlCache(ttl_s, clock=clock)
        self.namespaces = TtlCache(ttl_s, size=64, clock=clock)

    def readable(
        self, token: str, cluster: str, candidates: Callable[[], list[str]]
    ) -> Readable | None:
        """What the token's user may read of `cluster`'s archive; None for a token the API
        server does not accept. `candidates` lists the cluster's archived namespaces (asked
        only when the user may not list cluster-wide). Raises KubeUnavailable."""
        key = hashlib.sha256(token.encode()).digest()  # no token is kept in memory as such
        reader = self._reader(key, token)
        if reader is None:
            return None
        if self._may_list(key, reader, CLUSTER_WIDE):
            return Readable(frozenset({(cluster, ANY)}))
        names = self.namespaces.get(cluster)
        if names is MISSING:
            # Only what can name a Kubernetes namespace is worth a review.
            names = [n for n in candidates() if is_dns_label(n)]
            self.namespaces.put(cluster, names)
        decided = {n: self.decisions.get((key, n)) for n in names}
        unknown = [n for n, allowed in decided.items() if allowed is MISSING]
        if unknown:
            with ThreadPoolExecutor(min(PARALLEL_REVIEWS, len(unknown))) as pool:
                reviews = pool.map(lambda n: self._may_list(key, reader, n), unknown)
                decided.update(zip(unknown, reviews, strict=True))
        return Readable(frozenset((cluster, n) for n, allowed in decided.items() if allowed))

    # -- the reviews ----------------------------------------------------------------------

    def _reader(self, key: bytes, token: str) -> Reader | None:
        cached = self.readers.get(key)
        if cached is not MISSING:
            return cached
        from kubernetes import client

        review = client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
        answer = self._call(
            lambda api: client.AuthenticationV1Api(api).create_token_review(
                review, _request_timeout=self.timeout_s
            )
        )
        status = answer.status
        reader = None
        if status is not None and status.authenticated:
            user = status.user or client.V1UserInfo()
            reader = Reader(
                username=user.username,
                uid=user.uid,
                groups=tuple(user.groups or ()),
                extra=tuple(sorted((k, tuple(v or ())) for k, v in (user.extra or {}).items())),
            )
        self.readers.put(key, reader)
        return reader

    def _may_list(self, key: bytes, reader: Reader, namespace: str) -> bool:
        cached = self.decisions.get((key, namespace))
        if cached is not MISSING:
            return cached
        from kubernetes import client

        review = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=reader.username,
                uid=reader.uid,
                groups=list(reader.groups) or None,
                extra={k: list(v) for k, v in reader.extra} or None,
                resource_attributes=client.V1ResourceAttributes(
                    namespace=namespace, verb=VERB, group=GROUP, resource=RESOURCE
                ),
            )
        )
        answer = self._call(
            lambda api: client.AuthorizationV1Api(api).create_subject_access_review(
                review, _request_timeout=self.timeout_s
            )
        )
        allowed = bool(answer.status is not None and answer.status.allowed)
        self.decisions.put((key, namespace), allowed)
        return allowed

    def _call(self, request: Callable[[Any], Any]) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException

        try:
            return request(self._api())
        except ConfigException as exc:
            raise KubeUnavailable(
                f"no Kubernetes configuration (in-cluster, or KUBECONFIG): {exc}"
            ) from exc
        except ApiException as exc:
            if exc.status in (401, 403):
                raise KubeUnavailable(
                    f"the API server refuses this service ({exc.status} {exc.reason}): its "
                    "identity needs create on tokenreviews and subjectaccessreviews "
                    "(ClusterRole system:auth-delegator)"
                ) from exc
            raise KubeUnavailable(f"the API server answered {exc.status} {exc.reason}") from exc
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            # ValueError: an answer the client could not read as a review.
            raise KubeUnavailable(f"cannot reach the API server: {exc}") from exc

    def _api(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client


def standard_api_client() -> Any:
    """The API client of the standard configuration: the pod's ServiceAccount in a cluster,
    else KUBECONFIG (or ~/.kube/config). Raises ConfigException when there is neither."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except ConfigException:
        # Read now, not at the client's import: KUBECONFIG may name several files.
        config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG") or None, client_configuration=configuration
        )
    return client.ApiClient(configuration)
