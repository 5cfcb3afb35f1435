# The one image (built by `make lambda`) runs all four functions; each names its handler.
resource "aws_ecr_repository" "runlake" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  # KMS under ECR's AWS-managed key: Lambda pulls the image with no grant on our key.
  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_cloudwatch_log_group" "function" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.runlake.arn
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

# What every function needs besides the store: its own log group, X-Ray traces, the key.
data "aws_iam_policy_document" "function_base" {
  for_each = local.functions

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid       = "Traces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "ArchiveKey"
    actions   = each.key == "query" ? ["kms:Decrypt"] : ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.runlake.arn]
  }
}

# Each function's S3 access is what its code does, key prefix by key prefix (the tests replay
# every function against a moto server and check both ways: every request it makes is
# allowed, and every grant is used). AbortMultipartUpload goes with the writes that can be
# multipart uploads (pyarrow's and delta-rs' large files), for an upload that fails half-way.

# Ingest writes what it accepts to inbox/ and step logs to logs/; it reads nothing but a
# listing of inbox/ (/readyz, /metrics).
data "aws_iam_policy_document" "ingest_s3" {
  statement {
    sid       = "List"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.archive.arn]
  }

  statement {
    sid     = "WriteInboxAndLogs"
    actions = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [
      "${aws_s3_bucket.archive.arn}/inbox/*",
      "${aws_s3_bucket.archive.arn}/logs/*",
    ]
  }

  statement {
    sid       = "IngestTokens"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.ingest_tokens.arn]
  }
}

