output "sink" {
  description = "The sink Tekton's events controller now sends to (token included)."
  value       = local.sink_url
  sensitive   = true
}

output "watcher_cluster_role" {
  description = "The watcher's ClusterRole; it has delete on runs only when prune_after is set."
  value       = var.install_watcher ? kubernetes_cluster_role_v1.watcher[0].metadata[0].name : null
}
