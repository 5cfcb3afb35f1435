locals {
  api_url = trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")
}

output "ingest_url" {
  description = "Tekton's sink (config-events `sink`) and the watcher's --sink: the ingest endpoint, with ?token= when token_in_ingest_url is true."
  value       = var.token_in_ingest_url ? "${local.api_url}/?token=${split(",", aws_ssm_parameter.ingest_tokens.value)[0]}" : "${local.api_url}/"
  sensitive   = true
}

output "ingest_endpoint" {
  description = "The ingest endpoint without a token (for terraform/kubernetes' ingest_url, or with an Authorization header)."
  value       = "${local.api_url}/"
}

output "ingest_token" {
  description = "The ingest token Terraform generated (send it as Authorization: Bearer or ?token=)."
  value       = aws_ssm_parameter.ingest_tokens.value
  sensitive   = true
}

output "query_url" {
  description = "The query service: web page at /, /v1/runs, /v1/sql, the Tekton Results API."
  value       = "${local.api_url}/"
}

output "query_token" {
  description = "The query token Terraform generated, allowed the namespaces in query_token_namespaces."
  value       = random_password.query_token.result
  sensitive   = true
}

output "bucket" {
  description = "The archive bucket; RUNLAKE_STORE for the CLI is s3://<bucket>."
  value       = aws_s3_bucket.archive.bucket
}

output "store_url" {
  description = "RUNLAKE_STORE for `runlake` commands run against this archive from a workstation."
  value       = local.store_url
}

output "ecr_repository_url" {
  description = "Where to push the image built by `make lambda` (tag it with image_tag)."
  value       = aws_ecr_repository.runlake.repository_url
}

output "athena_workgroup" {
  description = "The Athena workgroup to query the archive in."
  value       = aws_athena_workgroup.runlake.name
}

output "glue_database" {
  description = "The Glue database holding the Delta tables `runs` and `snapshots` (query them in athena_workgroup)."
  value       = aws_glue_catalog_database.runlake.name
}

output "kms_key_arn" {
  description = "The key encrypting the bucket, tokens and logs; Athena users need kms:Decrypt on it."
  value       = aws_kms_key.runlake.arn
}
