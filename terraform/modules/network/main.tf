# Two rules per deployment, both limited to the deployment's network tag: SSH only from the
# configuration runners, the app port only from the ranges allowed to use it.

resource "google_compute_firewall" "ssh" {
  name          = "${var.deployment_name}-ssh"
  network       = var.network
  direction     = "INGRESS"
  source_ranges = var.ssh_source_ranges
  target_tags   = [var.network_tag]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_firewall" "app" {
  name          = "${var.deployment_name}-app"
  network       = var.network
  direction     = "INGRESS"
  source_ranges = var.app_source_ranges
  target_tags   = [var.network_tag]

  allow {
    protocol = "tcp"
    ports    = [tostring(var.app_port)]
  }
}
