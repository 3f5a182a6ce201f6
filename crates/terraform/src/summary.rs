//! One-line summaries for reports when Terraform printed none (or failed).

use crate::capture::RunOutput;
use crate::report::{ChangeCounts, FailureReason, StepFailure};

/// `Plan: ...` built from counts, when Terraform printed no summary line.
pub(crate) fn counts_summary(counts: &ChangeCounts) -> String {
    if !counts.has_changes() {
        return "No changes.".into();
    }
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        counts.create + counts.replace,
        counts.update,
        counts.delete + counts.replace
    )
}

/// What failed, with Terraform's first `Error:` line when there is one.
pub(crate) fn failure_summary(failure: &StepFailure, output: &RunOutput) -> String {
    let text = output.text();
    let error = text
        .lines()
        .map(|line| line.trim_start_matches(['│', '╷', '╵', ' ']))
        .find(|line| line.starts_with("Error: "));
    match error {
        Some(line) if !matches!(failure.reason, FailureReason::TimedOut { .. }) => {
            format!("{failure}: {line}")
        }
        _ => failure.to_string(),
    }
}
