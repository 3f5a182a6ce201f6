output "vm_names" {
  description = "Names of the deployment's VMs."
  value       = module.compute.names
}

output "vm_ips" {
  description = "Public IPv4 addresses of the VMs, in the order of vm_names."
  value       = module.compute.external_ips
}

output "app_urls" {
  description = "Streamlit app URL of each VM."
  value       = [for ip in module.compute.external_ips : "http://${ip}:${local.app_port}"]
}

output "firewall_rules" {
  description = "Firewall rules of the deployment."
  value       = module.network.firewall_names
}

output "vault_ssh_mount" {
  description = "Vault SSH secrets engine of the deployment."
  value       = module.vault_ssh_ca.mount_path
}

output "ssh_ca_public_key" {
  description = "Public key the VMs trust for user certificates."
  value       = module.vault_ssh_ca.ca_public_key
}
