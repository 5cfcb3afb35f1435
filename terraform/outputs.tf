locals {
  api_url       = trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")
  ingest_tokens = { for cluster in var.clusters : cluster => random_password.ingest_token[cluster].result }

  ingest_urls = {
    for cluster, token in local.ingest_tokens :
    cluster => var.token_in_ingest_url ? "${local.api_url}/?token=${token}" : "${local.api_url}/"
  }
}

output "ingest_url" {
  description = "Tekton's sink (config-events `sink`) for the first of `clusters`: the ingest endpoint, with ?token= when token_in_ingest_url is true (ingest_urls has every cluster's)."
  value       = local.ingest_urls[var.clusters[0]]
  sensitive   = true
}

output "ingest_urls" {
  description = "Tekton's sink per cluster: the ingest endpoint with that cluster's ?token= (when token_in_ingest_url is true)."
  value       = local.ingest_urls
  sensitive   = true
}

output "ingest_tokens" {
  description = "The ingest token of each cluster (terraform/kubernetes' ingest_token for that cluster's context)."
  value       = local.ingest_tokens
  sensitive   = true
}

output "ingest_endpoint" {
  description = "The ingest endpoint without a token (for terraform/kubernetes' ingest_url, or with an Authorization header)."
  value       = "${local.api_url}/"
}

output "ingest_token" {
  description = "The ingest token of the first of `clusters` (send it as Authorization: Bearer or ?token=); ingest_tokens has every cluster's."
  value       = local.ingest_tokens[var.clusters[0]]
  sensitive   = true
}

output "query_url" {
  description = "The query service: web page at /, /v1/runs, /v1/sql, the Tekton Results API."
  value       = "${local.api_url}/"
}

output "query_token" {
  description = "The query token Terraform generated, allowed what query_token_namespaces names."
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
