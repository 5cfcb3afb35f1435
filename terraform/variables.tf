variable "region" {
  description = "AWS region for every resource, e.g. eu-west-1."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name (functions, roles, API, Glue database as name_with_underscores)."
  type        = string
  default     = "runlake"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2 to 31 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "image_tag" {
  description = "Tag of the runlake Lambda image in the ECR repository this module creates (build it with `make lambda`, push it, then apply). Tags are immutable: use a new tag per build, e.g. the git commit."
  type        = string
}

variable "bucket_name" {
  description = "Name of the archive bucket; empty: <name>-archive-<account id>-<region>."
  type        = string
  default     = ""
}

variable "versioning" {
  description = "Keep S3 versions of overwritten and deleted objects (compaction and retention delete files, so old versions cost storage until noncurrent_version_days expires them)."
  type        = bool
  default     = true
}

variable "noncurrent_version_days" {
  description = "Days after which S3 deletes noncurrent (replaced or deleted) object versions."
  type        = number
  default     = 30
}

variable "logs_transition_days" {
  description = "Days after which step logs (logs/) move to logs_storage_class."
  type        = number
  default     = 30
}

variable "logs_storage_class" {
  description = "The cheaper S3 storage class logs/ moves to after logs_transition_days (STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR)."
  type        = string
  default     = "STANDARD_IA"

  validation {
    condition     = contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], var.logs_storage_class)
    error_message = "logs_storage_class must stay readable at once: STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR."
  }
}

variable "abort_multipart_days" {
  description = "Days after which S3 aborts incomplete multipart uploads (a writer killed mid-upload)."
  type        = number
  default     = 1
}

variable "athena_results_days" {
  description = "Days Athena query results are kept under athena-results/."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Retention of the functions' and the API's CloudWatch log groups, in days."
  type        = number
  default     = 365
}

variable "ingest_memory_mb" {
  description = "Memory of the ingest function (CPU grows with it)."
  type        = number
  default     = 1024
}

variable "query_memory_mb" {
  description = "Memory of the query function; DuckDB uses it for large scans."
  type        = number
  default     = 2048
}

variable "materialize_memory_mb" {
  description = "Memory of the materializer function; it holds one cycle's inbox rows (up to 5,000 objects) while it commits them."
  type        = number
  default     = 2048
}

variable "materialize_interval_s" {
  description = "RUNLAKE_MATERIALIZE_S of the materializer: the pause between its cycles within one invocation."
  type        = number
  default     = 5
}

variable "lifecycle_memory_mb" {
  description = "Memory of the compaction and retention function; OPTIMIZE z-orders one partition's rows in memory."
  type        = number
  default     = 3008
}

variable "ingest_concurrency" {
  description = "Reserved concurrent executions of the ingest function (upper bound on parallel writers)."
  type        = number
  default     = 50
}

variable "query_concurrency" {
  description = "Reserved concurrent executions of the query function."
  type        = number
  default     = 20
}

variable "sql_timeout_s" {
  description = "RUNLAKE_SQL_TIMEOUT_S of the query function; the HTTP API answers 503 after 30 s whatever this says."
  type        = number
  default     = 25
}

variable "max_body_bytes" {
  description = "RUNLAKE_MAX_BODY_BYTES of ingest; Lambda itself refuses request payloads over 6 MB."
  type        = number
  default     = 6000000
}

variable "lifecycle_schedule" {
  description = "When compaction (OPTIMIZE, VACUUM, checkpoint), then retention, runs: an EventBridge Scheduler expression."
  type        = string
  default     = "rate(1 hour)"
}

variable "compaction_older_than" {
  description = "Compaction leaves partitions written to more recently than this alone (90s, 10m, 1.5h, 7d, 2w; a bare number is days)."
  type        = string
  default     = "1h"
}

variable "retention_policy" {
  description = "Retention policy in Tekton Results' shape (YAML), applied after each compaction; empty keeps everything forever."
  type        = string
  default     = ""
}

variable "token_in_ingest_url" {
  description = "Put the ingest token into the ingest_url output as ?token=, because Tekton's sink is a bare URL."
  type        = bool
  default     = true
}

variable "clusters" {
  description = "The clusters whose runs this archive keeps: one ingest token each (RUNLAKE_INGEST_TOKENS token=cluster), and every run is filed under its cluster. DNS-1123 labels, e.g. [\"prod-eu\", \"staging\"]."
  type        = list(string)
  default     = ["default"]

  validation {
    condition     = length(var.clusters) > 0 && length(distinct(var.clusters)) == length(var.clusters) && alltrue([for c in var.clusters : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", c))])
    error_message = "clusters must be one or more distinct DNS-1123 labels (a-z, 0-9 and '-', at most 63), e.g. [\"prod-eu\", \"staging\"]."
  }
}

variable "query_token_namespaces" {
  description = "What the generated query token may read: namespaces (in every cluster), cluster/namespace, cluster/* for all of one cluster; [\"*\"] for everything."
  type        = list(string)
  default     = ["*"]
}

variable "access_log_bucket" {
  description = "Existing bucket that receives the archive bucket's S3 server access logs; empty: none."
  type        = string
  default     = ""
}