# Query only reads: both tables' logs and data files, the uid index, the inbox (merged into
# every answer), step logs and the layout marker.
data "aws_iam_policy_document" "query_s3" {
  statement {
    sid       = "List"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.archive.arn]
  }

  statement {
    sid     = "ReadArchive"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.archive.arn}/tables/*",
      "${aws_s3_bucket.archive.arn}/_runlake/index/*",
      "${aws_s3_bucket.archive.arn}/inbox/*",
      "${aws_s3_bucket.archive.arn}/logs/*",
      "${aws_s3_bucket.archive.arn}/_runlake.json",
    ]
  }

  statement {
    sid       = "QueryTokens"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.query_tokens.arn]
  }
}

# The materializer takes the writer lease (conditional writes of _runlake/lease.json), reads
# inbox objects, commits them to the two tables and the uid index (data files, then each
# commit file with If-None-Match), and deletes the inbox objects it committed. As the first
# writer of a new store it writes the layout marker. It deletes inbox objects in batches
# (DeleteObjects, authorized as s3:DeleteObject per key), which writes no directory marker.
data "aws_iam_policy_document" "materialize_s3" {
  statement {
    sid       = "List"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.archive.arn]
  }

  statement {
    sid     = "ReadInboxTablesAndLease"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.archive.arn}/inbox/*",
      "${aws_s3_bucket.archive.arn}/tables/*",
      "${aws_s3_bucket.archive.arn}/_runlake/index/*",
      "${aws_s3_bucket.archive.arn}/_runlake/lease.json",
      "${aws_s3_bucket.archive.arn}/_runlake/lease-wanted.json",
      "${aws_s3_bucket.archive.arn}/_runlake.json",
    ]
  }

  statement {
    sid     = "CommitTables"
    actions = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [
      "${aws_s3_bucket.archive.arn}/tables/*",
      "${aws_s3_bucket.archive.arn}/_runlake/index/*",
    ]
  }

  statement {
    sid       = "Lease"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.archive.arn}/_runlake/lease.json"]
  }

  statement {
    sid       = "LayoutMarker"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.archive.arn}/_runlake.json"]
  }

  statement {
    sid       = "ConsumeInbox"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.archive.arn}/inbox/*"]
  }
}

# Compaction rewrites the tables and the index (OPTIMIZE), deletes what no recent version
# references (VACUUM) and checkpoints their logs; retention deletes rows (a rewrite), logs
# and, through its journals, finishes a killed run. Retention first moves the inbox into the
# tables (as the materializer does: it deletes the inbox objects it committed), then reads
# the views to decide. Both take the writer lease, asking a running materializer for it.
data "aws_iam_policy_document" "lifecycle_s3" {
  statement {
    sid       = "List"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.archive.arn]
  }

  statement {
    sid     = "ReadArchive"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.archive.arn}/tables/*",
      "${aws_s3_bucket.archive.arn}/_runlake/index/*",
      "${aws_s3_bucket.archive.arn}/inbox/*",
      "${aws_s3_bucket.archive.arn}/logs/*",
      "${aws_s3_bucket.archive.arn}/_runlake/retention/*",
      "${aws_s3_bucket.archive.arn}/_runlake/lease.json",
      "${aws_s3_bucket.archive.arn}/_runlake/lease-wanted.json",
      "${aws_s3_bucket.archive.arn}/_runlake.json",
    ]
  }

  statement {
    sid     = "RewriteTablesAndJournals"
    actions = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.archive.arn}/tables/*",
      "${aws_s3_bucket.archive.arn}/_runlake/index/*",
      "${aws_s3_bucket.archive.arn}/_runlake/retention/*",
    ]
  }

  statement {
    sid       = "Lease"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.archive.arn}/_runlake/lease.json"]
  }

  # Withdrawing the request (a delete) leaves pyarrow's empty marker object "_runlake/".
  statement {
    sid       = "AskForLease"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.archive.arn}/_runlake/lease-wanted.json"]
  }

  statement {
    sid       = "RunlakeMarker"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.archive.arn}/_runlake/"]
  }

  statement {
    sid       = "LayoutMarker"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.archive.arn}/_runlake.json"]
  }

  # PutObject too: when pyarrow deletes the last object under a "directory" it writes an
  # empty marker object (logs/<ns>/<uid>/) so the directory seems to survive.
  statement {
    sid     = "ExpireLogs"
    actions = ["s3:DeleteObject", "s3:PutObject"]
    resources = [
      "${aws_s3_bucket.archive.arn}/logs/*",
    ]
  }

  statement {
    sid       = "ConsumeInbox"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.archive.arn}/inbox/*"]
  }
}

locals {
  function_s3_policies = {
    ingest      = data.aws_iam_policy_document.ingest_s3.json
    query       = data.aws_iam_policy_document.query_s3.json
    materialize = data.aws_iam_policy_document.materialize_s3.json
    lifecycle   = data.aws_iam_policy_document.lifecycle_s3.json
  }
  function_environment = {
    ingest = {
      RUNLAKE_STORE                   = local.store_url
      RUNLAKE_MAX_BODY_BYTES          = tostring(var.max_body_bytes)
      RUNLAKE_INGEST_TOKENS_PARAMETER = aws_ssm_parameter.ingest_tokens.name
    }
    query = {
      RUNLAKE_STORE                  = local.store_url
      RUNLAKE_SQL_TIMEOUT_S          = tostring(var.sql_timeout_s)
      RUNLAKE_QUERY_TOKENS_PARAMETER = aws_ssm_parameter.query_tokens.name
    }
    materialize = {
      RUNLAKE_STORE         = local.store_url
      RUNLAKE_MATERIALIZE_S = tostring(var.materialize_interval_s)
    }
    lifecycle = {
      RUNLAKE_STORE         = local.store_url
      RUNLAKE_SQL_TIMEOUT_S = "600" # retention asks the views which runs expire
    }
  }
}

resource "aws_iam_role_policy" "function_base" {
  for_each = local.functions
  name     = "base"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.function_base[each.key].json
}

resource "aws_iam_role_policy" "function_store" {
  for_each = local.functions
  name     = "store"
  role     = aws_iam_role.function[each.key].id
  policy   = local.function_s3_policies[each.key]
}

resource "aws_lambda_function" "runlake" {
  # checkov:skip=CKV_AWS_117:The functions reach only S3, SSM and KMS over AWS endpoints; a VPC would add NAT or endpoints and nothing to protect.
  # checkov:skip=CKV_AWS_116:ingest and query are invoked synchronously by the HTTP API (a dead-letter queue applies only to asynchronous invocations); the scheduled writers (materializer, lifecycle) are safe to re-run and the next schedule does a failed invocation's work.
  # checkov:skip=CKV_AWS_272:Lambda code signing applies to .zip packages only; these functions run a container image from an ECR repository with immutable tags and scan on push.
  for_each      = local.functions
  function_name = "${var.name}-${each.key}"
  role          = aws_iam_role.function[each.key].arn
  package_type  = "Image"
  image_uri     = "${aws_ecr_repository.runlake.repository_url}:${var.image_tag}"
  architectures = ["x86_64"]
  memory_size   = each.value.memory
  timeout       = each.value.timeout
  kms_key_arn   = aws_kms_key.runlake.arn

  reserved_concurrent_executions = each.value.concurrency

  image_config {
    command = [each.value.command]
  }

  # DuckDB's scratch space and pyarrow's temporary files; 512 MB is Lambda's free default.
  ephemeral_storage {
    size = each.key == "ingest" ? 512 : 2048
  }

  environment {
    variables = local.function_environment[each.key]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  depends_on = [aws_iam_role_policy.function_base, aws_iam_role_policy.function_store]
}

# Scheduler invokes the materializer asynchronously. An event that cannot run at once (the
# previous invocation still holds the one reserved instance) is dropped instead of queued
# for retries: the next minute's invocation does the same work.
resource "aws_lambda_function_event_invoke_config" "materialize" {
  function_name                = aws_lambda_function.runlake["materialize"].function_name
  maximum_event_age_in_seconds = 60
  maximum_retry_attempts       = 0
}
