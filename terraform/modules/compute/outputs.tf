output "names" {
  description = "VM names."
  value       = google_compute_instance.vm[*].name
}

output "external_ips" {
  description = "Public IPv4 addresses, in VM order."
  value       = google_compute_instance.vm[*].network_interface[0].access_config[0].nat_ip
}

output "network_tag" {
  description = "Network tag the firewall rules target."
  value       = local.network_tag
}
