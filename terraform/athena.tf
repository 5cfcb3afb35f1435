# Athena reads the two Delta tables in place. A Glue table marked table_type=DELTA is all
# Athena (engine version 3) needs: it reads the schema, the partitions and the current file
# list from the table's _delta_log at query time, so a commit of the materializer is
# queryable at once and nothing (crawler, MSCK REPAIR, partition projection, manifest) has
# to follow the tables. Without that marker Athena would read the location as a plain
# Parquet table, files removed from the table but not yet vacuumed included.
resource "aws_glue_catalog_database" "runlake" {
  name        = local.glue_database
  description = "runlake: Tekton run history archived by ${var.name}"
}

locals {
  # The columns both tables have (layout.schema.TABLE_SCHEMA, in Hive types; tests/terraform
  # checks they agree). Athena does not read them from here; they describe the tables to
  # the Glue console and other catalog readers.
  table_columns = [
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
    { name = "pipeline_run_uid", type = "string" },
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
    { name = "date", type = "string" },
  ]
  delta_tables = {
    runs      = { path = "tables/runs/", description = "One row per run: its latest snapshot (DESIGN: the runs view)" }
    snapshots = { path = "tables/snapshots/", description = "Every stored snapshot of a TaskRun, PipelineRun or CustomRun, each event_id once" }
  }
}

resource "aws_glue_catalog_table" "delta" {
  for_each      = local.delta_tables
  name          = each.key
  database_name = aws_glue_catalog_database.runlake.name
  description   = "${each.value.description}; a Delta table partitioned by kind and date"
  table_type    = "EXTERNAL_TABLE"

  # table_type=DELTA is what Athena recognises a Delta table by; spark.sql.sources.provider
  # is what Spark (EMR, Glue jobs) and Trino recognise one by in Glue.
  parameters = {
    EXTERNAL                     = "TRUE"
    table_type                   = "DELTA"
    "spark.sql.sources.provider" = "delta"
  }

  # No partition keys: the partitions (kind, date) are in the Delta log, not in Glue.
  storage_descriptor {
    location = "s3://${aws_s3_bucket.archive.bucket}/${each.value.path}"

    dynamic "columns" {
      for_each = local.table_columns
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

    # Athena reads Delta tables natively only in engine version 3.
    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${aws_s3_bucket.archive.bucket}/${local.athena_results}"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.runlake.arn
      }
    }
  }
}
