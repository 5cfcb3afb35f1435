"""A small Kubernetes API server for the watcher's tests, speaking the real wire protocol over
HTTP on loopback so the official `kubernetes` client can be pointed at it with a kubeconfig.

Serves tekton.dev discovery, list (with resourceVersion), watch (chunked JSON lines: ADDED,
MODIFIED, DELETED, BOOKMARK, and an ERROR event with a 410 Status when the requested
resourceVersion has been compacted away), merge-patch and JSON patch, delete with a UID
precondition (409 on mismatch; owned objects are garbage-collected with their owner), and
pods/log (404 once the pod is gone).
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
import time
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
        self._sockets: set[socket.socket] = set()

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
        if self._server:
            self.drop_watches()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

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
