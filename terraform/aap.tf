# The configuration job: AAP runs ansible/install_streamlit.yml, which logs in to Vault with
# the AppRole below, has a short-lived SSH certificate issued, and configures the VMs with it.

# Tracks the VM addresses, so that a change of them mints a fresh secret_id (below).
resource "terraform_data" "targets" {
  input = module.compute.external_ips
}

# A secret_id handed over response-wrapped: AAP's extra_vars (and this state) only ever hold
# a single-use wrapping token that expires after secret_id_wrapping_ttl, and the secret_id
# inside it allows a single login (secret_id_num_uses = 1 on the role).
resource "vault_approle_auth_backend_role_secret_id" "configure" {
  backend      = module.vault_ssh_ca.approle_backend
  role_name    = module.vault_ssh_ca.approle_role_name
  wrapping_ttl = var.secret_id_wrapping_ttl
  metadata     = jsonencode({ deployment = var.deployment_name })

  lifecycle {
    replace_triggered_by = [terraform_data.targets]
  }
}

locals {
  configure_extra_vars = {
    deployment_name     = var.deployment_name
    target_hosts        = join(",", module.compute.external_ips)
    ssh_user            = var.ssh_user
    vault_addr          = var.vault_address
    vault_namespace     = var.vault_namespace
    vault_approle_mount = module.vault_ssh_ca.approle_backend
    vault_role_id       = module.vault_ssh_ca.approle_role_id
    vault_wrapped_secret_id = (
      vault_approle_auth_backend_role_secret_id.configure.wrapping_token
    )
    vault_ssh_mount = module.vault_ssh_ca.mount_path
    vault_ssh_role  = module.vault_ssh_ca.ssh_role_name
    ssh_cert_ttl    = var.ssh_cert_ttl
    app_port        = local.app_port
  }
}

action "aap_job_launch" "configure_vm" {
  config {
    job_template_id                     = var.aap_job_template_id
    inventory_id                        = var.aap_inventory_id
    extra_vars                          = jsonencode(local.configure_extra_vars)
    wait_for_completion                 = true
    wait_for_completion_timeout_seconds = var.aap_wait_timeout_seconds
  }
}
