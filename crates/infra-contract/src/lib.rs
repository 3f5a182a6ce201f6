//! Contract tests between the renderer (`promptops-core`) and the repository's `terraform/`
//! and `ansible/` directories. The crate has no code of its own: everything is in `tests/`.
//!
//! - `tests/terraform_contract.rs` parses the `.tf` files with hcl-rs and checks them against
//!   the renderer and the catalog; it also runs `terraform fmt -check -recursive`.
//! - `tests/root_module_plan.rs` runs `terraform init`, `validate` and `plan` of the module
//!   with Terraform 1.15.5 and the stand-in providers of `tools/standin-providers` (the
//!   environment printed by `scripts/setup-terraform.sh`).
//! - `tests/ansible_playbook.rs` runs `ansible-playbook --syntax-check`, `ansible-lint`, and
//!   the playbook end to end against a real `sshd` on loopback and a Vault-API stand-in
//!   (`tests/support/vault_standin.py`). It needs the environment printed by
//!   `scripts/setup-ansible.sh`.
