"""terraform/ without a terraform binary: every .tf parses (python-hcl2), checkov finds nothing,
and the Terraform agrees with the code it deploys (table columns, handlers, S3 actions per
function observed against a moto server, environment variables, documented variables)."""

from __future__ import annotations

import contextlib
import fnmatch
import gzip
import importlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import hcl2
import pyarrow as pa
import pytest

from layout import settings
from layout.records import write_records
from layout.schema import KINDS, RECORDS_SCHEMA
from tests.helpers.events import hand_binary
from tests.helpers.servers import MotoS3
from tests.helpers.tekton import fixture_object

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
CHECKOV = Path(os.environ.get("RUNLAKE_CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))
TASKRUN = "017_CloudEventBody_events-md-taskrun-pending.json"


# -- parsing ------------------------------------------------------------------------------


_HCL2_META = ("__comments__", "__is_block__")


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals' quotes ("\"x\""); expressions come as "${...}"."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k not in _HCL2_META}
    return value


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return _unquote(hcl2.load(handle))


def module(directory: Path) -> dict[str, Any]:
    """Every block of one module's .tf files, merged: {'resource': {type: {name: body}}, ...}."""
    merged: dict[str, Any] = {
        "resource": {},
        "data": {},
        "variable": {},
        "output": {},
        "locals": {},
    }
    for path in sorted(directory.glob("*.tf")):
        for kind, blocks in parse(path).items():
            for block in blocks:
                if kind == "locals":
                    merged["locals"].update(block)
                elif kind in ("resource", "data"):
                    for type_, named in block.items():
                        merged[kind].setdefault(type_, {}).update(named)
                elif kind in ("variable", "output"):
                    merged[kind].update(block)
    return merged


@pytest.fixture(scope="module")
def root() -> dict[str, Any]:
    return module(TERRAFORM)


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    return module(TERRAFORM / "kubernetes")


def test_terraform_every_file_parses() -> None:
    files = tf_files()
    assert {p.parent.name for p in files} == {"terraform", "kubernetes"}
    for path in files:
        assert parse(path), path


def test_terraform_aws_provider_is_pinned() -> None:
    versions = parse(TERRAFORM / "versions.tf")["terraform"][0]["required_providers"][0]
    assert versions["aws"]["source"] == "hashicorp/aws"
    assert re.fullmatch(r"~> \d+\.\d+", versions["aws"]["version"])


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary here")
def test_terraform_fmt_is_clean() -> None:
    # `terraform fmt` needs no providers, so it runs offline where a binary happens to exist.
    done = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null"},
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- checkov ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def checkov_report() -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.fail(
            f"checkov is not installed at {CHECKOV}: run `make test` (it installs "
            "checkov into .venv-checkov, apart from our pinned dependencies)"
        )
    done = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # No telemetry or platform look-ups: nothing outside this machine is reached.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    return report if isinstance(report, list) else [report]


def test_terraform_checkov_finds_no_failed_check(checkov_report: list[dict[str, Any]]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in checkov_report
        for c in r["results"]["failed_checks"]
    ]
    passed = sum(r["summary"]["passed"] for r in checkov_report)
    assert failed == []
    assert passed > 100  # it really looked at the AWS and Kubernetes resources


def test_terraform_checkov_skips_carry_a_reason(checkov_report: list[dict[str, Any]]) -> None:
    skipped = [c for r in checkov_report for c in r["results"]["skipped_checks"]]
    assert skipped
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 30, f"{check['check_id']} on {check['resource']}: {reason!r}"


# -- Terraform and code agree -------------------------------------------------------------


HIVE_TYPES = {
    pa.string(): "string",
    pa.float64(): "double",
    pa.timestamp("us", tz="UTC"): "timestamp",
    pa.map_(pa.string(), pa.string()): "map<string,string>",
}


def test_terraform_glue_columns_equal_records_schema(root: dict[str, Any]) -> None:
    columns = [(c["name"], c["type"]) for c in root["locals"]["records_columns"]]
    assert columns == [(f.name, HIVE_TYPES[f.type]) for f in RECORDS_SCHEMA]
    table = root["resource"]["aws_glue_catalog_table"]["records"]
    assert "local.records_columns" in str(table["storage_descriptor"][0]["dynamic"])
    serde = table["storage_descriptor"][0]["ser_de_info"][0]["serialization_library"]
    assert serde == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def test_terraform_glue_projection_matches_object_keys(root: dict[str, Any]) -> None:
    table = root["resource"]["aws_glue_catalog_table"]["records"]
    params = table["parameters"]
    keys = [k["name"] for k in table["partition_keys"]]
    assert keys == ["partition_kind", "date"]
    assert not set(keys) & set(RECORDS_SCHEMA.names)  # Hive refuses a key named as a column
    assert params["projection.enabled"] == "true"
    assert params["projection.partition_kind.type"] == "enum"
    assert params["projection.partition_kind.values"].split(",") == list(KINDS.values())
    assert params["projection.date.type"] == "date"
    assert params["projection.date.format"] == "yyyy-MM-dd"
    # The template spells the store's key layout (layout.keys): records/kind=<k>/date=<d>.
    assert params["storage.location.template"].endswith("kind=$${partition_kind}/date=$${date}")
    assert root["locals"]["records_location"].endswith("/records/")


def test_terraform_handlers_name_importable_callables(root: dict[str, Any]) -> None:
    commands = {name: f["command"] for name, f in root["locals"]["functions"].items()}
    assert set(commands) == {"ingest", "query", "lifecycle"}
    for command in commands.values():
        module_name, _, attribute = command.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute)), command


