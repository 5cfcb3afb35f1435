"""terraform/ without a terraform binary: every .tf parses (python-hcl2), checkov finds nothing,
and the Terraform agrees with the code it deploys (table columns, handlers, S3 actions per
function observed against a moto server, environment variables, documented variables)."""

from __future__ import annotations

import fnmatch
import gzip
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import hcl2
import pyarrow as pa
import pytest

from layout import settings
from layout.evolution import MARKER_KEY
from layout.inbox import write_inbox
from layout.lease import LEASE_KEY
from layout.schema import TABLE_SCHEMA
from layout.store import Store
from layout.tables import RUNS
from tests.helpers.events import hand_binary
from tests.helpers.servers import MotoS3, S3Request
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


def test_terraform_glue_declares_both_tables_as_delta_tables_athena_reads_in_place(
    root: dict[str, Any],
) -> None:
    from layout.tables import SNAPSHOTS

    tables = root["resource"]["aws_glue_catalog_table"]["delta"]
    assert tables["for_each"] == "${local.delta_tables}"
    locations = {name: t["path"] for name, t in root["locals"]["delta_tables"].items()}
    assert locations == {"runs": f"{RUNS}/", "snapshots": f"{SNAPSHOTS}/"}
    # Athena (engine 3) reads a Glue table as Delta by table_type=DELTA and takes the schema,
    # partitions and files from its _delta_log: a location is all it needs; without the
    # marker it would read every Parquet file under the location, removed ones included.
    assert tables["parameters"] == {
        "EXTERNAL": "TRUE",
        "table_type": "DELTA",
        "spark.sql.sources.provider": "delta",
    }
    assert "partition_keys" not in tables  # the partitions live in the Delta log
    descriptor = tables["storage_descriptor"][0]
    assert descriptor["location"] == "s3://${aws_s3_bucket.archive.bucket}/${each.value.path}"
    assert "ser_de_info" not in descriptor and "input_format" not in descriptor
    assert "local.table_columns" in str(descriptor["dynamic"])
    # The declared columns describe the tables to other catalog readers: they must be true.
    columns = [(c["name"], c["type"]) for c in root["locals"]["table_columns"]]
    assert columns == [(f.name, HIVE_TYPES[f.type]) for f in TABLE_SCHEMA]
    assert not any("projection" in key for key in tables["parameters"])


def test_terraform_athena_workgroup_runs_engine_version_3(root: dict[str, Any]) -> None:
    configuration = root["resource"]["aws_athena_workgroup"]["runlake"]["configuration"][0]
    engine = configuration["engine_version"][0]["selected_engine_version"]
    assert engine == "Athena engine version 3"  # the only engine that reads Delta natively


def test_terraform_tables_keep_a_delta_protocol_athena_reads(local_store: Store) -> None:
    """Athena reads Delta reader protocol up to 3, with column mapping and timestampNtz as
    its only reader features: a writer option that enables another one (deletion vectors,
    say) would make the tables unreadable there."""
    from deltalake import DeltaTable

    from layout.tables import INDEX, TABLES
    from runlake.lifecycle import materialize_once

    write_inbox(local_store, rows_for("team-a", "uid-1", datetime.now(UTC)))
    materialize_once(local_store)
    for path in TABLES:
        protocol = DeltaTable(local_store.path(path)).protocol()
        assert protocol.min_reader_version <= 3, path
        assert set(protocol.reader_features or ()) <= {"columnMapping", "timestampNtz"}, path
    assert DeltaTable(local_store.path(INDEX)).version() >= 0


def readme_athena_query() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("**3. Query with Athena.**") :]
    start = section.index("```sql\n") + len("```sql\n")
    return section[start : section.index("```", start)].strip()


