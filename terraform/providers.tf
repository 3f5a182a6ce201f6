provider "google" {
  project = var.project
  region  = local.region
  zone    = var.zone
}

# The token comes from VAULT_TOKEN (or the login method configured in the environment of
# the process running Terraform); it is never written to the configuration.
provider "vault" {
  address   = var.vault_address
  namespace = var.vault_namespace == "" ? null : var.vault_namespace
}

# The token comes from AAP_TOKEN (or AAP_USERNAME/AAP_PASSWORD).
provider "aap" {
  host                 = var.aap_host
  insecure_skip_verify = var.aap_insecure_skip_verify
}
