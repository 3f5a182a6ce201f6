//! One-line summaries for reports when Terraform printed none (or failed).

use crate::capture::RunOutput;
use crate::report::{ChangeCounts, FailureReason, StepFailure};

/// The plan's one-line summary. "No changes." only when no resource and no output
/// changes and no action is invoked; Terraform's own `Plan:` line when it says everything
/// (it does not count outputs); otherwise built from the plan JSON's counts, e.g.
/// `Plan: 0 to add, 0 to change, 0 to destroy; 1 output change.`
pub(crate) fn plan_summary(
    counts: &ChangeCounts,
    actions: usize,
    printed: Option<String>,
) -> String {
    if !counts.changes_anything() && actions == 0 {
        return printed
            .filter(|line| line.starts_with("No changes."))
            .unwrap_or_else(|| "No changes.".into());
    }
    if let Some(line) = printed.filter(|line| line.starts_with("Plan: "))
        && counts.outputs == 0
    {
        return line;
    }
    let mut line = format!(
        "Plan: {} to add, {} to change, {} to destroy",
        counts.create + counts.replace,
        counts.update,
        counts.delete + counts.replace
    );
    if counts.outputs > 0 {
        let plural = if counts.outputs == 1 { "" } else { "s" };
        line.push_str(&format!("; {} output change{plural}", counts.outputs));
    }
    line.push('.');
    if actions > 0 {
        line.push_str(&format!(" Actions: {actions} to invoke."));
    }
    line
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_changes_are_not_no_changes() {
        let counts = ChangeCounts {
            outputs: 1,
            ..ChangeCounts::default()
        };
        assert_eq!(
            plan_summary(&counts, 0, None),
            "Plan: 0 to add, 0 to change, 0 to destroy; 1 output change."
        );
        let printed = Some("No changes. Your infrastructure matches the configuration.".into());
        assert_eq!(
            plan_summary(&counts, 0, printed),
            "Plan: 0 to add, 0 to change, 0 to destroy; 1 output change."
        );
    }

    #[test]
    fn resources_outputs_and_actions_are_all_named() {
        let counts = ChangeCounts {
            create: 2,
            outputs: 3,
            ..ChangeCounts::default()
        };
        let printed = Some("Plan: 2 to add, 0 to change, 0 to destroy.".into());
        assert_eq!(
            plan_summary(&counts, 1, printed),
            "Plan: 2 to add, 0 to change, 0 to destroy; 3 output changes. Actions: 1 to invoke."
        );
        assert_eq!(
            plan_summary(&ChangeCounts::default(), 1, None),
            "Plan: 0 to add, 0 to change, 0 to destroy. Actions: 1 to invoke."
        );
    }

    #[test]
    fn nothing_changing_is_no_changes() {
        assert_eq!(
            plan_summary(&ChangeCounts::default(), 0, None),
            "No changes."
        );
        let printed = "No changes. Your infrastructure matches the configuration.".to_owned();
        assert_eq!(
            plan_summary(&ChangeCounts::default(), 0, Some(printed.clone())),
            printed
        );
    }
}
