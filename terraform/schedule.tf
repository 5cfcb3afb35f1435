# Two schedules invoke the writer functions; both commit under the store's writer lease
# (_runlake/lease.json), so they take turns: a lifecycle run asks for the lease
# (_runlake/lease-wanted.json) and the materializer hands it over at the end of its cycle.

# The materializer, every minute: each invocation runs cycles until shortly before its
# timeout. A missed or late minute is simply the next minute's work, so nothing is retried
# or queued (see the event invoke config in lambda.tf).
resource "aws_scheduler_schedule" "materialize" {
  name                = "${var.name}-materialize"
  schedule_expression = "rate(1 minute)"
  kms_key_arn         = aws_kms_key.runlake.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.runlake["materialize"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({})

    retry_policy {
      maximum_retry_attempts       = 0
      maximum_event_age_in_seconds = 60
    }
  }
}

# Compaction, then retention, in one invocation: the two never overlap on one store (the
# function's reserved concurrency of 1 makes sure of it, too).
resource "aws_scheduler_schedule" "lifecycle" {
  name                = "${var.name}-lifecycle"
  schedule_expression = var.lifecycle_schedule
  kms_key_arn         = aws_kms_key.runlake.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.runlake["lifecycle"].arn
    role_arn = aws_iam_role.scheduler.arn
    input = jsonencode(merge(
      { older_than = var.compaction_older_than },
      var.retention_policy != "" ? { retention_policy = var.retention_policy } : {},
    ))

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }
  }
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    actions = ["lambda:InvokeFunction"]
    resources = [
      aws_lambda_function.runlake["materialize"].arn,
      aws_lambda_function.runlake["lifecycle"].arn,
    ]
  }

  # The schedules' input is encrypted under the archive key.
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.runlake.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-writers"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}
