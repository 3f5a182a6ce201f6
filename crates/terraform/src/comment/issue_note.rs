//! The short note an apply leaves on the issue that asked for the deployment: what
//! happened, the app addresses, whether the issue is closed, and a link to the full report
//! on the pull request (the log is not posted a second time).

use std::fmt::Write as _;

use super::steps::ApplyKind;
use super::{applied_counts, code, inline};
use crate::report::{ApplyOutcome, ApplyReport};

/// Where the note points and what it says about the issue.
#[derive(Debug, Clone)]
pub struct IssueNote<'a> {
    /// The pull request whose merge was applied.
    pub pr: u64,
    /// The first part of the full report on the pull request, when its address is known.
    pub report_url: Option<&'a str>,
    /// Whether the issue is being closed because the apply succeeded.
    pub closes_issue: bool,
}

/// Most app addresses listed in the note (the full report lists every output).
const MAX_LINKS: usize = 10;

pub fn render_issue_note(report: &ApplyReport, note: &IssueNote<'_>) -> String {
    let deployment = code(&report.plan.deployment);
    let kind = ApplyKind::of(report);
    let pr = note.pr;
    let title = format!("Terraform {} for `{deployment}` (#{pr})", kind.verb());
    let mut out = match report.outcome {
        ApplyOutcome::Applied => {
            format!(
                "### ✅ {title} — {}: {}\n\n",
                kind.past(),
                applied_counts(report)
            )
        }
        ApplyOutcome::NothingToApply => format!(
            "### ✅ {title}: nothing to {} (the infrastructure already matches)\n\n",
            kind.verb()
        ),
        ApplyOutcome::PlanFailed | ApplyOutcome::Failed => {
            let failure = report
                .failure
                .as_ref()
                .map_or_else(|| inline(&report.summary), |f| inline(&f.to_string()));
            format!("### ❌ {title}: failed — {failure}\n\n")
        }
    };
    let links: Vec<&str> = report
        .outputs
        .iter()
        .filter(|o| o.name == "app_urls" && !o.sensitive)
        .filter_map(|o| o.value.as_array())
        .flatten()
        .filter_map(|v| v.as_str())
        .filter(|url| super::outputs::link(url).is_some())
        .collect();
    if !links.is_empty() {
        out.push_str("Apps: ");
        let shown: Vec<String> = links
            .iter()
            .take(MAX_LINKS)
            .map(|u| format!("<{u}>"))
            .collect();
        out.push_str(&shown.join(" · "));
        if links.len() > MAX_LINKS {
            let _ = write!(out, " and {} more", links.len() - MAX_LINKS);
        }
        out.push_str("\n\n");
    }
    match note.report_url {
        Some(url) => {
            let _ = write!(
                out,
                "The full report (outputs, next steps, Terraform's output) is [on #{pr}]({}).",
                url.replace(['(', ')', ' '], "")
            );
        }
        None => {
            let _ = write!(out, "The full report is on #{pr}.");
        }
    }
    out.push(' ');
    out.push_str(if note.closes_issue {
        "This issue is now closed: what it asked for is in place. Comment `/promptops destroy` here when it is no longer needed."
    } else if matches!(report.outcome, ApplyOutcome::PlanFailed | ApplyOutcome::Failed) {
        "This issue stays open until the apply succeeds."
    } else {
        "This issue stays open."
    });
    out.push('\n');
    out
}
