//! The configuration job of a run that did not succeed: found in Terraform's output (the
//! aap provider names the job), described by the AAP controller when PromptOps may read
//! it, for the run's comment and check.

use promptops_terraform::ApplyReport;
use promptops_terraform::aap_job::failed_job;
use promptops_terraform::comment::{ConfigurationFailure, render_configuration_failure};

use super::Handlers;

/// What the run's output says of a failed configuration job, if one failed.
pub(super) async fn find(h: &Handlers, report: &ApplyReport) -> Option<ConfigurationFailure> {
    let job = failed_job(&report.output.text())?;
    Some(match &h.aap {
        Some(aap) => aap.describe(&job).await,
        None => ConfigurationFailure {
            job,
            job_page: None,
            hosts: Vec::new(),
            hosts_unknown: Some(
                "set PROMPTOPS_AAP_URL and PROMPTOPS_AAP_TOKEN to have them here".into(),
            ),
        },
    })
}

/// `summary` with the failure's block under it, for a check run.
pub(super) fn with_block(summary: String, failure: Option<&ConfigurationFailure>) -> String {
    match failure {
        Some(failure) => format!("{summary}\n\n{}", render_configuration_failure(failure)),
        None => summary,
    }
}
