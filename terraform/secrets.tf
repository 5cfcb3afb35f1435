# The tokens live in SSM as SecureStrings under the archive key; the functions read them at
# start (RUNLAKE_*_TOKENS_PARAMETER names them), so no token is a plain variable or appears
# in a function's configuration. Terraform generates the first ones; rotate with
# `aws ssm put-parameter --overwrite` (Terraform then leaves the value alone).
resource "random_password" "ingest_token" {
  length  = 40
  special = false
}

resource "random_password" "query_token" {
  length  = 40
  special = false
}

resource "aws_ssm_parameter" "ingest_tokens" {
  name        = "/${var.name}/ingest-tokens"
  description = "RUNLAKE_INGEST_TOKENS: comma-separated bearer tokens accepted by ingest"
  type        = "SecureString"
  key_id      = aws_kms_key.runlake.arn
  value       = random_password.ingest_token.result

  lifecycle {
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "query_tokens" {
  name        = "/${var.name}/query-tokens"
  description = "RUNLAKE_QUERY_TOKENS: token=ns1,ns2;token2=* (which namespaces each token may read)"
  type        = "SecureString"
  key_id      = aws_kms_key.runlake.arn
  value       = "${random_password.query_token.result}=${join(",", var.query_token_namespaces)}"

  lifecycle {
    ignore_changes = [value]
  }
}
