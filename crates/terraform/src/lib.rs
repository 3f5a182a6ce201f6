//! Terraform runner (init/plan/show/apply in per-run work dirs, timeouts, masking) and plan comment rendering.
