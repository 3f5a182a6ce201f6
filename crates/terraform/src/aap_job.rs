//! The configuration job a Terraform run launched and that did not succeed, read from the
//! `ansible/aap` provider's diagnostic in Terraform's output: `AAP job <status>` with the
//! detail `API Path: <controller path of the job>` (the provider's job_launch_action.go).
//! It is an error when the job fails the action (the default) and a warning with
//! `ignore_job_results`: either way the job is found.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// `AAP job failed` … `API Path: /api/controller/v2/jobs/7/`, on one line (Terraform's
/// `Error when invoking action` detail) or on the diagnostic's following lines.
static FAILED_JOB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"AAP job (failed|error|canceled)\b[^\n]*(?:\n[^\n]*){0,6}?API Path: (/\S*?/jobs/(\d+)/)",
    )
    .expect("failed AAP job pattern")
});

/// How a job ended other than successfully (the controller's final states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobEnd {
    Failed,
    Error,
    Canceled,
}

impl JobEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            JobEnd::Failed => "failed",
            JobEnd::Error => "error",
            JobEnd::Canceled => "canceled",
        }
    }
}

/// A job of the AAP controller that ended without success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJob {
    pub id: u64,
    /// The job's path on the controller, e.g. `/api/controller/v2/jobs/7/`.
    pub api_path: String,
    pub end: JobEnd,
}

/// The last job Terraform's output reports as not successful.
pub fn failed_job(output: &str) -> Option<FailedJob> {
    let found = FAILED_JOB.captures_iter(output).last()?;
    let end = match &found[1] {
        "failed" => JobEnd::Failed,
        "error" => JobEnd::Error,
        _ => JobEnd::Canceled,
    };
    Some(FailedJob {
        id: found[3].parse().ok()?,
        api_path: found[2].to_owned(),
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_and_the_warning_form_are_both_found() {
        let fatal = "Error: Error when invoking action\n\n  with action.aap_job_launch.configure_vm,\n\nAAP job failed: API Path: /api/controller/v2/jobs/2/\n";
        assert_eq!(
            failed_job(fatal),
            Some(FailedJob {
                id: 2,
                api_path: "/api/controller/v2/jobs/2/".into(),
                end: JobEnd::Failed
            })
        );
        let warning = "Warning: AAP job canceled\n\n  with action.aap_job_launch.configure_vm,\n\nAPI Path: /api/v2/jobs/31/\n\nApply complete! Resources: 0 added, 0 changed, 0 destroyed. Actions: 1 invoked.\n";
        let job = failed_job(warning).unwrap();
        assert_eq!((job.id, job.end), (31, JobEnd::Canceled));
        assert_eq!(job.api_path, "/api/v2/jobs/31/");
    }

    #[test]
    fn a_successful_job_or_none_is_no_failure() {
        assert_eq!(
            failed_job("AAP job /api/controller/v2/jobs/2/ successful\nApply complete!"),
            None
        );
        assert_eq!(failed_job("Error: Partially applied configuration"), None);
    }
}
