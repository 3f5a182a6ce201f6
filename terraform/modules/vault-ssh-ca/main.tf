# One SSH certificate authority per deployment: the deployment's VMs trust only their own
# CA, so a certificate issued for one deployment opens no other. Every path and name below
# carries the deployment name, so deployments side by side never collide.

locals {
  mount_path    = "ssh-${var.deployment_name}"
  ssh_role_name = var.deployment_name
  approle_name  = "promptops-${var.deployment_name}"
  policy_name   = "promptops-${var.deployment_name}-ssh-issue"
}

resource "vault_mount" "ssh" {
  path        = local.mount_path
  type        = "ssh"
  description = "SSH user CA of the PromptOps deployment ${var.deployment_name}"
}

resource "vault_ssh_secret_backend_ca" "this" {
  backend              = vault_mount.ssh.path
  generate_signing_key = true
}

resource "vault_ssh_secret_backend_role" "user" {
  name     = local.ssh_role_name
  backend  = vault_mount.ssh.path
  key_type = "ca"

  allow_user_certificates = true
  allow_host_certificates = false
  allowed_users           = var.ssh_user
  default_user            = var.ssh_user
  default_extensions      = { "permit-pty" = "" }
  allowed_extensions      = "permit-pty"
  algorithm_signer        = "rsa-sha2-256"
  ttl                     = var.cert_ttl
  max_ttl                 = var.cert_max_ttl

  depends_on = [vault_ssh_secret_backend_ca.this]
}

resource "vault_policy" "ssh_issue" {
  name   = local.policy_name
  policy = <<-EOT
    # Issue certificates from this deployment's role, nothing else.
    path "${vault_mount.ssh.path}/issue/${vault_ssh_secret_backend_role.user.name}" {
      capabilities = ["create", "update"]
    }
  EOT
}

resource "vault_approle_auth_backend_role" "configure" {
  backend        = var.approle_mount
  role_name      = local.approle_name
  token_policies = [vault_policy.ssh_issue.name]

  # One playbook run = one login = one certificate.
  secret_id_num_uses = 1
  secret_id_ttl      = var.secret_id_ttl_seconds
  token_ttl          = 900
  token_max_ttl      = 1800
  token_type         = "service"
}
