terraform {
  # Terraform Actions (the `action` block and `lifecycle.action_trigger`) exist from 1.14;
  # 1.14.0 ran after_* actions before the resource was complete, hence 1.14.1.
  required_version = ">= 1.14.1"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
    vault = {
      source  = "hashicorp/vault"
      version = ">= 4.0, < 6.0"
    }
    aap = {
      # The aap_job_launch action comes with 1.4.0.
      source  = "ansible/aap"
      version = ">= 1.4.0"
    }
  }

  # Partial configuration: the bucket and a per-deployment prefix are given at init, e.g.
  #   terraform init -backend-config="bucket=<state bucket>" \
  #                  -backend-config="prefix=promptops/<deployment_name>"
  backend "gcs" {}
}
