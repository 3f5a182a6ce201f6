variable "deployment_name" {
  description = "Prefix of the VM names and the network tag."
  type        = string
}

variable "vm_count" {
  description = "Number of VMs."
  type        = number
}

variable "gpu_type" {
  description = "GPU catalog id."
  type        = string
}

variable "gpu_count" {
  description = "GPUs per VM."
  type        = number
}

variable "machine_type" {
  description = "GCE machine type."
  type        = string
}

variable "zone" {
  description = "GCE zone."
  type        = string
}

variable "boot_disk_size_gb" {
  description = "Boot disk size in GB."
  type        = number
}

variable "boot_image" {
  description = "Boot image."
  type        = string
}

variable "network" {
  description = "VPC network."
  type        = string
}

variable "subnetwork" {
  description = "Subnetwork; empty for the network's default."
  type        = string
}

variable "ssh_user" {
  description = "User the startup script creates for the configuration job."
  type        = string
}

variable "ssh_ca_public_key" {
  description = "Public key of the Vault SSH CA (TrustedUserCAKeys)."
  type        = string
}

variable "source_issue" {
  description = "Origin of the request, recorded as a label."
  type        = string
  default     = ""
}