def test_terraform_function_environment_is_what_the_code_reads(root: dict[str, Any]) -> None:
    from ingest.lambda_handler import TOKEN_PARAMETERS as INGEST_PARAMETERS
    from query.http.lambda_handler import TOKEN_PARAMETERS as QUERY_PARAMETERS

    environment = root["locals"]["function_environment"]
    parameters = {"ingest": INGEST_PARAMETERS, "query": QUERY_PARAMETERS, "lifecycle": {}}
    for function, variables in environment.items():
        # Every variable set is one the code reads ...
        assert set(variables) <= set(settings.BY_ENV) | set(parameters[function]), function
        # ... the store has no usable default in Lambda (the working directory is read-only)
        assert variables["RUNLAKE_STORE"] == "${local.store_url}"
        # ... and the tokens come from SSM, never as plain values.
        assert set(parameters[function]) <= set(variables)
        assert not {"RUNLAKE_INGEST_TOKENS", "RUNLAKE_QUERY_TOKENS"} & set(variables)
        for name, value in variables.items():
            setting = settings.BY_ENV.get(name)
            if setting is not None and not value.startswith("${"):
                setting.parse(value)  # a literal must be valid for its setting


def test_terraform_variables_are_described_and_in_readme(
    root: dict[str, Any], cluster: dict[str, Any]
) -> None:
    readme = (REPO / "README.md").read_text()
    for where, variables in (
        ("terraform", root["variable"]),
        ("terraform/kubernetes", cluster["variable"]),
    ):
        for name, body in variables.items():
            assert len(body.get("description", "")) > 10, f"{where}: {name} has no description"
            assert f"`{name}`" in readme, f"{where}: variable {name} is not in README.md"
    for name, body in {**root["output"], **cluster["output"]}.items():
        assert body.get("description"), f"output {name} has no description"


