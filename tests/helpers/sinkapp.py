"""A recording stand-in for the ingest service, served over real HTTP, for the watcher's tests:
it keeps every snapshot and log it is sent, and can answer 503 or stop listening."""

from __future__ import annotations

import json
import threading

from flask import Flask, Response, request
from werkzeug.serving import make_server

from tests.helpers.servers import free_port


class RecordingSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.snapshots: list[dict] = []  # every item of every accepted POST, in order
        self.logs: list[tuple[str, str, str, bytes]] = []  # (ns, uid, step, body) per PUT
        self.tokens: list[str | None] = []
        self.clusters: list[str | None] = []  # the ?cluster= of each snapshots POST
        self.fail_with: int | None = None  # answer this status to everything while set
        self.reject_uids: set[str] = set()  # 400 for a batch holding one of these
        self.requests = 0
        self._lock = threading.Lock()
        self._server = None
        self.app = self._build()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RecordingSink:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def sent(self) -> list[tuple[str, str]]:
        """(uid, resourceVersion) of every snapshot received."""
        with self._lock:
            return [
                (o["metadata"]["uid"], o["metadata"]["resourceVersion"]) for o in self.snapshots
            ]

    def log_steps(self, uid: str) -> list[str]:
        with self._lock:
            return [step for _, u, step, _ in self.logs if u == uid]

    def _build(self) -> Flask:
        app = Flask(__name__)
        sink = self

        @app.before_request
        def _gate():
            with sink._lock:
                sink.requests += 1
                sink.tokens.append(request.headers.get("Authorization"))
            if sink.fail_with is not None:
                return Response(
                    json.dumps({"error": "down", "errors": [], "status": sink.fail_with}),
                    sink.fail_with,
                    {"Retry-After": "0"},
                    content_type="application/json",
                )
            return None

        @app.post("/v1/snapshots")
        def snapshots():
            items = request.get_json()["items"]
            with sink._lock:
                sink.clusters.append(request.args.get("cluster"))
            if any(o["metadata"]["uid"] in sink.reject_uids for o in items):
                return {"error": "bad item", "errors": ["bad"], "status": 400}, 400
            with sink._lock:
                sink.snapshots.extend(items)
            return {"accepted": len(items), "ignored": 0}, 202

        @app.put("/v1/logs/<namespace>/<uid>/<step>")
        def logs(namespace: str, uid: str, step: str):
            body = request.stream.read()
            with sink._lock:
                sink.logs.append((namespace, uid, step, body))
            return {"key": f"logs/{namespace}/{uid}/{step}.log.gz"}, 201

        return app
