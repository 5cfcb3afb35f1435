data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id  = data.aws_caller_identity.current.account_id
  bucket_name = var.bucket_name != "" ? var.bucket_name : "${var.name}-archive-${local.account_id}-${var.region}"
  # The store is the bucket's root (DESIGN: object layout, version 2): inbox/ (what ingest
  # accepted), tables/runs/ and tables/snapshots/ (the Delta tables), logs/, _runlake/ (the
  # writer's lease, the uid index, retention journals) and the layout marker _runlake.json;
  # Athena's results go beside them under athena-results/.
  store_url      = "s3://${aws_s3_bucket.archive.bucket}"
  athena_results = "athena-results/"
  glue_database  = replace(var.name, "-", "_")
  # The materializer is invoked every minute and stops starting cycles 15 s before its
  # timeout (runlake.lambda_lifecycle.MATERIALIZE_MARGIN_S), so with a 60 s timeout an
  # invocation is over before the next one is due: none is throttled by the reserved
  # concurrency of 1, and an inbox object waits well under a minute.
  materialize_timeout_s = 60
  functions = {
    ingest = {
      command     = "ingest.lambda_handler.handler"
      memory      = var.ingest_memory_mb
      timeout     = 30
      concurrency = var.ingest_concurrency
    }
    query = {
      command     = "query.http.lambda_handler.handler"
      memory      = var.query_memory_mb
      timeout     = 30
      concurrency = var.query_concurrency
    }
    materialize = {
      command     = "runlake.lambda_lifecycle.materialize"
      memory      = var.materialize_memory_mb
      timeout     = local.materialize_timeout_s
      concurrency = 1 # one materializer per store (the writer lease enforces it, too)
    }
    lifecycle = {
      command     = "runlake.lambda_lifecycle.handler"
      memory      = var.lifecycle_memory_mb
      timeout     = 900
      concurrency = 1 # compaction and retention never overlap on one store
    }
  }
}

# One customer-managed key for the bucket, the token parameters, the log groups, the
# functions' environment, the schedules' input and Athena's results.
resource "aws_kms_key" "runlake" {
  description             = "${var.name}: archive, tokens, logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "runlake" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.runlake.key_id
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key alone; the account statement is AWS's default key policy, which lets IAM policies grant use of the key.
  # checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key alone.
  # checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key alone; without the account statement the key would become unmanageable.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }
}
