variable "deployment_name" {
  description = "Deployment whose CA, role, AppRole and policy these are."
  type        = string
}

variable "ssh_user" {
  description = "The only principal certificates are signed for."
  type        = string
}

variable "cert_ttl" {
  description = "Default TTL of a certificate."
  type        = string
}

variable "cert_max_ttl" {
  description = "Longest TTL a certificate may ask for."
  type        = string
}

variable "approle_mount" {
  description = "Path of the (shared) AppRole auth method."
  type        = string
}

variable "secret_id_ttl_seconds" {
  description = "Lifetime of an unwrapped secret_id, in seconds."
  type        = number
  default     = 3600
}