def test_terraform_bucket_is_private_encrypted_and_tls_only(root: dict[str, Any]) -> None:
    res = root["resource"]
    block = res["aws_s3_bucket_public_access_block"]["archive"]
    assert all(
        block[k] is True
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    sse = res["aws_s3_bucket_server_side_encryption_configuration"]["archive"]["rule"][0]
    assert sse["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    deny = root["data"]["aws_iam_policy_document"]["archive_bucket"]["statement"][0]
    assert deny["effect"] == "Deny" and deny["condition"][0]["variable"] == "aws:SecureTransport"
    rules = {r["id"]: r for r in res["aws_s3_bucket_lifecycle_configuration"]["archive"]["rule"]}
    assert rules["logs-to-cheaper-storage"]["filter"][0]["prefix"] == "logs/"
    assert "abort_incomplete_multipart_upload" in rules["abort-incomplete-uploads"]


def test_terraform_log_groups_have_retention(root: dict[str, Any]) -> None:
    groups = root["resource"]["aws_cloudwatch_log_group"]
    assert groups and all(
        g["retention_in_days"] == "${var.log_retention_days}" for g in groups.values()
    )


def test_terraform_cluster_role_deletes_only_when_pruning(cluster: dict[str, Any]) -> None:
    role = cluster["resource"]["kubernetes_cluster_role_v1"]["watcher"]
    runs, pods = role["rule"]
    assert runs["resources"] == ["taskruns", "pipelineruns", "customruns"]
    assert runs["verbs"] == "${local.run_verbs}"
    match = re.fullmatch(
        r"\$\{local\.pruning \? (\[.*?\]) : (\[.*?\])\}", cluster["locals"]["run_verbs"]
    )
    assert match, cluster["locals"]["run_verbs"]
    pruning, not_pruning = (json.loads(match.group(i)) for i in (1, 2))
    assert pruning == ["get", "list", "watch", "patch", "delete"]
    assert not_pruning == ["get", "list", "watch", "patch"]
    assert cluster["locals"]["pruning"] == '${var.prune_after != ""}'
    assert pods == {"api_groups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]}


def test_terraform_tekton_sink_and_watcher_use_the_ingest_url(cluster: dict[str, Any]) -> None:
    events = cluster["resource"]["kubernetes_config_map_v1_data"]["tekton_events"]
    assert events["metadata"][0]["name"] == "config-events"
    assert events["metadata"][0]["namespace"] == "${var.tekton_namespace}"
    assert cluster["variable"]["tekton_namespace"]["default"] == "tekton-pipelines"
    assert events["data"] == {"sink": "${local.sink_url}"}
    assert "token=${var.ingest_token}" in cluster["locals"]["sink_url"]
    container = cluster["resource"]["kubernetes_deployment_v1"]["watcher"]["spec"][0]["template"][
        0
    ]["spec"][0]["container"][0]
    assert container["command"] == ["runlake"]
    assert "--sink" in cluster["locals"]["watcher_args"]
    token_env = {e["name"]: e for e in container["env"]}["RUNLAKE_SINK_TOKEN"]
    assert "secret_key_ref" in token_env["value_from"][0]


# -- many clusters ----------------------------------------------------------------------------


def _hcl_regex(condition: str) -> re.Pattern:
    """The regex literal of a validation condition, as Python would compile it."""
    (literal,) = re.findall(r'regex\("(.+?)", ', condition)
    return re.compile(literal.replace("\\\\", "\\"))


def test_terraform_one_ingest_token_per_cluster_bound_to_it(root: dict[str, Any]) -> None:
    from ingest.auth import parse_tokens
    from layout.keys import is_dns_label

    clusters = root["variable"]["clusters"]
    assert clusters["default"] == ["default"]  # one cluster: the code's default
    pattern = _hcl_regex(clusters["validation"][0]["condition"])
    for name in ("prod-eu", "staging", "a", "x" * 63, "Prod", "prod_eu", "-x", "x" * 64, ""):
        assert bool(pattern.fullmatch(name)) == is_dns_label(name), name
    tokens = root["resource"]["random_password"]["ingest_token"]
    assert tokens["for_each"] == "${toset(var.clusters)}"
    parameter = root["resource"]["aws_ssm_parameter"]["ingest_tokens"]
    # Terraform owns the value, so a new cluster's token reaches it ...
    assert "lifecycle" not in parameter
    # ... as token=cluster for every cluster, which ingest reads as each token's cluster.
    value = parameter["value"]
    match = re.fullmatch(
        r'\$\{join\(",", \[for (\w+) in var\.clusters : '
        r'"\$\{random_password\.ingest_token\[\1\]\.result\}=\$\{\1\}"\]\)\}',
        value,
    )
    assert match, value
    rendered = ",".join(f"token-{c}={c}" for c in ("prod-eu", "staging"))
    assert parse_tokens(rendered) == {"token-prod-eu": "prod-eu", "token-staging": "staging"}
    # The query token's value stays the operator's once written.
    assert root["resource"]["aws_ssm_parameter"]["query_tokens"]["lifecycle"]
    for name in ("ingest_tokens", "ingest_urls", "ingest_token", "ingest_url"):
        assert root["output"][name]["sensitive"] is True, name
    assert "local.ingest_tokens" in root["output"]["ingest_tokens"]["value"]


def test_terraform_cluster_side_names_its_cluster_to_the_watcher(cluster: dict[str, Any]) -> None:
    from layout.keys import is_dns_label

    variable = cluster["variable"]["cluster"]
    assert variable["default"] == ""
    pattern = _hcl_regex(variable["validation"][0]["condition"])
    for name in ("prod-eu", "Prod", "x" * 64):
        assert bool(pattern.fullmatch(name)) == is_dns_label(name), name
    assert '["--cluster", var.cluster]' in cluster["locals"]["watcher_args"]
    # Tekton drops an event it is refused (403 is not retried): its sink carries no claim.
    assert "cluster" not in cluster["locals"]["sink_url"]


# -- S3 actions per function, observed -----------------------------------------------------

REQUEST_LINE = re.compile(r'"(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


def s3_requests(records: list[logging.LogRecord], bucket: str) -> set[tuple[str, str]]:
    """(IAM action, key) of every S3 request the moto server logged for `bucket`; a key of ''
    is the bucket itself."""
    found = set()
    for record in records:
        # werkzeug colours the lines of non-2xx answers
        match = REQUEST_LINE.search(re.sub(r"\x1b\[[\d;]*m", "", record.getMessage()))
        if not match:
            continue
        method, target, _status = match.groups()
        parts = urlsplit(target)
        path = unquote(parts.path)
        if not (path == f"/{bucket}" or path.startswith(f"/{bucket}/")):
            continue  # another service on the same server (SSM) or another bucket
        key = path[len(bucket) + 2 :]
        query = parse_qs(parts.query, keep_blank_values=True)
        found.add((iam_action(method, key, query), key))
    return found


def iam_action(method: str, key: str, query: dict[str, list[str]]) -> str:
    """The IAM action AWS authorizes an S3 REST request by."""
    if not key:
        if method in ("GET", "HEAD") and "location" not in query:
            return "s3:ListBucket"  # ListObjects(V2), HeadBucket
        if method == "POST" and "delete" in query:
            return "s3:DeleteObject"
        return f"s3:unexpected-bucket-request:{method}"
    if method in ("GET", "HEAD"):
        return "s3:GetObject"
    if method in ("PUT", "POST"):  # PutObject, multipart create/part/complete
        return "s3:PutObject"
    if method == "DELETE":
        return "s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject"
    return f"s3:unexpected:{method}"


def granted(root: dict[str, Any], function: str) -> set[tuple[str, str]]:
    """(S3 action, key pattern) pairs the function's policy allows; '' is the bucket ARN."""
    document = root["data"]["aws_iam_policy_document"][f"{function}_s3"]
    pairs = set()
    for statement in document["statement"]:
        assert statement.get("effect", "Allow") == "Allow"
        for action in statement["actions"]:
            if not action.startswith("s3:"):
                continue
            for resource in statement["resources"]:
                arn = "${aws_s3_bucket.archive.arn}"
                assert resource.startswith(arn), resource
                pairs.add((action, resource[len(arn) + 1 :]))
    return pairs


def allowed(grants: set[tuple[str, str]], action: str, key: str) -> bool:
    return any(
        action == a
        and (key == pattern if not key or not pattern else fnmatch.fnmatchcase(key, pattern))
        for a, pattern in grants
    )


@contextlib.contextmanager
def observed(caplog: pytest.LogCaptureFixture, bucket: str) -> Iterator[set[tuple[str, str]]]:
    seen: set[tuple[str, str]] = set()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        yield seen
        seen |= s3_requests(caplog.records, bucket)


def rows_for(namespace: str, uid: str, at: datetime) -> list[dict]:
    from webhooks.normalize import normalize

    obj = json.loads(json.dumps(fixture_object(TASKRUN)))
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    obj["metadata"].update(namespace=namespace, uid=uid, name=f"run-{uid}", creationTimestamp=stamp)
    obj["status"].update(startTime=stamp, completionTime=stamp)
    return [normalize(obj, received_at=at, event_id=f"ev-{uid}", source="watcher")]


@pytest.fixture
def deployed(moto_s3: MotoS3, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The functions' environment as terraform/ sets it: the store is the bucket's root."""
    import boto3

    from ingest import lambda_handler as ingest_handler
    from query.http import lambda_handler as query_handler

    monkeypatch.setenv("RUNLAKE_STORE", f"s3://{s3_bucket}")
    monkeypatch.setenv("RUNLAKE_S3_ENDPOINT", moto_s3.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", moto_s3.endpoint)
    ssm = boto3.client("ssm", region_name="us-east-1")
    for variable, value in (
        ("RUNLAKE_INGEST_TOKENS_PARAMETER", "in-token"),
        ("RUNLAKE_QUERY_TOKENS_PARAMETER", "q-token=*"),
    ):
        name = f"/runlake/iam/{variable.lower()}"
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        monkeypatch.setenv(variable, name)
    ingest_handler.reset()
    query_handler.reset()
    yield s3_bucket
    ingest_handler.reset()
    query_handler.reset()


def test_terraform_iam_allows_exactly_the_s3_actions_each_function_performs(
    root: dict[str, Any], deployed: str, caplog: pytest.LogCaptureFixture
) -> None:
    from ingest import lambda_handler as ingest_handler
    from layout.store import open_store
    from query.http import lambda_handler as query_handler
    from runlake import lambda_lifecycle
    from tests.helpers.lambda_events import LambdaContext, http_api_event

    bucket, context = deployed, LambdaContext()
    store = open_store(f"s3://{bucket}", os.environ["RUNLAKE_S3_ENDPOINT"])
    old = datetime.now(UTC) - timedelta(days=400)
    write_records(store, rows_for("previews", "uid-old", old))  # what retention will expire
    store.write_bytes("logs/previews/uid-old/build.log.gz", gzip.compress(b"old\n"))

    def call(handler, method: str, path: str, query: str, **kwargs) -> None:  # noqa: ANN001
        response = handler(http_api_event(method, path, query=query, **kwargs), context)
        assert response["statusCode"] < 300, (path, response)

    obj = fixture_object(TASKRUN)
    with observed(caplog, bucket) as ingest_seen:
        call(
            ingest_handler.handler,
            "POST",
            "/",
            "token=in-token",
            headers=hand_binary("iam-1"),
            body=json.dumps({"taskRun": obj}).encode(),
        )
        call(
            ingest_handler.handler,
            "POST",
            "/v1/snapshots",
            "token=in-token",
            headers={"content-type": "application/json"},
            body=json.dumps(obj).encode(),
        )
        call(
            ingest_handler.handler,
            "PUT",
            f"/v1/logs/default/{obj['metadata']['uid']}/build",
            "token=in-token",
            headers={"content-type": "text/plain"},
            body=b"hello\n",
        )
        call(ingest_handler.handler, "GET", "/readyz", "")
    write_records(store, rows_for("team-a", "uid-new", datetime.now(UTC)))  # a second file

    with observed(caplog, bucket) as query_seen:
        sql = {"sql": "SELECT r.uid, l.key FROM runs r LEFT JOIN logs l USING (uid)"}
        call(
            query_handler.handler,
            "POST",
            "/v1/sql",
            "token=q-token",
            headers={"content-type": "application/json"},
            body=json.dumps(sql).encode(),
        )
        call(query_handler.handler, "GET", "/v1/runs", "token=q-token")
        call(
            query_handler.handler, "GET", f"/v1/runs/{obj['metadata']['uid']}/logs", "token=q-token"
        )

    with observed(caplog, bucket) as lifecycle_seen:
        result = lambda_lifecycle.handler(
            {"older_than": "0s", "retention_policy": "defaultRetention: 365d\n"}, context
        )
    assert result["retention"][0].startswith("results: 2"), result  # uid-old, the 2021 fixture
    assert not store.exists("logs/previews/uid-old/build.log.gz")

    # Granted only for paths the tests do not take: an upload that fails half-way, and the
    # next run finishing a killed retention run's journal.
    error_paths = {
        ("s3:AbortMultipartUpload", "records/*"),
        ("s3:AbortMultipartUpload", "logs/*"),
        ("s3:AbortMultipartUpload", "_runlake/*"),
        ("s3:AbortMultipartUpload", "_runlake.json"),
        ("s3:GetObject", "_runlake/*"),
    }
    for function, seen in (
        ("ingest", ingest_seen),
        ("query", query_seen),
        ("lifecycle", lifecycle_seen),
    ):
        grants = granted(root, function)
        denied = sorted((a, k) for a, k in seen if not allowed(grants, a, k))
        assert denied == [], f"{function} performs S3 requests its policy denies: {denied}"
        unused = sorted(
            (a, p)
            for a, p in grants - error_paths
            if not any(a == act and allowed({(a, p)}, act, k) for act, k in seen)
        )
        assert unused == [], f"{function}'s policy grants S3 access it never uses: {unused}"
    assert {a for a, _ in query_seen} <= {"s3:ListBucket", "s3:GetObject"}


# -- the artifact Terraform points at ------------------------------------------------------


def test_terraform_functions_run_the_image_make_lambda_builds(
    root: dict[str, Any], tmp_path: Path
) -> None:
    function = root["resource"]["aws_lambda_function"]["runlake"]
    assert function["package_type"] == "Image"
    assert function["image_uri"] == "${aws_ecr_repository.runlake.repository_url}:${var.image_tag}"
    assert function["image_config"][0]["command"] == ["${each.value.command}"]

    context = tmp_path / "lambda"
    done = subprocess.run(
        ["make", "--no-print-directory", "lambda", f"LAMBDA_DIR={context}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent"},
    )
    assert done.returncode == 0, done.stderr
    dockerfile = (context / "Dockerfile").read_text()
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.11$", dockerfile, re.M)
    assert re.search(r"HOME=/tmp", dockerfile) and re.search(r"TMPDIR=/tmp", dockerfile)
    requirements = [
        line
        for line in (context / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\[\]-]+==[\w.]+", line) for line in requirements)
    assert any(line.startswith("apig-wsgi==") for line in requirements)
    assert not list(context.rglob("__pycache__"))
    # Every handler Terraform names imports from the context's own sources.
    commands = [f["command"] for f in root["locals"]["functions"].values()]
    probe = "; ".join(f"import {c.rpartition('.')[0]}" for c in commands)
    probe += "; import query.http.web, sys; assert query.http.web.__file__.startswith(sys.argv[1])"
    done = subprocess.run(
        [sys.executable, "-c", probe, str(context)],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(context)},
    )
    assert done.returncode == 0, done.stderr
