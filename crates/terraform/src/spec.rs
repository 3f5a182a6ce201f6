//! What a run works on: the source tree, the module, the deployment's var file and backend.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;

use crate::error::RunnerError;

/// Where the Terraform code comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A gzip tarball as GitHub serves it (`/repos/{o}/{r}/tarball/{sha}`): one top-level
    /// directory, which is stripped.
    Tarball(Bytes),
    /// An existing checkout; it is copied, never modified.
    Directory(PathBuf),
}

/// What a plan computes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PlanMode {
    /// Bring the deployment's resources to the configuration (`terraform plan`).
    #[default]
    Normal,
    /// Destroy every resource in the deployment's state (`terraform plan -destroy`). The
    /// var file is still read when the source has it: the configuration's required
    /// variables (and providers) need values even to destroy.
    Destroy,
}

impl PlanMode {
    pub fn is_destroy(self) -> bool {
        self == PlanMode::Destroy
    }
}

/// One deployment's run: the source, where the root module is, which var file, which state.
#[derive(Debug, Clone)]
pub struct PlanSpec {
    pub source: Source,
    /// Root module, relative to the source root (e.g. `terraform`).
    pub module_dir: PathBuf,
    /// Var file relative to the module dir (e.g. `deployments/<name>/terraform.tfvars`).
    pub var_file: PathBuf,
    /// Each becomes `-backend-config=KEY=VALUE` at init; `{deployment}` in a value is
    /// replaced by the deployment name.
    pub backend_config: Vec<(String, String)>,
    /// Deployment name; runs of one deployment never overlap.
    pub deployment: String,
    /// The commit the source was taken at (shown in reports, never interpreted).
    pub commit: Option<String>,
    /// What [`Runner::plan`](crate::Runner::plan) and [`Runner::apply`](crate::Runner::apply)
    /// compute; [`Runner::destroy`](crate::Runner::destroy) always destroys.
    pub mode: PlanMode,
}

impl PlanSpec {
    /// A spec with the conventional layout: module `terraform`, var file
    /// `deployments/<deployment>/terraform.tfvars`, no backend config, a normal plan.
    pub fn new(source: Source, deployment: &str) -> PlanSpec {
        PlanSpec {
            source,
            module_dir: PathBuf::from("terraform"),
            var_file: PathBuf::from(format!("deployments/{deployment}/terraform.tfvars")),
            backend_config: Vec::new(),
            deployment: deployment.to_owned(),
            commit: None,
            mode: PlanMode::Normal,
        }
    }

    /// The same run in `mode` (e.g. a destroy plan for review).
    pub fn with_mode(mut self, mode: PlanMode) -> PlanSpec {
        self.mode = mode;
        self
    }

    /// Checks names and paths before anything runs.
    pub fn validate(&self) -> Result<(), RunnerError> {
        check_deployment_name(&self.deployment)?;
        check_relative("module_dir", &self.module_dir)?;
        check_relative("var_file", &self.var_file)?;
        for (key, _) in &self.backend_config {
            let valid = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(RunnerError::InvalidSpec {
                    field: "backend_config",
                    value: key.clone(),
                    message: "keys may hold only letters, digits, '_' and '-'".into(),
                });
            }
        }
        Ok(())
    }

    /// The `-backend-config=KEY=VALUE` arguments with `{deployment}` substituted.
    pub fn backend_args(&self) -> Vec<String> {
        self.backend_config
            .iter()
            .map(|(key, value)| {
                format!(
                    "-backend-config={key}={}",
                    value.replace("{deployment}", &self.deployment)
                )
            })
            .collect()
    }
}

/// `name` as a deployment name, or why it is not one.
pub(crate) fn check_deployment_name(name: &str) -> Result<(), RunnerError> {
    if is_valid_deployment_name(name) {
        return Ok(());
    }
    Err(RunnerError::InvalidSpec {
        field: "deployment",
        value: name.to_owned(),
        message: "must match ^[a-z][a-z0-9-]{0,38}$".into(),
    })
}

/// Deployment names as the rest of PromptOps accepts them.
pub fn is_valid_deployment_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 39
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn check_relative(field: &'static str, path: &Path) -> Result<(), RunnerError> {
    let escapes = path.as_os_str().is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(RunnerError::InvalidSpec {
            field,
            value: path.display().to_string(),
            message: "must be a relative path without '..'".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names_and_paths() {
        let mut spec = PlanSpec::new(Source::Directory("/x".into()), "gpu-box-1");
        spec.backend_config = vec![("path".into(), "/state/{deployment}.tfstate".into())];
        spec.validate().unwrap();
        assert_eq!(
            spec.backend_args(),
            vec!["-backend-config=path=/state/gpu-box-1.tfstate"]
        );
        assert_eq!(
            spec.var_file,
            PathBuf::from("deployments/gpu-box-1/terraform.tfvars")
        );

        let mut bad = spec.clone();
        bad.deployment = "../etc".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("deployment")
        );
        let mut bad = spec.clone();
        bad.var_file = "../../secrets.tfvars".into();
        assert!(bad.validate().unwrap_err().to_string().contains("var_file"));
        let mut bad = spec.clone();
        bad.module_dir = "/abs".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("module_dir")
        );
        let mut bad = spec;
        bad.backend_config = vec![("a=b".into(), "c".into())];
        assert!(bad.validate().is_err());
    }
}
