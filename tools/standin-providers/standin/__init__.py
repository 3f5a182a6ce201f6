"""Stand-in Terraform providers speaking the real plugin protocol 6 (see ../README.md)."""