def test_terraform_readme_athena_query_needs_no_window(local_store: Store) -> None:
    """README's Athena example over `runs` answers one row per run, no window needed: run
    here against the same Delta table (DuckDB's delta reader standing in for Athena), after
    every run arrived as Tekton sends it, running first, then finished."""
    import duckdb

    from layout.duck import extension_path
    from layout.literals import sql_string
    from runlake.lifecycle import materialize_once
    from tests.helpers.rows import row

    finals = {  # uid: pipeline, day, final status
        "a1": ("build", "2026-11-02", "Failed"),
        "a2": ("build", "2026-11-15", "Succeeded"),
        "a3": ("build", "2026-11-30", "Succeeded"),
        "a4": ("build", "2026-10-31", "Failed"),  # October: not counted
        "b1": ("deploy", "2026-11-03", "Failed"),
        "b2": ("deploy", "2026-11-04", "Failed"),
        "c1": ("lint", "2026-11-05", "Running"),  # still running
    }
    for uid, (pipeline, day, status) in finals.items():
        created = datetime.fromisoformat(f"{day}T10:00:00+00:00")
        common = {"kind": "PipelineRun", "pipeline": pipeline, "created_at": created}
        write_inbox(local_store, [row(uid, resource_version="1", **common)])
        write_inbox(local_store, [row(uid, status=status, resource_version="2", **common)])
    write_inbox(local_store, [row("t1", kind="TaskRun", status="Failed", pipeline="build")])
    materialize_once(local_store)

    query = readme_athena_query()
    assert "runlake.runs" in query and "OVER" not in query.upper()
    db = duckdb.connect(config={"autoload_known_extensions": False})
    db.execute(f"LOAD {sql_string(extension_path('delta'))}")
    table = f"delta_scan({sql_string(local_store.path(RUNS))})"
    rows = db.execute(query.rstrip(";").replace("runlake.runs", table)).fetchall()
    assert [(pipeline, runs, round(rate, 3)) for pipeline, runs, rate in rows] == [
        ("build", 3, 0.333),
        ("deploy", 2, 1.0),
        ("lint", 1, 0.0),
    ]


def test_terraform_handlers_name_importable_callables(root: dict[str, Any]) -> None:
    commands = {name: f["command"] for name, f in root["locals"]["functions"].items()}
    assert set(commands) == {"ingest", "query", "materialize", "lifecycle"}
    for command in commands.values():
        module_name, _, attribute = command.rpartition(".")
        assert callable(getattr(importlib.import_module(module_name), attribute)), command


def test_terraform_function_environment_is_what_the_code_reads(root: dict[str, Any]) -> None:
    from ingest.lambda_handler import TOKEN_PARAMETERS as INGEST_PARAMETERS
    from query.http.lambda_handler import TOKEN_PARAMETERS as QUERY_PARAMETERS

    environment = root["locals"]["function_environment"]
    parameters = {
        "ingest": INGEST_PARAMETERS,
        "query": QUERY_PARAMETERS,
        "materialize": {},
        "lifecycle": {},
    }
    assert set(environment) == set(root["locals"]["functions"])
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
            if setting is None:
                continue
            # A literal, or the default of the variable it comes from, is valid for its setting.
            variable = re.fullmatch(r"\$\{tostring\(var\.(\w+)\)\}", value)
            if variable:
                setting.parse(str(root["variable"][variable.group(1)]["default"]))
            elif not value.startswith("${"):
                setting.parse(value)


def test_terraform_materializer_runs_every_minute_one_invocation_at_a_time(
    root: dict[str, Any],
) -> None:
    from runlake.lambda_lifecycle import MATERIALIZE_MARGIN_S

    functions = root["locals"]["functions"]
    assert functions["materialize"]["concurrency"] == functions["lifecycle"]["concurrency"] == 1
    schedule = root["resource"]["aws_scheduler_schedule"]["materialize"]
    assert schedule["schedule_expression"] == "rate(1 minute)"
    target = schedule["target"][0]
    assert target["arn"] == '${aws_lambda_function.runlake["materialize"].arn}'
    # An invocation starts no cycle in its last MATERIALIZE_MARGIN_S: with a timeout of at
    # most the schedule's minute it is over before the next one is due ...
    assert functions["materialize"]["timeout"] == "${local.materialize_timeout_s}"
    assert MATERIALIZE_MARGIN_S < root["locals"]["materialize_timeout_s"] <= 60
    # ... and an event that finds the one instance busy is dropped, not queued for retries.
    config = root["resource"]["aws_lambda_function_event_invoke_config"]["materialize"]
    assert config["maximum_retry_attempts"] == 0 and config["maximum_event_age_in_seconds"] <= 60
    assert target["retry_policy"][0]["maximum_retry_attempts"] == 0
    invoked = root["data"]["aws_iam_policy_document"]["scheduler"]["statement"][0]["resources"]
    assert set(invoked) == {
        f'${{aws_lambda_function.runlake["{name}"].arn}}' for name in ("materialize", "lifecycle")
    }


