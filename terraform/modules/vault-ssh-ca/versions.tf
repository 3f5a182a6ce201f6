terraform {
  required_providers {
    vault = {
      source = "hashicorp/vault"
    }
  }
}
