locals {
  pruning   = var.prune_after != ""
  sink_url  = "${var.ingest_url}${strcontains(var.ingest_url, "?") ? "&" : "?"}token=${var.ingest_token}"
  run_verbs = local.pruning ? ["get", "list", "watch", "patch", "delete"] : ["get", "list", "watch", "patch"]
  watcher_args = concat(
    ["watch", "--sink", var.ingest_url, "--metrics-port", "9090"],
    var.cluster != "" ? ["--cluster", var.cluster] : [],
    flatten([for ns in var.watch_namespaces : ["--namespace", ns]]),
    var.selector != "" ? ["--selector", var.selector] : [],
    local.pruning ? ["--prune-after", var.prune_after] : [],
  )
  labels = { "app.kubernetes.io/name" = "runlake-watcher", "app.kubernetes.io/part-of" = "runlake" }
}

# Tekton owns config-events: set only its `sink` key, leaving the rest (formats) as installed.
resource "kubernetes_config_map_v1_data" "tekton_events" {
  count = var.configure_tekton_events ? 1 : 0
  metadata {
    name      = "config-events"
    namespace = var.tekton_namespace
  }
  data = {
    sink = local.sink_url
  }
  force = true
}

resource "kubernetes_namespace_v1" "runlake" {
  count = var.install_watcher ? 1 : 0
  metadata {
    name   = var.namespace
    labels = local.labels
  }
}

resource "kubernetes_secret_v1" "token" {
  count = var.install_watcher ? 1 : 0
  metadata {
    name      = "runlake-watcher"
    namespace = kubernetes_namespace_v1.runlake[0].metadata[0].name
    labels    = local.labels
  }
  data = {
    token = var.ingest_token
  }
}

resource "kubernetes_service_account_v1" "watcher" {
  count = var.install_watcher ? 1 : 0
  metadata {
    name      = "runlake-watcher"
    namespace = kubernetes_namespace_v1.runlake[0].metadata[0].name
    labels    = local.labels
  }
  automount_service_account_token = false
}

# Least privilege: read and annotate runs (patch marks them archived), delete them only when
# pruning is on, and read the pods' logs of their steps.
resource "kubernetes_cluster_role_v1" "watcher" {
  count = var.install_watcher ? 1 : 0
  metadata {
    name   = "runlake-watcher"
    labels = local.labels
  }
  rule {
    api_groups = ["tekton.dev"]
    resources  = ["taskruns", "pipelineruns", "customruns"]
    verbs      = local.run_verbs
  }
  rule {
    api_groups = [""]
    resources  = ["pods", "pods/log"]
    verbs      = ["get"]
  }
}

resource "kubernetes_cluster_role_binding_v1" "watcher" {
  count = var.install_watcher ? 1 : 0
  metadata {
    name   = "runlake-watcher"
    labels = local.labels
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "ClusterRole"
    name      = kubernetes_cluster_role_v1.watcher[0].metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.watcher[0].metadata[0].name
    namespace = kubernetes_namespace_v1.runlake[0].metadata[0].name
  }
}

resource "kubernetes_deployment_v1" "watcher" {
  # checkov:skip=CKV_K8S_14:The image comes from var.image, whose validation accepts only a digest reference (<repo>@sha256:...).
  # checkov:skip=CKV_K8S_43:The image comes from var.image, whose validation accepts only a digest reference (<repo>@sha256:...).
  # checkov:skip=CKV_K8S_35:`runlake watch` takes its token from RUNLAKE_SINK_TOKEN (or --token, which would show in the process list); the Secret reaches only this container.
  count = var.install_watcher ? 1 : 0
  metadata {
    name      = "runlake-watcher"
    namespace = kubernetes_namespace_v1.runlake[0].metadata[0].name
    labels    = local.labels
  }

  spec {
    # One watcher per cluster: two would send every snapshot twice and race on pruning.
    replicas = 1
    strategy {
      type = "Recreate"
    }
    selector {
      match_labels = local.labels
    }

    template {
      metadata {
        labels = local.labels
      }

      spec {
        service_account_name = kubernetes_service_account_v1.watcher[0].metadata[0].name
        # The watcher talks to the API server, so it needs its token: mounted here only.
        automount_service_account_token = true
        security_context {
          run_as_non_root = true
          run_as_user     = 65532
          run_as_group    = 65532
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "watcher"
          image             = var.image
          image_pull_policy = "Always"
          # The image's entrypoint is the Lambda runtime's; the watcher is the CLI.
          command = ["runlake"]
          args    = local.watcher_args

          env {
            name = "RUNLAKE_SINK_TOKEN"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.token[0].metadata[0].name
                key  = "token"
              }
            }
          }
          env {
            name  = "HOME"
            value = "/tmp"
          }

          port {
            name           = "metrics"
            container_port = 9090
          }

          liveness_probe {
            http_get {
              path = "/metrics"
              port = "metrics"
            }
            period_seconds = 30
          }

          readiness_probe {
            http_get {
              path = "/metrics"
              port = "metrics"
            }
            period_seconds = 10
          }

          resources {
            requests = {
              cpu    = "50m"
              memory = "128Mi"
            }
            limits = {
              cpu    = "500m"
              memory = "512Mi"
            }
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            privileged                 = false
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "tmp"
          empty_dir {
            size_limit = "256Mi"
          }
        }
      }
    }
  }
}
