locals {
  region   = regex("^(.+)-[a-z]$", var.zone)[0]
  app_port = 8501
}

module "vault_ssh_ca" {
  source = "./modules/vault-ssh-ca"

  deployment_name = var.deployment_name
  ssh_user        = var.ssh_user
  cert_ttl        = var.ssh_cert_ttl
  cert_max_ttl    = var.ssh_cert_max_ttl
  approle_mount   = var.vault_approle_mount
}

module "compute" {
  source = "./modules/compute"

  deployment_name   = var.deployment_name
  vm_count          = var.vm_count
  gpu_type          = var.gpu_type
  gpu_count         = var.gpu_count
  machine_type      = var.machine_type
  zone              = var.zone
  boot_disk_size_gb = var.boot_disk_size_gb
  boot_image        = var.boot_image
  network           = var.network
  subnetwork        = var.subnetwork
  ssh_user          = var.ssh_user
  ssh_ca_public_key = module.vault_ssh_ca.ca_public_key
  source_issue      = var.source_issue
}

module "network" {
  source = "./modules/network"

  deployment_name   = var.deployment_name
  network           = var.network
  network_tag       = module.compute.network_tag
  ssh_source_ranges = var.ssh_source_ranges
  app_source_ranges = var.app_source_ranges
  app_port          = local.app_port
}

# Actions can only be triggered from a managed resource's lifecycle in the module that
# declares them, hence this resource in the root module. Its input changes whenever the
# set of VM addresses changes (VMs added, removed or recreated) and whenever a new wrapped
# secret_id is minted, and each such change launches the configuration job again.
resource "terraform_data" "aap_trigger" {
  input = {
    vm_ips             = module.compute.external_ips
    secret_id_accessor = vault_approle_auth_backend_role_secret_id.configure.wrapping_accessor
  }

  lifecycle {
    action_trigger {
      events  = [after_create, after_update]
      actions = [action.aap_job_launch.configure_vm]
    }
  }

  depends_on = [module.network]
}
