"""A small Kubernetes API server for the watcher's tests, speaking the real wire protocol over
HTTP on loopback so the official `kubernetes` client can be pointed at it with a kubeconfig.

Serves tekton.dev discovery, list (with resourceVersion), watch (chunked JSON lines: ADDED,
MODIFIED, DELETED, BOOKMARK, and an ERROR event with a 410 Status when the requested
resourceVersion has been compacted away), merge-patch and JSON patch, delete with a UID
precondition (409 on mismatch; owned objects are garbage-collected with their owner), and
pods/log (404 once the pod is gone).

For reader auth it serves authentication.k8s.io/v1 TokenReview and authorization.k8s.io/v1
SubjectAccessReview as kube-apiserver does: the caller itself must be allowed to create them
(401 for an unknown bearer, 403 without system:auth-delegator), an empty token is 400, a
review without a user or group or without resource attributes is 422, the request object
comes back with its `status` filled (Go's omitempty: `authenticated` is absent when false,
`allowed` always present), and RBAC decides: a RoleBinding grants in its namespace only, a
ClusterRoleBinding everywhere, including a review without a namespace (all namespaces).
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PLURALS = {"TaskRun": "taskruns", "PipelineRun": "pipelineruns", "CustomRun": "customruns"}
KINDS = {v: k for k, v in PLURALS.items()}
DEFAULT_VERSIONS = {
    "taskruns": ("v1", "v1beta1"),
    "pipelineruns": ("v1", "v1beta1"),
    "customruns": ("v1beta1",),
}


def _status(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _json_patch(doc: dict, ops: list[dict]) -> dict:
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = doc
        for part in parts[:-1]:
            parent = parent.setdefault(part, {})
        if op["op"] in ("add", "replace"):
            parent[parts[-1]] = op["value"]
        elif op["op"] == "remove":
            parent.pop(parts[-1], None)
        else:
            raise ValueError(f"unsupported op {op['op']}")
    return doc


def _matches(labels: dict, selector: str | None) -> bool:
    for term in filter(None, (selector or "").split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.strip() not in labels:
            return False
    return True


@dataclass(frozen=True)
class Binding:
    """One RBAC grant: a RoleBinding in `namespace`, or a ClusterRoleBinding when None."""

    subject: str  # a user name, or a group name when `group_subject`
    namespace: str | None
    verbs: tuple[str, ...] = ("get", "list", "watch")
    api_group: str = "tekton.dev"
    resources: tuple[str, ...] = ("pipelineruns", "taskruns", "customruns")
    group_subject: bool = False

    def allows(self, spec: dict) -> bool:
        attributes = spec.get("resourceAttributes") or {}
        if self.group_subject:
            if self.subject not in (spec.get("groups") or []):
                return False
        elif self.subject != spec.get("user"):
            return False
        namespace = attributes.get("namespace") or ""
        if self.namespace is not None and self.namespace != namespace:
            return False  # a RoleBinding never answers for another or every namespace
        return (
            attributes.get("verb") in self.verbs
            and attributes.get("group", "") == self.api_group
            and attributes.get("resource") in self.resources
        )


class FakeKube:
    def __init__(
        self, versions: dict[str, tuple[str, ...]] | None = None, bookmark_every_s: float = 0.2
    ) -> None:
        self.versions = versions or DEFAULT_VERSIONS
        self.bookmark_every_s = bookmark_every_s
        self._cond = threading.Condition()
        self._rv = 100
        self._objects: dict[tuple[str, str, str], dict] = {}  # (plural, ns, name) -> object
        self._events: list[tuple[int, str, str, dict]] = []  # (rv, type, plural, object)
        self._oldest = 0  # watches from before this resourceVersion get 410 Gone
        self._generation = 0  # bumped by drop_watches()
        self.pods: dict[tuple[str, str], dict[str, bytes]] = {}
        self.requests: list[tuple[str, str]] = []
        self.deletes: list[tuple[str, str, str]] = []  # (plural, ns, name) actually deleted
        self.log_reads: list[tuple[str, str, str]] = []  # (ns, pod, container)
        self._server: ThreadingHTTPServer | None = None
        self._sockets: set[socket.socket] = set()  # open watches
        self._connections: set[socket.socket] = set()  # every open connection
        # Reader auth: bearer token -> user info, RBAC grants, and the bearers (this client's
        # kubeconfig user) allowed to create reviews, as system:auth-delegator allows.
        self.users: dict[str, dict] = {}
        self.bindings: list[Binding] = []
        self.reviewers: set[str] = {"fake-token"}

    # ------------------------------------------------------------------ the test's side

    def start(self, port: int = 0) -> FakeKube:
        kube = self

        class Handler(_Handler):
            pass

        Handler.kube = kube
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every connection, kept-alive ones too, as a dead API server
        does."""
        if self._server:
            self.drop_watches()
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            with self._cond:
                connections = list(self._connections)
            for sock in connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def write_kubeconfig(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "fake",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "fake", "user": {"token": "fake-token"}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                }
            )
        )
        return path

    def apply(self, obj: dict) -> dict:
        """Create or replace `obj` (an ADDED or MODIFIED event); returns the stored copy."""
        obj = copy.deepcopy(obj)
        plural = PLURALS[obj["kind"]]
        meta = obj.setdefault("metadata", {})
        key = (plural, meta["namespace"], meta["name"])
        with self._cond:
            kind = "MODIFIED" if key in self._objects else "ADDED"
            self._store(key, obj, kind)
            return copy.deepcopy(obj)

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        with self._cond:
            obj = self._objects.get((PLURALS[kind], namespace, name))
            return copy.deepcopy(obj) if obj else None

    def objects(self) -> list[dict]:
        with self._cond:
            return [copy.deepcopy(o) for o in self._objects.values()]

    def add_pod(self, namespace: str, pod: str, logs: dict[str, str | bytes]) -> None:
        self.pods[(namespace, pod)] = {
            c: t.encode() if isinstance(t, str) else t for c, t in logs.items()
        }

    def delete_pod(self, namespace: str, pod: str) -> None:
        self.pods.pop((namespace, pod), None)

    def compact(self) -> None:
        """Forget the event history: any watch resuming from before now gets 410 Gone."""
        with self._cond:
            self._rv += 1
            self._oldest = self._rv
            self._events.clear()

    def drop_watches(self) -> None:
        """Cut every open watch connection mid-stream, as a restarting API server does."""
        with self._cond:
            self._generation += 1
            sockets = list(self._sockets)
            self._cond.notify_all()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def add_user(
        self, token: str, username: str, groups: tuple[str, ...] = (), uid: str | None = None
    ) -> None:
        """A bearer token the API server authenticates as `username`."""
        self.users[token] = {
            "username": username,
            "uid": uid or f"uid-{username}",
            "groups": [*groups, "system:authenticated"],
        }

    def bind(self, subject: str, namespace: str | None = None, **rule: Any) -> Binding:
        """Grant `subject` the rule in `namespace` (a RoleBinding), or everywhere (None)."""
        binding = Binding(subject, namespace, **rule)
        self.bindings.append(binding)
        return binding

    def count(self, method: str, fragment: str) -> int:
        return sum(1 for m, p in list(self.requests) if m == method and fragment in p)

    # ------------------------------------------------------------------ internals

    def _store(self, key: tuple[str, str, str], obj: dict, kind: str) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[key] = obj
        self._events.append((self._rv, kind, key[0], copy.deepcopy(obj)))
        self._cond.notify_all()

    def _delete(self, key: tuple[str, str, str]) -> None:
        obj = self._objects.pop(key)
        self.deletes.append(key)
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._events.append((self._rv, "DELETED", key[0], obj))
        uid = obj["metadata"]["uid"]
        for child_key, child in list(self._objects.items()):  # garbage collection
            if child_key in self._objects and any(
                o.get("uid") == uid for o in child["metadata"].get("ownerReferences") or []
            ):
                self._delete(child_key)
        self._cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kube: FakeKube

    def setup(self) -> None:
        super().setup()
        with self.kube._cond:
            self.kube._connections.add(self.connection)

    def finish(self) -> None:
        with self.kube._cond:
            self.kube._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def _route(self) -> tuple[list[str], dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.kube.requests.append((self.command, self.path))
        return [p for p in parts.path.split("/") if p], query

    def _resource(self, segs: list[str]) -> tuple[str, str | None, str, str | None] | None:
        """(version, namespace, plural, name) of /apis/tekton.dev/<v>/[namespaces/<ns>/]<p>[/n]."""
        if len(segs) < 4 or segs[:2] != ["apis", "tekton.dev"]:
            return None
        version, rest = segs[2], segs[3:]
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
        if version not in self.kube.versions.get(plural, ()):
            return None
        return version, namespace, plural, name

    def do_GET(self) -> None:  # noqa: N802
        segs, query = self._route()
        kube = self.kube
        if len(segs) == 3 and segs[:2] == ["apis", "tekton.dev"]:
            version = segs[2]
            served = [p for p, vs in kube.versions.items() if version in vs]
            if not served:
                return self._json(
                    404,
                    _status(404, "NotFound", "the server could not find the requested resource"),
                )
            return self._json(
                200,
                {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": f"tekton.dev/{version}",
                    "resources": [
                        {
                            "name": p,
                            "singularName": KINDS[p].lower(),
                            "namespaced": True,
                            "kind": KINDS[p],
                            "verbs": ["delete", "get", "list", "patch", "watch"],
                        }
                        for p in served
                    ],
                },
            )
        if (
            len(segs) == 7
            and segs[:3] == ["api", "v1", "namespaces"]
            and segs[4] == "pods"
            and segs[6] == "log"
        ):
            return self._pod_log(segs[3], segs[5], query.get("container", ""))
        target = self._resource(segs)
        if target is None or target[3] is not None:
            return self._json(404, _status(404, "NotFound", f"no route {self.path}"))
        version, namespace, plural, _ = target
        if query.get("watch", "").lower() in ("true", "1"):
            return self._watch(version, namespace, plural, query)
        with kube._cond:
            items = [
                self._versioned(o, version)
                for (p, ns, _), o in kube._objects.items()
                if p == plural
                and namespace in (None, ns)
                and _matches(o["metadata"].get("labels") or {}, query.get("labelSelector"))
            ]
            rv = str(kube._rv)
        self._json(
            200,
            {
                "apiVersion": f"tekton.dev/{version}",
                "kind": f"{KINDS[plural]}List",
                "metadata": {"resourceVersion": rv},
                "items": items,
            },
        )

    @staticmethod
    def _versioned(obj: dict, version: str) -> dict:
        return {**copy.deepcopy(obj), "apiVersion": f"tekton.dev/{version}"}

    def _pod_log(self, namespace: str, pod: str, container: str) -> None:
        logs = self.kube.pods.get((namespace, pod))
        self.kube.log_reads.append((namespace, pod, container))
        if logs is None:
            return self._json(404, _status(404, "NotFound", f'pods "{pod}" not found'))
        if container not in logs:
            return self._json(
                400, _status(400, "BadRequest", f"container {container} is not valid for pod {pod}")
            )
        data = logs[container]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, event: dict) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(
        self, version: str, namespace: str | None, plural: str, query: dict[str, str]
    ) -> None:
        kube = self.kube
        timeout = float(query.get("timeoutSeconds") or 1800)
        bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        selector = query.get("labelSelector")
        since = int(query.get("resourceVersion") or 0)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        with kube._cond:
            kube._sockets.add(self.connection)
            generation = kube._generation
        deadline = time.monotonic() + timeout
        last_bookmark = time.monotonic()
        try:
            if since and since < kube._oldest:
                self._chunk(
                    {
                        "type": "ERROR",
                        "object": _status(
                            410, "Expired", f"too old resource version: {since} ({kube._oldest})"
                        ),
                    }
                )
                self.wfile.write(b"0\r\n\r\n")
                return
            while True:
                with kube._cond:
                    if kube._generation != generation:
                        return  # dropped: no terminating chunk, the client sees a broken body
                    pending = [
                        (rv, t, o)
                        for rv, t, p, o in kube._events
                        if rv > since
                        and p == plural
                        and namespace in (None, o["metadata"]["namespace"])
                        and _matches(o["metadata"].get("labels") or {}, selector)
                    ]
                    current = kube._rv
                    if not pending:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        kube._cond.wait(min(remaining, kube.bookmark_every_s))
                        if bookmarks and time.monotonic() - last_bookmark >= kube.bookmark_every_s:
                            pending_bookmark = current
                        else:
                            continue
                    else:
                        pending_bookmark = None
                if pending_bookmark is not None:
                    self._chunk(
                        {
                            "type": "BOOKMARK",
                            "object": {
                                "kind": KINDS[plural],
                                "apiVersion": f"tekton.dev/{version}",
                                "metadata": {"resourceVersion": str(pending_bookmark)},
                            },
                        }
                    )
                    since = max(since, pending_bookmark)
                    last_bookmark = time.monotonic()
                    continue
                for rv, kind, obj in pending:
                    self._chunk({"type": kind, "object": self._versioned(obj, version)})
                    since = rv
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        finally:
            with kube._cond:
                kube._sockets.discard(self.connection)

    def do_POST(self) -> None:  # noqa: N802
        segs, _ = self._route()
        body = self._body()
        reviews = {
            ("authentication.k8s.io", "tokenreviews"): ("TokenReview", self._token_review),
            ("authorization.k8s.io", "subjectaccessreviews"): (
                "SubjectAccessReview",
                self._access_review,
            ),
        }
        if (
            len(segs) != 4
            or segs[0] != "apis"
            or segs[2] != "v1"
            or (segs[1], segs[3]) not in reviews
        ):
            return self._json(404, _status(404, "NotFound", f"no route {self.path}"))
        group, resource = segs[1], segs[3]
        kind, review = reviews[(group, resource)]
        caller = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if caller not in self.kube.reviewers and caller not in self.kube.users:
            return self._json(401, _status(401, "Unauthorized", "Unauthorized"))
        if caller not in self.kube.reviewers:
            user = self.kube.users[caller]["username"]
            return self._json(
                403,
                _status(
                    403,
                    "Forbidden",
                    f'{resource}.{group} is forbidden: User "{user}" cannot create resource '
                    f'"{resource}" in API group "{group}" at the cluster scope',
                ),
            )
        if not isinstance(body, dict):
            return self._json(400, _status(400, "BadRequest", "the body is not an object"))
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        answer = review(kind, group, spec)
        if isinstance(answer, tuple):
            return self._json(*answer)
        self._json(
            201,
            {
                "kind": kind,
                "apiVersion": f"{group}/v1",
                "metadata": {"creationTimestamp": None},
                "spec": spec,
                "status": answer,
            },
        )

    def _token_review(self, kind: str, group: str, spec: dict) -> dict | tuple[int, dict]:
        token = spec.get("token") or ""
        if not token:
            return 400, _status(
                400, "BadRequest", "token is required for TokenReview in authentication"
            )
        user = self.kube.users.get(token)
        if user is None:
            return {"user": {}}
        return {
            "authenticated": True,
            "user": user,
            "audiences": ["https://kubernetes.default.svc"],
        }

    def _access_review(self, kind: str, group: str, spec: dict) -> dict | tuple[int, dict]:
        problems = []
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            problems.append(
                "spec.resourceAttributes: Invalid value: null: exactly one of "
                "nonResourceAttributes or resourceAttributes must be specified"
            )
        if not spec.get("user") and not spec.get("groups"):
            problems.append(
                'spec.user: Invalid value: "": at least one of user or group must be specified'
            )
        if problems:
            return 422, _status(
                422, "Invalid", f'{kind}.{group} "" is invalid: [{", ".join(problems)}]'
            )
        for binding in self.kube.bindings:
            if binding.allows(spec):
                where = (
                    f'RoleBinding "{binding.namespace}"'
                    if binding.namespace
                    else "ClusterRoleBinding"
                )
                return {"allowed": True, "reason": f"RBAC: allowed by {where}"}
        return {"allowed": False}

    def do_PATCH(self) -> None:  # noqa: N802
        segs, _ = self._route()
        target = self._resource(segs)
        if target is None or target[1] is None or target[3] is None:
            return self._json(404, _status(404, "NotFound", f"no route {self.path}"))
        version, namespace, plural, name = target
        body = self._body()
        content_type = self.headers.get("Content-Type", "")
        kube = self.kube
        with kube._cond:
            key = (plural, namespace, name)
            if key not in kube._objects:
                return self._json(404, _status(404, "NotFound", f'"{name}" not found'))
            if "json-patch" in content_type:
                patched = _json_patch(kube._objects[key], body)
            elif "merge-patch" in content_type:
                patched = _merge(kube._objects[key], body)
            else:
                return self._json(415, _status(415, "UnsupportedMediaType", content_type))
            kube._store(key, patched, "MODIFIED")
            result = self._versioned(patched, version)
        self._json(200, result)

    def do_DELETE(self) -> None:  # noqa: N802
        segs, _ = self._route()
        target = self._resource(segs)
        if target is None or target[1] is None or target[3] is None:
            return self._json(404, _status(404, "NotFound", f"no route {self.path}"))
        _, namespace, plural, name = target
        options = self._body() or {}
        kube = self.kube
        with kube._cond:
            key = (plural, namespace, name)
            obj = kube._objects.get(key)
            if obj is None:
                return self._json(404, _status(404, "NotFound", f'"{name}" not found'))
            want = (options.get("preconditions") or {}).get("uid")
            if want is not None and want != obj["metadata"]["uid"]:
                return self._json(
                    409,
                    _status(
                        409,
                        "Conflict",
                        f"Precondition failed: UID in precondition: {want}, "
                        f"UID in object meta: {obj['metadata']['uid']}",
                    ),
                )
            kube._delete(key)
        self._json(
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Success",
                "details": {"name": name, "uid": obj["metadata"]["uid"]},
            },
        )
