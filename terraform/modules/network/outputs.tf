output "firewall_names" {
  description = "Names of the firewall rules."
  value       = [google_compute_firewall.ssh.name, google_compute_firewall.app.name]
}
