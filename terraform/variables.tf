# ---------------------------------------------------------------------------------------
# Request variables: written by the PromptOps renderer into
# deployments/<name>/terraform.tfvars, exactly these seven attributes. The validation blocks
# repeat the rules of the bot's catalog that Terraform can express, so that a hand-edited
# tfvars file is held to the same rules as a rendered one.
# ---------------------------------------------------------------------------------------

variable "deployment_name" {
  description = "Name of the deployment; prefixes every VM, firewall rule and Vault object it owns."
  type        = string

  # GCP names cannot end with a dash; two dashes in a row would break the bot's comment keys.
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}$", var.deployment_name)) && can(regex("^[a-z](-?[a-z0-9])*$", var.deployment_name))
    error_message = "deployment_name must match ^[a-z][a-z0-9-]{0,38}$ (a lowercase letter, then up to 38 lowercase letters, digits or dashes), not end with a dash and not contain two dashes in a row."
  }
}

variable "vm_count" {
  description = "Number of identical VMs."
  type        = number

  validation {
    condition     = var.vm_count >= 1 && var.vm_count <= var.max_vm_count && floor(var.vm_count) == var.vm_count
    error_message = "vm_count must be a whole number from 1 to max_vm_count."
  }
}

variable "gpu_type" {
  description = "GPU catalog id (the GCP accelerator type)."
  type        = string

  validation {
    condition = contains([
      "nvidia-tesla-t4",
      "nvidia-tesla-p4",
      "nvidia-tesla-p100",
      "nvidia-tesla-v100",
      "nvidia-tesla-a100",
      "nvidia-a100-80gb",
      "nvidia-l4",
      "nvidia-h100-80gb",
    ], var.gpu_type)
    error_message = "gpu_type must be one of nvidia-tesla-t4, nvidia-tesla-p4, nvidia-tesla-p100, nvidia-tesla-v100, nvidia-tesla-a100, nvidia-a100-80gb, nvidia-l4, nvidia-h100-80gb."
  }
}

variable "gpu_count" {
  description = "GPUs per VM: attached to N1 machines, or the number built into an A2/G2/A3 machine type (checked against machine_type by the compute module)."
  type        = number

  validation {
    condition     = contains([1, 2, 4, 8, 16], var.gpu_count)
    error_message = "gpu_count must be 1, 2, 4, 8 or 16 (N1 takes 1, 2 or 4 GPUs, 8 for V100; built-in counts follow the machine type)."
  }
}

variable "machine_type" {
  description = "GCE machine type: n1-* with attached GPUs, or a2-*/g2-*/a3-* with built-in GPUs."
  type        = string

  validation {
    condition     = can(regex("^(n1|a2|g2|a3)-[a-z]+-[0-9]+g?$", var.machine_type))
    error_message = "machine_type must be an N1, A2, G2 or A3 machine type such as n1-standard-4, a2-highgpu-1g, g2-standard-8 or a3-highgpu-8g."
  }
}

variable "zone" {
  description = "GCE zone, e.g. us-central1-a; it must offer gpu_type."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", var.zone))
    error_message = "zone must be a GCE zone name such as us-central1-a."
  }
}

variable "boot_disk_size_gb" {
  description = "Boot disk size per VM in GB."
  type        = number

  validation {
    condition     = var.boot_disk_size_gb >= 10 && var.boot_disk_size_gb <= 10000 && floor(var.boot_disk_size_gb) == var.boot_disk_size_gb
    error_message = "boot_disk_size_gb must be a whole number from 10 to 10000."
  }
}

# ---------------------------------------------------------------------------------------
# Environment variables: set once per installation by the platform team (a shared
# *.auto.tfvars file or TF_VAR_* in the bot's environment), never by the renderer.
# ---------------------------------------------------------------------------------------

variable "project" {
  description = "GCP project that holds the VMs and firewall rules."
  type        = string
}

variable "max_vm_count" {
  description = "Upper bound for vm_count; keep it at or above the bot's policy max_vms."
  type        = number
  default     = 20
}

variable "source_issue" {
  description = "Where the request came from (e.g. \"owner/repo#12\"); recorded as a VM label after sanitising."
  type        = string
  default     = ""
}