def test_terraform_lifecycle_schedule_input_is_what_the_handler_reads(
    root: dict[str, Any],
) -> None:
    from runlake.lambda_lifecycle import schedule_options

    given = root["resource"]["aws_scheduler_schedule"]["lifecycle"]["target"][0]["input"]
    keys = set(re.findall(r"(\w+) = var\.", given))
    samples = {"older_than": "2h", "retention_policy": "defaultRetention: 30d"}
    assert keys == set(samples)  # e.g. no latest_only_after, which compaction no longer has
    for key in keys:  # every key changes what the handler does: none is silently ignored
        assert schedule_options({key: samples[key]}) != schedule_options({}), key


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


# -- S3 requests per function, observed ----------------------------------------------------
#
# Each function runs its real code against the moto server under credentials of its own, as
# each Lambda has its own role; the server records every request and whose key signed it, so
# boto3's, pyarrow's, delta-rs' and DuckDB's requests all count, and a function may run
# beside another (the materializer hands the lease to the lifecycle job).

FUNCTIONS = ("ingest", "query", "materialize", "lifecycle")
SETUP = "setup"  # the test's own requests: seeding the store, waiting for the materializer

# Query parameters of the requests IAM authorizes as ListBucket, and of object requests.
LIST_PARAMETERS = {
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
    "marker",
    "x-id",
}
OBJECT_PARAMETERS = {"partNumber", "uploadId", "uploads", "versionId", "x-id"}


def iam_actions(request: S3Request) -> list[tuple[str, str]]:
    """The (IAM action, key) pairs AWS authorizes an S3 REST request by; a key of '' is the
    bucket itself. A kind of request not known here maps to an 's3:unexpected...' action,
    which no policy grants, so a new kind shows up as a denied request."""
    method, key, params = request.method, request.key, set(request.query)
    if not key:
        if method == "POST" and params <= {"delete", "x-id"} and "delete" in params:
            return [("s3:DeleteObject", deleted) for deleted in request.deleted_keys]
        if method in ("GET", "HEAD") and params <= LIST_PARAMETERS:
            return [("s3:ListBucket", "")]  # ListObjects(V2), HeadBucket
        return [(f"s3:unexpected:{method} bucket?{'&'.join(sorted(params))}", "")]
    if not params <= OBJECT_PARAMETERS:
        return [(f"s3:unexpected:{method} object?{'&'.join(sorted(params))}", key)]
    versioned = "versionId" in params
    if method in ("GET", "HEAD"):
        if "uploadId" in params:
            return [("s3:ListMultipartUploadParts", key)]
        return [("s3:GetObjectVersion" if versioned else "s3:GetObject", key)]
    if method in ("PUT", "POST"):  # PutObject, CopyObject, multipart create/part/complete
        pairs = [("s3:PutObject", key)]
        if request.copy_source:
            source = unquote(request.copy_source).lstrip("/").partition("/")[2]
            pairs.append(("s3:GetObject", source.partition("?")[0]))
        return pairs
    if method == "DELETE":
        if "uploadId" in params:
            return [("s3:AbortMultipartUpload", key)]
        return [("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", key)]
    return [(f"s3:unexpected:{method}", key)]


def access_key(who: str) -> str:
    return f"runlake-{who}"


