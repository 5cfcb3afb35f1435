terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.35"
    }
  }
}

# A root module of its own (apply it after ../ with `-var ingest_url=...`), so it can carry
# its provider configuration; point it at the cluster with a kubeconfig.
provider "kubernetes" {
  config_path    = var.kubeconfig
  config_context = var.kube_context != "" ? var.kube_context : null
}
