//! Errors that stop a run before Terraform could report anything useful. A Terraform
//! failure (bad variable, provider error, timeout) is not an error here: it is a report
//! with a failed outcome, because its output belongs in the comment.

use std::path::PathBuf;

use crate::version::TerraformVersion;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("invalid {field} {value:?}: {message}")]
    InvalidSpec {
        field: &'static str,
        value: String,
        message: String,
    },
    #[error("invalid runner setting {setting}: {message}")]
    InvalidConfig {
        setting: &'static str,
        message: String,
    },
    #[error("the source tarball was rejected: {0}")]
    BadTarball(String),
    #[error("the source directory {path} could not be copied: {message}")]
    BadSourceDir { path: PathBuf, message: String },
    #[error("the module directory {0} does not exist in the source")]
    MissingModule(PathBuf),
    #[error("the var file {0} does not exist in the module directory")]
    MissingVarFile(PathBuf),
    /// The sandbox every run needs cannot be used (bubblewrap missing or unable to isolate,
    /// the message of its [`crate::sandbox::SandboxError`]): no run goes ahead without it.
    #[error("Terraform was not started, because its sandbox cannot be used: {0}")]
    SandboxUnusable(String),
    #[error("terraform at {bin} could not be run: {message}")]
    TerraformUnavailable { bin: PathBuf, message: String },
    #[error(
        "terraform {found} at {bin} is too old: {reason} needs >= {required}; install a newer terraform or point TERRAFORM_BIN at one"
    )]
    TerraformTooOld {
        bin: PathBuf,
        found: TerraformVersion,
        required: TerraformVersion,
        reason: String,
    },
    /// The cause's text is in the message and not also `source()`: printed with anyhow's
    /// `{:#}`, it would appear twice.
    #[error("could not {what}: {cause}")]
    Io { what: String, cause: std::io::Error },
    #[error("`terraform show -json` output could not be read: {0}")]
    BadPlanJson(String),
    #[error(
        "renewing {renewed} before invoking the action would also change {others}: the deployment differs from its configuration; apply the configuration first (nothing was changed), then invoke the action again"
    )]
    RenewalWouldChangeMore { renewed: String, others: String },
}

impl RunnerError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunnerError {
        let what = what.into();
        move |cause| RunnerError::Io { what, cause }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_error_names_its_cause_once() {
        let err = RunnerError::io("create the run's work dir")(std::io::Error::from(
            std::io::ErrorKind::PermissionDenied,
        ));
        assert_eq!(
            err.to_string(),
            "could not create the run's work dir: permission denied"
        );
        // Error reporters append every source after the message: none is left to repeat.
        assert!(std::error::Error::source(&err).is_none());
    }
}