variable "network" {
  description = "VPC network of the VMs and firewall rules."
  type        = string
  default     = "default"
}

variable "subnetwork" {
  description = "Subnetwork of the VMs; empty for the network's auto subnet in the region."
  type        = string
  default     = ""
}

variable "boot_image" {
  description = "Boot image of the VMs. The startup script and the playbook expect a Debian/Ubuntu family image."
  type        = string
  default     = "debian-cloud/debian-12"
}

variable "ssh_source_ranges" {
  description = "CIDR ranges allowed to reach port 22 (the AAP execution nodes)."
  type        = list(string)

  validation {
    condition     = length(var.ssh_source_ranges) > 0 && alltrue([for r in var.ssh_source_ranges : can(cidrhost(r, 0)) && r != "0.0.0.0/0"])
    error_message = "ssh_source_ranges must be a non-empty list of CIDR ranges, and not 0.0.0.0/0."
  }
}

variable "app_source_ranges" {
  description = "CIDR ranges allowed to reach the Streamlit app on port 8501."
  type        = list(string)

  validation {
    condition     = length(var.app_source_ranges) > 0 && alltrue([for r in var.app_source_ranges : can(cidrhost(r, 0))])
    error_message = "app_source_ranges must be a non-empty list of CIDR ranges."
  }
}

variable "ssh_user" {
  description = "The only login the SSH CA signs certificates for; created on the VMs by the startup script."
  type        = string
  default     = "promptops"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.ssh_user)) && var.ssh_user != "root"
    error_message = "ssh_user must be a POSIX user name (^[a-z_][a-z0-9_-]{0,31}$) other than root."
  }
}

variable "vault_address" {
  description = "Vault address, e.g. https://vault.example.internal:8200 (also given to the playbook)."
  type        = string

  validation {
    condition     = can(regex("^https?://", var.vault_address))
    error_message = "vault_address must start with http:// or https://."
  }
}

variable "vault_namespace" {
  description = "Vault Enterprise/HCP namespace; empty when namespaces are not used."
  type        = string
  default     = ""
}

variable "vault_approle_mount" {
  description = "Path of the AppRole auth method, enabled once per Vault (see README)."
  type        = string
  default     = "approle"
}

variable "ssh_cert_ttl" {
  description = "Default and requested TTL of an SSH certificate (a Vault duration)."
  type        = string
  default     = "30m"
}

variable "ssh_cert_max_ttl" {
  description = "Longest TTL the SSH role signs."
  type        = string
  default     = "1h"
}

variable "secret_id_wrapping_ttl" {
  description = "How long the response-wrapped AppRole secret_id handed to AAP stays unwrappable."
  type        = string
  default     = "30m"
}

variable "aap_host" {
  description = "AAP (or AWX) URL, e.g. https://aap.example.internal."
  type        = string
}

variable "aap_insecure_skip_verify" {
  description = "Skip TLS verification towards AAP (only for a lab with a self-signed certificate)."
  type        = bool
  default     = false
}

variable "aap_job_template_id" {
  description = "Job template running ansible/install_streamlit.yml; it must prompt on launch for variables (and inventory when aap_inventory_id is set)."
  type        = number
}

variable "aap_inventory_id" {
  description = "Inventory for the job (only localhost is used: the playbook adds the VMs itself); null for the template's own."
  type        = number
  default     = null
}

# The job's budget on a GPU VM's first boot: the playbook waits up to connect_timeout (600 s)
# for the VM to come up and trust the CA (image boot, GPU driver install), then installs
# packages and Streamlit (minutes) and waits up to app_start_timeout (120 s) for the app.
# The whole apply must still end within the bot's Terraform timeout
# (PROMPTOPS_TERRAFORM_TIMEOUT_SECS, 1800 s by default), VM creation included; a job that
# has not finished by then fails the action, and `/promptops configure` runs it again.
variable "aap_wait_timeout_seconds" {
  description = "How long Terraform waits for the configuration job (covering a GPU VM's first boot and the installs)."
  type        = number
  default     = 1500

  validation {
    condition     = var.aap_wait_timeout_seconds >= 900
    error_message = "aap_wait_timeout_seconds must be at least 900: the playbook alone may wait 600 s for a booting VM and 120 s for the app, installs not counted."
  }
}
