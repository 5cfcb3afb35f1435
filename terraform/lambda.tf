# The one image (built by `make lambda`) runs all three functions; each names its handler.
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

# Ingest writes new records and step logs; it reads nothing but a listing (readiness).
data "aws_iam_policy_document" "ingest_s3" {
  statement {
    sid       = "List"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.archive.arn]
  }

  statement {
    sid     = "WriteRecordsAndLogs"
    actions = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [
      "${aws_s3_bucket.archive.arn}/records/*",
      "${aws_s3_bucket.archive.arn}/logs/*",
    ]
  }

  statement {
    sid       = "IngestTokens"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.ingest_tokens.arn]
  }
}

# Query only reads.
data "aws_iam_policy_document" "query_s3" {
  statement {
    sid       = "List"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.archive.arn]
  }

  statement {
    sid     = "ReadRecordsAndLogs"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.archive.arn}/records/*",
      "${aws_s3_bucket.archive.arn}/logs/*",
    ]
  }

  statement {
    sid       = "QueryTokens"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.query_tokens.arn]
  }
}

# Compaction rewrites records/; retention also deletes logs/; both keep their journals and
# the layout marker under _runlake.
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
      "${aws_s3_bucket.archive.arn}/records/*",
      "${aws_s3_bucket.archive.arn}/logs/*",
      "${aws_s3_bucket.archive.arn}/_runlake/*",
      "${aws_s3_bucket.archive.arn}/_runlake.json",
    ]
  }

  statement {
    sid     = "RewriteRecords"
    actions = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.archive.arn}/records/*",
      "${aws_s3_bucket.archive.arn}/_runlake/*",
    ]
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
}

locals {
  function_s3_policies = {
    ingest    = data.aws_iam_policy_document.ingest_s3.json
    query     = data.aws_iam_policy_document.query_s3.json
    lifecycle = data.aws_iam_policy_document.lifecycle_s3.json
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
    lifecycle = {
      RUNLAKE_STORE         = local.store_url
      RUNLAKE_SQL_TIMEOUT_S = "600"
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
  # checkov:skip=CKV_AWS_116:ingest and query are invoked synchronously by the HTTP API (a dead-letter queue applies only to asynchronous invocations); the lifecycle job is retried by its schedule and is safe to re-run.
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
