locals {
  # Every GPU type of the bot's catalog, with the machine family that carries it. N1 takes
  # the GPU as a guest_accelerator in the listed counts; A2, G2 and A3 machine types have
  # their GPUs built in, and the count follows from the machine type (builtin_gpus below).
  gpus = {
    "nvidia-tesla-t4"   = { family = "n1", attached_counts = [1, 2, 4] }
    "nvidia-tesla-p4"   = { family = "n1", attached_counts = [1, 2, 4] }
    "nvidia-tesla-p100" = { family = "n1", attached_counts = [1, 2, 4] }
    "nvidia-tesla-v100" = { family = "n1", attached_counts = [1, 2, 4, 8] }
    "nvidia-tesla-a100" = { family = "a2", attached_counts = [] }
    "nvidia-a100-80gb"  = { family = "a2", attached_counts = [] }
    "nvidia-l4"         = { family = "g2", attached_counts = [] }
    "nvidia-h100-80gb"  = { family = "a3", attached_counts = [] }
  }

  # Machine types with built-in GPUs: which GPU and how many.
  builtin_gpus = {
    "a2-highgpu-1g"  = { gpu = "nvidia-tesla-a100", count = 1 }
    "a2-highgpu-2g"  = { gpu = "nvidia-tesla-a100", count = 2 }
    "a2-highgpu-4g"  = { gpu = "nvidia-tesla-a100", count = 4 }
    "a2-highgpu-8g"  = { gpu = "nvidia-tesla-a100", count = 8 }
    "a2-megagpu-16g" = { gpu = "nvidia-tesla-a100", count = 16 }
    "a2-ultragpu-1g" = { gpu = "nvidia-a100-80gb", count = 1 }
    "a2-ultragpu-2g" = { gpu = "nvidia-a100-80gb", count = 2 }
    "a2-ultragpu-4g" = { gpu = "nvidia-a100-80gb", count = 4 }
    "a2-ultragpu-8g" = { gpu = "nvidia-a100-80gb", count = 8 }
    "g2-standard-4"  = { gpu = "nvidia-l4", count = 1 }
    "g2-standard-8"  = { gpu = "nvidia-l4", count = 1 }
    "g2-standard-12" = { gpu = "nvidia-l4", count = 1 }
    "g2-standard-16" = { gpu = "nvidia-l4", count = 1 }
    "g2-standard-32" = { gpu = "nvidia-l4", count = 1 }
    "g2-standard-24" = { gpu = "nvidia-l4", count = 2 }
    "g2-standard-48" = { gpu = "nvidia-l4", count = 4 }
    "g2-standard-96" = { gpu = "nvidia-l4", count = 8 }
    "a3-highgpu-1g"  = { gpu = "nvidia-h100-80gb", count = 1 }
    "a3-highgpu-2g"  = { gpu = "nvidia-h100-80gb", count = 2 }
    "a3-highgpu-4g"  = { gpu = "nvidia-h100-80gb", count = 4 }
    "a3-highgpu-8g"  = { gpu = "nvidia-h100-80gb", count = 8 }
  }

  machine_family = split("-", var.machine_type)[0]
  # try(): both tables are objects with differently shaped entries, and a missing key
  # must surface as the preconditions' messages below, not as an indexing error.
  gpu         = try(local.gpus[var.gpu_type], null)
  builtin     = try(local.builtin_gpus[var.machine_type], null)
  attach_gpus = local.machine_family == "n1"

  network_tag = "promptops-${var.deployment_name}"

  labels = merge(
    {
      "promptops-deployment" = var.deployment_name
      "managed-by"           = "promptops"
    },
    var.source_issue == "" ? {} : {
      # Label values allow lowercase letters, digits, '-' and '_' only, at most 63 characters.
      "promptops-issue" = substr(replace(lower(var.source_issue), "/[^a-z0-9_-]/", "_"), 0, 63)
    },
  )

  startup_script = templatefile("${path.module}/startup.sh.tftpl", {
    ca_public_key = trimspace(var.ssh_ca_public_key)
    ssh_user      = var.ssh_user
  })
}

resource "google_compute_instance" "vm" {
  count = var.vm_count

  name         = "${var.deployment_name}-${count.index}"
  machine_type = var.machine_type
  zone         = var.zone
  tags         = [local.network_tag]
  labels       = local.labels

  boot_disk {
    initialize_params {
      image = var.boot_image
      size  = var.boot_disk_size_gb
      type  = "pd-balanced"
    }
  }

  network_interface {
    network    = var.network
    subnetwork = var.subnetwork == "" ? null : var.subnetwork

    # An ephemeral public address: AAP reaches the VM over it, users reach the app on it.
    access_config {}
  }

  dynamic "guest_accelerator" {
    for_each = local.attach_gpus ? [1] : []
    content {
      type  = var.gpu_type
      count = var.gpu_count
    }
  }

  # Instances with GPUs cannot live-migrate.
  scheduling {
    on_host_maintenance = "TERMINATE"
    automatic_restart   = true
  }

  metadata = {
    # Only certificates from the deployment's Vault CA open the VM: no project-wide keys,
    # no OS Login keys.
    "block-project-ssh-keys" = "TRUE"
    "enable-oslogin"         = "FALSE"
  }
  metadata_startup_script = local.startup_script

  lifecycle {
    precondition {
      condition     = local.gpu != null
      error_message = "gpu_type ${var.gpu_type} is not handled by the compute module."
    }
    precondition {
      condition     = local.gpu == null ? true : local.gpu.family == local.machine_family
      error_message = "gpu_type ${var.gpu_type} needs a ${local.gpu == null ? "?" : local.gpu.family} machine type, not ${var.machine_type}."
    }
    precondition {
      condition = (local.attach_gpus
        ? contains(local.gpu == null ? [] : local.gpu.attached_counts, var.gpu_count)
      : local.builtin != null && try(local.builtin.gpu == var.gpu_type && local.builtin.count == var.gpu_count, false))
      error_message = "gpu_count ${var.gpu_count} of ${var.gpu_type} does not fit machine type ${var.machine_type}."
    }
  }
}
