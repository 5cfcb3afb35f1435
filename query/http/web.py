"""The web page of the query service: `GET /` (runs), `/runs/<uid>` (one run and its logs),
`/trends` (charts), `/insights` (flaky tasks, critical paths, queue times, usage, failing
steps) and `/insights/runs` (the runs behind one of its numbers), and signing in with a
query token.

The pages are HTML shells whose script reads the JSON API (`/v1/runs`, `/v1/summary`,
`/v1/runs/<uid>/logs`) from the browser, so the page can show nothing the API would not
answer for the same token: a token entered once is kept in Flask's signed session cookie,
where `query.http.access.readable()` finds it for every later API call. Everything is
served by the app itself (no build step, no CDN); charts are SVG drawn by the script.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState

from layout.keys import is_uid
from layout.schema import CUSTOM_RUN, PIPELINE_RUN, STATUSES, TASK_RUN
from query.http.access import readable
from service.errors import ApiError

blueprint = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets"
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The menus' order: PipelineRuns are what a user looks for first.
MENU_KINDS = (PIPELINE_RUN, TASK_RUN, CUSTOM_RUN)
# (value, label) of the time-range menu; `since` takes any value /v1/runs takes.
RANGES = (
    ("", "Any time"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
)


@blueprint.record_once
def _configure(state: BlueprintSetupState) -> None:
    app = state.app
    # The token lives in a signed cookie, so the app needs a key that every gunicorn worker
    # and every restart shares. It is derived from RUNLAKE_QUERY_TOKENS, so changing the
    # tokens also ends every session; with no tokens there is nothing to sign in with, and a
    # process-lifetime key will do. With Kubernetes auth the cookie holds the reader's own
    # Kubernetes token, reviewed on every request, so a forged cookie gains nothing a request
    # header would not: the key need not be secret, only shared.
    if not app.secret_key:
        tokens = app.config.get("RUNLAKE_QUERY_TOKENS") or ""
        if app.config.get("RUNLAKE_QUERY_AUTH") == "kubernetes":
            tokens += "\0kubernetes\0" + app.config["RUNLAKE_CLUSTER"]
        app.secret_key = (
            hashlib.sha256(b"runlake-web-session\0" + tokens.encode()).hexdigest()
            if tokens
            else secrets.token_hex(32)
        )
    app.config["SESSION_COOKIE_SAMESITE"] = app.config["SESSION_COOKIE_SAMESITE"] or "Lax"
    app.extensions["runlake.web_asset_version"] = _asset_version()


# The page runs only its own scripts: an injected <script> or inline handler is refused even if
# some text ever escaped the escaping. Inline styles stay allowed for ANSI colours in logs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


@blueprint.after_request
def _headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers["Cache-Control"] = "no-store"
    return response


def _asset_version() -> str:
    """A digest of the assets, appended to their URLs so a browser never runs a stale script
    against a newer page."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def _asset(filename: str) -> str:
    version = current_app.extensions.get("runlake.web_asset_version", "")
    return url_for("web.static", filename=filename, v=version)


def _access() -> tuple[str | None, str | None]:
    """(what the visitor may read, for the page's header: None for everything; None) or
    (None, why they must sign in)."""
    try:
        found = readable()
    except ApiError as exc:
        if exc.status != 401:
            raise
        return None, exc.error
    return (None if found is None else found.label()), None


def _page(template: str, **context: object) -> Response | tuple[str, int]:
    presented = request.args.get("token")
    if presented:
        # A token in the page's URL is taken once into the session, then dropped from the URL
        # so that it is not left in the history or in links.
        return _sign_in(presented, _without_token(request.full_path))
    scope, problem = _access()
    if problem is not None:
        return render_template(
            "signin.html",
            problem=problem,
            next=_safe_next(request.full_path),
            asset=_asset,
            signed_in=False,
            scope=None,
        ), 401
    return render_template(
        template,
        asset=_asset,
        args=request.args,
        kinds=MENU_KINDS,
        statuses=STATUSES,
        ranges=RANGES,
        signed_in="token" in session,
        scope=scope,
        **context,
    ), 200


@blueprint.get("/")
def runs_page() -> Response | tuple[str, int]:
    return _page("runs.html", page="runs")


@blueprint.get("/runs/<uid>")
def run_page(uid: str) -> Response | tuple[str, int]:
    if not is_uid(uid):
        abort(404, description=f"no run has the uid {uid!r}")
    return _page("run.html", page="run", uid=uid)


@blueprint.get("/trends")
def trends_page() -> Response | tuple[str, int]:
    return _page("trends.html", page="trends")


@blueprint.get("/insights")
def insights_page() -> Response | tuple[str, int]:
    return _page("insights.html", page="insights")


@blueprint.get("/insights/runs")
def insight_runs_page() -> Response | tuple[str, int]:
    return _page("insight_runs.html", page="insight-runs")


@blueprint.post("/signin")
def sign_in() -> Response | tuple[str, int]:
    return _sign_in(request.form.get("token", "").strip(), request.form.get("next", "/"))


@blueprint.post("/signout")
def sign_out() -> Response:
    session.pop("token", None)
    return redirect(url_for("web.runs_page"), 303)


def _sign_in(token: str, next_url: str) -> Response | tuple[str, int]:
    next_url = _safe_next(next_url)
    session.pop("token", None)
    if token:
        session["token"] = token
    _, problem = _access()
    if problem is not None:
        session.pop("token", None)
        return render_template(
            "signin.html",
            problem=problem,
            next=next_url,
            asset=_asset,
            signed_in=False,
            scope=None,
        ), 401
    session.permanent = False
    return redirect(next_url, 303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a sign-in form must not send anyone elsewhere."""
    parts = urlsplit(target or "/")
    if (
        parts.scheme
        or parts.netloc
        or not parts.path.startswith("/")
        or parts.path.startswith("//")
        or "\\" in (target or "")
    ):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _without_token(full_path: str) -> str:
    parts = urlsplit(full_path)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("token="))
    return parts.path + (f"?{query}" if query else "")
