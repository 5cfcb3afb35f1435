variable "kubeconfig" {
  description = "Path of the kubeconfig for the cluster running Tekton."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "Context in the kubeconfig; empty: its current context."
  type        = string
  default     = ""
}

variable "cluster" {
  description = "This cluster's name in the archive (one of ../'s `clusters`). The watcher sends it (`runlake watch --cluster`) and ingest refuses it unless ingest_token is that cluster's, so a token applied to the wrong context is caught; Tekton's sink leaves it to the token. Empty: the token alone decides."
  type        = string
  default     = ""

  validation {
    condition     = var.cluster == "" || can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.cluster))
    error_message = "cluster must be a DNS-1123 label (a-z, 0-9 and '-', at most 63), or empty."
  }
}

variable "ingest_url" {
  description = "The ingest endpoint without a token: `terraform output -raw ingest_endpoint` of ../, or the URL of your own ingest service."
  type        = string
}

variable "ingest_token" {
  description = "This cluster's ingest token (its entry of `terraform output -json ingest_tokens` of ../); kept in a Secret for the watcher and added to Tekton's sink as ?token=."
  type        = string
  sensitive   = true
}

variable "configure_tekton_events" {
  description = "Set `sink` in Tekton's config-events ConfigMap (namespace tekton_namespace) so Tekton sends its CloudEvents to ingest."
  type        = bool
  default     = true
}

variable "tekton_namespace" {
  description = "Namespace of Tekton Pipelines' controller and its config-events ConfigMap."
  type        = string
  default     = "tekton-pipelines"
}

variable "install_watcher" {
  description = "Run the runlake watcher (snapshots and step logs, optional pruning) as a Deployment."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace the watcher runs in (created by this module)."
  type        = string
  default     = "runlake"
}

variable "image" {
  description = "The runlake image by digest, <repo>@sha256:... (the image `make lambda` builds serves here too)."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must name a digest: <repository>@sha256:<64 hex digits>."
  }
}

variable "prune_after" {
  description = "Delete runs from the cluster this long after they completed and were archived (90s, 10m, 1.5h, 7d, 2w; a bare number is days); empty: never prune, and the watcher gets no delete permission."
  type        = string
  default     = ""
}

variable "watch_namespaces" {
  description = "Namespaces to watch; empty: all."
  type        = list(string)
  default     = []
}

variable "selector" {
  description = "Label selector restricting the watched runs, e.g. app=ci; empty: all."
  type        = string
  default     = ""
}
