variable "deployment_name" {
  description = "Prefix of the firewall rule names."
  type        = string
}

variable "network" {
  description = "VPC network."
  type        = string
}

variable "network_tag" {
  description = "Tag carried by the deployment's VMs."
  type        = string
}

variable "ssh_source_ranges" {
  description = "CIDR ranges allowed on port 22."
  type        = list(string)
}

variable "app_source_ranges" {
  description = "CIDR ranges allowed on the app port."
  type        = list(string)
}

variable "app_port" {
  description = "Port of the Streamlit app."
  type        = number
  default     = 8501
}
