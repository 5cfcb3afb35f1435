# Athena reads the archive in place: the `records` table's partitions are projected from
# kind and date (no crawler, no MSCK REPAIR), so a new partition is queryable the moment
# ingest writes it.
resource "aws_glue_catalog_database" "runlake" {
  name        = local.glue_database
  description = "runlake: Tekton run history archived by ${var.name}"
}

locals {
  # Must equal layout.schema.RECORDS_SCHEMA (tests/terraform checks it), in Hive types.
  records_columns = [
    { name = "uid", type = "string" },
    { name = "namespace", type = "string" },
    { name = "name", type = "string" },
    { name = "cluster", type = "string" },
    { name = "kind", type = "string" },
    { name = "api_version", type = "string" },
    { name = "status", type = "string" },
    { name = "reason", type = "string" },
    { name = "message", type = "string" },
    { name = "pipeline", type = "string" },
    { name = "pipeline_run", type = "string" },
    { name = "task", type = "string" },
    { name = "pipeline_task", type = "string" },
    { name = "created_at", type = "timestamp" },
    { name = "started_at", type = "timestamp" },
    { name = "completed_at", type = "timestamp" },
    { name = "duration_seconds", type = "double" },
    { name = "labels", type = "map<string,string>" },
    { name = "annotations", type = "map<string,string>" },
    { name = "resource_version", type = "string" },
    { name = "event_type", type = "string" },
    { name = "event_id", type = "string" },
    { name = "source", type = "string" },
    { name = "received_at", type = "timestamp" },
    { name = "object", type = "string" },
  ]
  records_location = "s3://${aws_s3_bucket.archive.bucket}/records/"
}

resource "aws_glue_catalog_table" "records" {
  name          = "records"
  database_name = aws_glue_catalog_database.runlake.name
  description   = "One row per received snapshot of a TaskRun, PipelineRun or CustomRun (see DESIGN: the records table)"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                           = "TRUE"
    classification                     = "parquet"
    "parquet.compression"              = "ZSTD"
    "projection.enabled"               = "true"
    "projection.partition_kind.type"   = "enum"
    "projection.partition_kind.values" = "taskrun,pipelinerun,customrun"
    "projection.date.type"             = "date"
    "projection.date.format"           = "yyyy-MM-dd"
    "projection.date.range"            = "2018-01-01,NOW"
    "projection.date.interval"         = "1"
    "projection.date.interval.unit"    = "DAYS"
    "storage.location.template"        = "${local.records_location}kind=$${partition_kind}/date=$${date}"
  }

  # The files already have a `kind` column (TaskRun, PipelineRun, CustomRun) and Hive allows
  # no partition key of the same name, so the key's kind= part is projected as partition_kind.
  partition_keys {
    name    = "partition_kind"
    type    = "string"
    comment = "the kind= part of the key: taskrun, pipelinerun or customrun"
  }

  partition_keys {
    name    = "date"
    type    = "string"
    comment = "UTC date of the run's creationTimestamp, YYYY-MM-DD"
  }

  storage_descriptor {
    location      = local.records_location
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      name                  = "parquet"
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters = {
        "serialization.format" = "1"
      }
    }

    dynamic "columns" {
      for_each = local.records_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_athena_workgroup" "runlake" {
  name          = var.name
  description   = "Queries over the runlake archive; results under athena-results/ of the archive bucket"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true

    result_configuration {
      output_location = "s3://${aws_s3_bucket.archive.bucket}/${local.athena_results}"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.runlake.arn
      }
    }
  }
}
