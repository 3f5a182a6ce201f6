output "mount_path" {
  description = "Path of the SSH secrets engine (the playbook calls <mount_path>/issue/<role>)."
  value       = vault_mount.ssh.path
}

output "ssh_role_name" {
  description = "Name of the SSH role that signs user certificates."
  value       = vault_ssh_secret_backend_role.user.name
}

output "ca_public_key" {
  description = "Public key of the CA, installed as TrustedUserCAKeys on the VMs."
  value       = vault_ssh_secret_backend_ca.this.public_key
}

output "approle_backend" {
  description = "Path of the AppRole auth method."
  value       = vault_approle_auth_backend_role.configure.backend
}

output "approle_role_name" {
  description = "Name of the AppRole role allowed to issue certificates."
  value       = vault_approle_auth_backend_role.configure.role_name
}

output "approle_role_id" {
  description = "role_id of that AppRole (not a secret on its own)."
  value       = vault_approle_auth_backend_role.configure.role_id
}
