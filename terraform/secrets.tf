# The tokens live in SSM as SecureStrings under the archive key; the functions read them at
# start (RUNLAKE_*_TOKENS_PARAMETER names them), so no token is a plain variable or appears
# in a function's configuration.
#
# One ingest token per cluster, bound to it (RUNLAKE_INGEST_TOKENS="tok1=prod-eu,tok2=staging"),
# so every run is filed under the cluster that sent it. Terraform owns that parameter: adding a
# cluster adds its token; rotate one with
# `terraform apply -replace='random_password.ingest_token["prod-eu"]'`.
resource "random_password" "ingest_token" {
  for_each = toset(var.clusters)
  length   = 40
  special  = false
}

# The single token of earlier versions becomes the `default` cluster's.
moved {
  from = random_password.ingest_token
  to   = random_password.ingest_token["default"]
}

resource "random_password" "query_token" {
  length  = 40
  special = false
}

resource "aws_ssm_parameter" "ingest_tokens" {
  name        = "/${var.name}/ingest-tokens"
  description = "RUNLAKE_INGEST_TOKENS: token=cluster, comma-separated, one per cluster"
  type        = "SecureString"
  key_id      = aws_kms_key.runlake.arn
  value       = join(",", [for cluster in var.clusters : "${random_password.ingest_token[cluster].result}=${cluster}"])
}

# The query token (its value is yours to change: Terraform writes it once) reads
# query_token_namespaces, a readable list where entries may name a cluster (prod-eu/team-a).

resource "aws_ssm_parameter" "query_tokens" {
  name        = "/${var.name}/query-tokens"
  description = "RUNLAKE_QUERY_TOKENS: token=ns1,cluster/ns2,cluster/*;token2=* (what each token may read)"
  type        = "SecureString"
  key_id      = aws_kms_key.runlake.arn
  value       = "${random_password.query_token.result}=${join(",", var.query_token_namespaces)}"

  lifecycle {
    ignore_changes = [value]
  }
}