def sign_as(monkeypatch: pytest.MonkeyPatch, who: str) -> None:
    """Make this process's S3 clients sign as `who` from now on (they read the environment's
    credentials per request or when created; boto3's default session caches its first)."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key(who))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def performed(log: list[S3Request], buckets: set[str], function: str) -> set[tuple[str, str]]:
    return {
        pair
        for request in log
        if request.bucket in buckets and request.access_key == access_key(function)
        for pair in iam_actions(request)
    }


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


def rows_for(namespace: str, uid: str, at: datetime) -> list[dict]:
    from webhooks.normalize import normalize

    obj = json.loads(json.dumps(fixture_object(TASKRUN)))
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    obj["metadata"].update(namespace=namespace, uid=uid, name=f"run-{uid}", creationTimestamp=stamp)
    obj["status"].update(startTime=stamp, completionTime=stamp)
    return [normalize(obj, received_at=at, event_id=f"ev-{uid}", source="watcher")]


@pytest.fixture
def deployed(moto_s3: MotoS3, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The functions' environment as terraform/ sets it: the store is the bucket's root."""
    import boto3

    from ingest import lambda_handler as ingest_handler
    from query.http import lambda_handler as query_handler

    sign_as(monkeypatch, SETUP)
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


class Killed(Exception):
    """Stands for the end of a process killed mid-way."""


def seed(store: Store, old: datetime, now: datetime) -> None:
    """A store as it is after a while: runs in the tables (two of them old enough to expire,
    an earlier snapshot of the fixture run), their logs, and the journal of a retention run
    that was killed after deleting rows but before deleting logs."""
    from layout import retention as rules
    from layout.lease import Lease
    from runlake.lifecycle import expired_results, materialize_once
    from webhooks.normalize import normalize

    seeded = (
        ("previews", "uid-old", old),
        ("previews", "uid-killed", old),
        ("team-a", "uid-new", now),
    )
    for namespace, uid, created in seeded:
        write_inbox(store, rows_for(namespace, uid, created))
        store.write_bytes(f"logs/{namespace}/{uid}/build.log.gz", gzip.compress(b"built\n"))
    fixture = fixture_object(TASKRUN)
    write_inbox(store, [normalize(fixture, received_at=now, event_id="ev-seed", source="watcher")])
    materialize_once(store)

    policy = rules.parse_policy("defaultRetention: 365d\n")
    killed = [e for e in expired_results(store, policy, 30.0) if e.top.uid == "uid-killed"]
    assert killed

    def kill() -> None:
        raise Killed

    with Lease(store, "retention").hold(), pytest.raises(Killed):
        rules.apply(store, killed, before_logs=kill)
    assert store.list("_runlake/retention/") and store.exists(
        "logs/previews/uid-killed/build.log.gz"
    )
    # The first writer of a new store writes its layout marker: on AWS the materializer, at
    # its first cycle with rows. As if it were that function, not this seeding.
    store.delete(MARKER_KEY)


MATERIALIZER = """
import json
from runlake.lambda_lifecycle import MATERIALIZE_MARGIN_S, materialize
from tests.helpers.lambda_events import LambdaContext

print(json.dumps(materialize({}, LambdaContext(MATERIALIZE_MARGIN_S + 60))))
"""


def start_materializer() -> subprocess.Popen:
    """The materializer Lambda in a process of its own, as the schedule invokes it: it takes
    the lease and runs cycles for a minute, unless another writer asks for the lease."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": access_key("materialize"),
        "RUNLAKE_MATERIALIZE_S": "0.5",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen(
        [sys.executable, "-c", MATERIALIZER],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(predicate: Any, what: str, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


def test_terraform_iam_allows_exactly_the_s3_requests_each_function_makes(
    root: dict[str, Any], deployed: str, moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import lambda_handler as ingest_handler
    from layout.inbox import list_inbox
    from layout.store import open_store
    from query.http import lambda_handler as query_handler
    from runlake import lambda_lifecycle
    from runlake.lifecycle import compact
    from tests.helpers.lambda_events import LambdaContext, http_api_event

    bucket, fresh_bucket = deployed, f"{deployed}-fresh"
    moto_s3.client().create_bucket(Bucket=fresh_bucket)
    store = open_store(f"s3://{bucket}", moto_s3.endpoint)
    now = datetime.now(UTC)
    obj = fixture_object(TASKRUN)
    uid = obj["metadata"]["uid"]
    fresh = json.loads(json.dumps(obj))  # a run the tables do not hold yet
    fresh["metadata"].update(uid="uid-fresh", name="run-fresh")

    def call(handler, method: str, path: str, query: str = "", **kwargs) -> dict:  # noqa: ANN001
        response = handler(http_api_event(method, path, query=query, **kwargs), LambdaContext())
        assert response["statusCode"] < 300, (path, response)
        return response

    with moto_s3.record() as log:
        # A new deployment's first hourly run, before any event arrived: retention writes the
        # new store's layout marker.
        sign_as(monkeypatch, "lifecycle")
        monkeypatch.setenv("RUNLAKE_STORE", f"s3://{fresh_bucket}")
        policy = {"retention_policy": "defaultRetention: 365d\n"}
        assert lambda_lifecycle.handler(policy, LambdaContext(900))["retention"][0] == (
            "results: 0 (0 runs)"
        )
        monkeypatch.setenv("RUNLAKE_STORE", f"s3://{bucket}")

        sign_as(monkeypatch, SETUP)
        seed(store, now - timedelta(days=400), now)

        sign_as(monkeypatch, "ingest")
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
            body=json.dumps(fresh).encode(),
        )
        call(
            ingest_handler.handler,
            "PUT",
            f"/v1/logs/default/{uid}/build",
            "token=in-token",
            headers={"content-type": "text/plain"},
            body=b"hello\n",
        )
        call(ingest_handler.handler, "GET", "/readyz")
        call(ingest_handler.handler, "GET", "/metrics")

        # Query merges the tables (uid-new) with the inbox (the fixture run, just ingested).
        sign_as(monkeypatch, "query")
        sql = {
            "sql": "SELECT r.uid, l.key, (SELECT count(*) FROM snapshots s WHERE s.uid = r.uid) "
            "AS snapshots FROM runs r LEFT JOIN logs l USING (uid) ORDER BY r.uid"
        }
        answer = call(
            query_handler.handler,
            "POST",
            "/v1/sql",
            "token=q-token",
            headers={"content-type": "application/json"},
            body=json.dumps(sql).encode(),
        )
        rows = {row[0]: row[1:] for row in json.loads(answer["body"])["rows"]}
        assert rows[uid] == [f"logs/default/{uid}/build.log.gz", 2]  # seeded, then the event
        assert rows["uid-fresh"][1] == 1
        assert rows["uid-new"] == ["logs/team-a/uid-new/build.log.gz", 1]
        call(query_handler.handler, "GET", "/v1/runs", "token=q-token")
        call(query_handler.handler, "GET", "/v1/runs/uid-new", "token=q-token")
        call(query_handler.handler, "GET", "/v1/runs/uid-new/logs", "token=q-token")
        call(query_handler.handler, "GET", "/readyz")

        sign_as(monkeypatch, SETUP)
        materializer = start_materializer()
        try:

            def inbox_moved() -> bool:
                assert materializer.poll() is None, materializer.communicate()[1][-3000:]
                return not list_inbox(store)

            wait_until(inbox_moved, "the materializer has moved the inbox")

            # Compaction asks the running materializer for the lease, then compacts, vacuums
            # and checkpoints; retention finishes the killed run and deletes what expired.
            sign_as(monkeypatch, "lifecycle")
            result = lambda_lifecycle.handler({"older_than": "0s", **policy}, LambdaContext(900))
            # An hour later VACUUM deletes what this run's OPTIMIZE and DELETE replaced: the
            # same job with no wait.
            compact(open_store(f"s3://{bucket}", moto_s3.endpoint), keep=timedelta(0))
            out, err = materializer.communicate(timeout=120)
        finally:
            materializer.kill()

        # The next run finds rows still in the inbox, which retention's view of the runs
        # merges in.
        sign_as(monkeypatch, SETUP)
        write_inbox(store, rows_for("team-a", "uid-late", now))
        sign_as(monkeypatch, "lifecycle")
        lambda_lifecycle.handler(policy, LambdaContext(900))
        sign_as(monkeypatch, SETUP)

    assert materializer.returncode == 0, err[-3000:]
    cycles = json.loads(out.splitlines()[-1])
    assert cycles["cycles"] >= 1 and cycles["rows"] == 2, cycles  # the event and the snapshot
    # uid-old, and the two runs created in 2021 (the fixture's); uid-killed's run was done
    assert result["retention"][0].startswith("results: 3"), result
    assert not store.exists("logs/previews/uid-old/build.log.gz")
    assert not store.exists("logs/previews/uid-killed/build.log.gz")  # the journal, finished
    assert store.exists("logs/team-a/uid-new/build.log.gz")
    assert not [i for i in store.list("_runlake/retention/") if i.key.endswith(".json")]

    buckets = {bucket, fresh_bucket}
    signers = {request.access_key for request in log if request.bucket in buckets}
    assert signers == {access_key(who) for who in (SETUP, *FUNCTIONS)}
    for function in FUNCTIONS:
        seen, grants = performed(log, buckets, function), granted(root, function)
        denied = sorted((a, k) for a, k in seen if not allowed(grants, a, k))
        assert denied == [], f"{function} makes S3 requests its policy denies: {denied}"
        # Aborting an upload is what a failed multipart upload does: granted only where the
        # function writes, and not seen here, where no upload fails.
        aborts = {(a, p) for a, p in grants if a == "s3:AbortMultipartUpload"}
        assert {("s3:PutObject", p) for _, p in aborts} <= grants, function
        unused = sorted(
            (a, p) for a, p in grants - aborts if not any(allowed({(a, p)}, *pair) for pair in seen)
        )
        assert unused == [], f"{function}'s policy grants S3 access it never uses: {unused}"
    assert {a for a, _ in performed(log, buckets, "query")} <= {"s3:ListBucket", "s3:GetObject"}

    # The bucket refuses unconditional writes of Delta commit files and of the lease: none of
    # the writers' requests is refused, and they did write both (delta-rs creates each commit
    # file If-None-Match; a released lease is taken over If-Match after a failed create).
    denials = write_denials(root)
    writes = [r for r in log if r.bucket in buckets and ("s3:PutObject", r.key) in iam_actions(r)]
    assert [(r.key, r.access_key) for r in writes if refused(denials, r)] == []
    commits = [r for r in writes if fnmatch.fnmatchcase(r.key, "*/_delta_log/*.json")]
    assert {r.access_key for r in commits} >= {access_key("materialize"), access_key("lifecycle")}
    leases = [r for r in writes if r.key == LEASE_KEY]
    assert any(r.status == 412 for r in leases) and any(r.if_match for r in leases)
    commit = f"{RUNS}/_delta_log/{9:020d}.json"
    assert refused(denials, S3Request("PUT", bucket, commit, {}, 200))  # without If-None-Match


CONDITIONAL_HEADERS = {"s3:if-none-match": "if_none_match", "s3:if-match": "if_match"}


def write_denials(root: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The bucket policy's Deny statements on s3:PutObject as (key pattern, condition keys):
    a write of a matching key is refused when it carries none of those conditional headers."""
    arn = "${aws_s3_bucket.archive.arn}/"
    denials = []
    for statement in root["data"]["aws_iam_policy_document"]["archive_bucket"]["statement"]:
        if statement.get("effect") != "Deny" or statement["actions"] != ["s3:PutObject"]:
            continue
        conditions = statement["condition"]
        assert all(c["test"] == "Null" and c["values"] == ["true"] for c in conditions)
        (resource,) = statement["resources"]
        assert resource.startswith(arn), resource
        denials.append((resource[len(arn) :], [c["variable"] for c in conditions]))
    return denials


def refused(denials: list[tuple[str, list[str]]], request: S3Request) -> bool:
    return any(
        fnmatch.fnmatchcase(request.key, pattern)
        and all(getattr(request, CONDITIONAL_HEADERS[v]) is None for v in variables)
        for pattern, variables in denials
    )


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
