//! GitHub comments for plan and apply reports: status, deployment, commit, summary,
//! a table of resource changes, actions, outputs, next steps, and the output in a
//! collapsible `diff` block, split to fit GitHub's 65,536-character limit.
//!
//! Each comment starts with a hidden marker
//! (`<!-- promptops:plan deployment=<name> part=i/n -->`) so that the previous comment for
//! a deployment can be found and updated.

pub mod markdown;
pub mod split;

use std::fmt::Write as _;

use crate::report::{
    ApplyOutcome, ApplyReport, ChangeAction, OutputValue, PlanOutcome, PlanReport,
};
use split::{Document, split};

/// GitHub rejects issue and PR comment bodies longer than this (HTTP 422).
pub use promptops_core::github::COMMENT_LIMIT_CHARS as GITHUB_COMMENT_LIMIT;

/// Limits for rendering.
#[derive(Debug, Clone)]
pub struct CommentOptions {
    /// Largest comment in bytes (kept well under [`GITHUB_COMMENT_LIMIT`]).
    pub max_chars: usize,
    /// Most comments posted for one report; beyond that the start of the output is cut.
    pub max_comments: usize,
    /// Most rows in the resource table; the rest are counted ("and N more").
    pub max_table_rows: usize,
    /// Replaces the default next steps when set.
    pub next_steps: Option<Vec<String>>,
}

impl Default for CommentOptions {
    fn default() -> Self {
        CommentOptions {
            max_chars: 60_000,
            max_comments: 10,
            max_table_rows: 50,
            next_steps: None,
        }
    }
}

/// Rows of Terraform outputs shown in an apply comment (keeps the header bounded).
const MAX_OUTPUT_ROWS: usize = 30;

/// The kinds of comment the marker distinguishes.
pub const KIND_PLAN: &str = "plan";
pub const KIND_APPLY: &str = "apply";

/// The hidden marker at the top of every comment part.
pub fn marker(kind: &str, deployment: &str, part: usize, total: usize) -> String {
    format!("<!-- promptops:{kind} deployment={deployment} part={part}/{total} -->")
}

/// The comments for a plan (each under `opts.max_chars`, balanced Markdown).
pub fn render_plan_comments(report: &PlanReport, opts: &CommentOptions) -> Vec<String> {
    let what = if report.destroy {
        "destroy plan"
    } else {
        "plan"
    };
    let (icon, status) = match (report.outcome, report.destroy) {
        (PlanOutcome::Changes, false) => ("📝", "changes to apply"),
        (PlanOutcome::Changes, true) => ("🗑️", "resources to destroy"),
        (PlanOutcome::NoChanges, false) => ("✅", "no changes"),
        (PlanOutcome::NoChanges, true) => ("✅", "nothing to destroy"),
        (PlanOutcome::Failed, _) => ("❌", "failed"),
    };
    let mut header = String::new();
    let _ = writeln!(
        header,
        "### {icon} Terraform {what} for `{}`: {status}\n",
        code(&report.deployment)
    );
    write_facts(
        &mut header,
        &report.deployment,
        report.commit.as_deref(),
        report,
    );
    let _ = writeln!(header, "**{}**\n", inline(&report.summary));
    write_change_table(&mut header, report, opts);
    write_actions(&mut header, report, "Actions to invoke");
    let steps = opts
        .next_steps
        .clone()
        .unwrap_or_else(|| default_plan_steps(report));
    write_next_steps(&mut header, &steps);
    split(
        Document {
            kind: KIND_PLAN,
            deployment: &report.deployment,
            header,
            title: format!("Terraform {what} for `{}`", code(&report.deployment)),
            output_label: format!("Terraform {what} output"),
            output: &report.output.text(),
        },
        opts,
    )
}

/// The comments for an apply, destroy or invoke.
pub fn render_apply_comments(report: &ApplyReport, opts: &CommentOptions) -> Vec<String> {
    let plan = &report.plan;
    let what = if plan.destroy {
        "destroy"
    } else if plan
        .actions
        .iter()
        .any(|a| a.event.as_deref() == Some("invoke"))
    {
        "configure"
    } else {
        "apply"
    };
    let (icon, status) = match report.outcome {
        ApplyOutcome::Applied => ("✅", "done"),
        ApplyOutcome::NothingToApply => ("✅", "nothing to apply"),
        ApplyOutcome::PlanFailed => ("❌", "plan failed, nothing applied"),
        ApplyOutcome::Failed => ("❌", "failed"),
    };
    let mut header = String::new();
    let _ = writeln!(
        header,
        "### {icon} Terraform {what} for `{}`: {status}\n",
        code(&plan.deployment)
    );
    write_facts(&mut header, &plan.deployment, plan.commit.as_deref(), plan);
    let _ = writeln!(header, "**{}**\n", inline(&report.summary));
    if let Some(actions) = &report.actions_summary {
        let _ = writeln!(header, "**{}**\n", inline(actions));
    }
    write_change_table(&mut header, plan, opts);
    write_actions(&mut header, plan, "Actions");
    write_outputs(&mut header, &report.outputs);
    let steps = opts
        .next_steps
        .clone()
        .unwrap_or_else(|| default_apply_steps(report));
    write_next_steps(&mut header, &steps);
    // The apply output when there is one; otherwise the plan's (e.g. a failed plan).
    let output = if report.output.total_bytes > 0 {
        &report.output
    } else {
        &plan.output
    };
    split(
        Document {
            kind: KIND_APPLY,
            deployment: &plan.deployment,
            header,
            title: format!("Terraform {what} for `{}`", code(&plan.deployment)),
            output_label: format!("Terraform {what} output"),
            output: &output.text(),
        },
        opts,
    )
}

fn write_facts(out: &mut String, deployment: &str, commit: Option<&str>, plan: &PlanReport) {
    let commit = commit.map_or_else(
        || "unknown".to_owned(),
        |c| format!("`{}`", code(&c.chars().take(12).collect::<String>())),
    );
    let _ = writeln!(
        out,
        "Deployment: `{}` · Commit: {commit} · Terraform {}\n",
        code(deployment),
        plan.terraform_version
    );
    if let Some(failure) = &plan.failure {
        let _ = writeln!(out, "> [!CAUTION]\n> {}\n", inline(&failure.to_string()));
    }
}

fn write_change_table(out: &mut String, report: &PlanReport, opts: &CommentOptions) {
    if report.changes.is_empty() {
        return;
    }
    let c = &report.counts;
    let _ = writeln!(
        out,
        "{} to create · {} to update · {} to replace · {} to delete\n",
        c.create, c.update, c.replace, c.delete
    );
    out.push_str("| Action | Resource |\n|---|---|\n");
    let mut rows: Vec<_> = report.changes.iter().collect();
    // Destructive changes first: they are what a reviewer must not miss.
    rows.sort_by_key(|change| match change.action {
        ChangeAction::Delete => 0,
        ChangeAction::Replace => 1,
        ChangeAction::Update => 2,
        ChangeAction::Create => 3,
        _ => 4,
    });
    for change in rows.iter().take(opts.max_table_rows) {
        let icon = match change.action {
            ChangeAction::Create => "➕",
            ChangeAction::Update => "🔄",
            ChangeAction::Replace => "♻️",
            ChangeAction::Delete => "🗑️",
            _ => "•",
        };
        let _ = writeln!(
            out,
            "| {icon} {} | `{}` |",
            change.action.label(),
            table_code(&change.address)
        );
    }
    if rows.len() > opts.max_table_rows {
        let _ = writeln!(out, "| … | and {} more |", rows.len() - opts.max_table_rows);
    }
    out.push('\n');
}

fn write_actions(out: &mut String, report: &PlanReport, heading: &str) {
    if report.actions.is_empty() {
        return;
    }
    let _ = writeln!(out, "**{heading}** ({}):", report.actions.len());
    for action in report.actions.iter().take(20) {
        let mut line = format!("- `{}`", table_code(&action.address));
        match (&action.event, &action.triggered_by) {
            (Some(event), Some(resource)) => {
                let _ = write!(line, " ({} of `{}`)", inline(event), table_code(resource));
            }
            (Some(event), None) => {
                let _ = write!(line, " ({})", inline(event));
            }
            _ => {}
        }
        let _ = writeln!(out, "{line}");
    }
    if report.actions.len() > 20 {
        let _ = writeln!(out, "- and {} more", report.actions.len() - 20);
    }
    out.push('\n');
}

fn write_outputs(out: &mut String, outputs: &[OutputValue]) {
    if outputs.is_empty() {
        return;
    }
    out.push_str("**Outputs**\n\n| Name | Value |\n|---|---|\n");
    for output in outputs.iter().take(MAX_OUTPUT_ROWS) {
        let mut value = serde_json::to_string(&output.value).unwrap_or_default();
        if value.len() > 200 {
            let mut end = 200;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value = format!("{} …", &value[..end]);
        }
        let shown = if output.sensitive {
            "*(sensitive)*".to_owned()
        } else {
            format!("`{}`", table_code(&value))
        };
        let _ = writeln!(out, "| `{}` | {shown} |", table_code(&output.name));
    }
    if outputs.len() > MAX_OUTPUT_ROWS {
        let _ = writeln!(out, "| … | and {} more |", outputs.len() - MAX_OUTPUT_ROWS);
    }
    out.push('\n');
}

fn write_next_steps(out: &mut String, steps: &[String]) {
    if steps.is_empty() {
        return;
    }
    out.push_str("**Next steps**\n");
    for step in steps {
        let _ = writeln!(out, "- {step}");
    }
}

fn default_plan_steps(report: &PlanReport) -> Vec<String> {
    match report.outcome {
        PlanOutcome::Changes if report.destroy => vec![
            "Review the resources above: merging this pull request destroys them.".into(),
        ],
        PlanOutcome::Changes => vec![
            "Review the changes above; merging this pull request applies exactly this plan.".into(),
            "Push a new commit or comment `/promptops plan` to plan again.".into(),
        ],
        PlanOutcome::NoChanges if report.destroy => vec![
            "Nothing to destroy: the deployment's state holds no resources.".into(),
        ],
        PlanOutcome::NoChanges => vec!["Nothing to apply: the infrastructure already matches.".into()],
        PlanOutcome::Failed => vec![
            "Read the error in the output below, fix the configuration and push; the plan runs again.".into(),
            "Or comment `/promptops plan` to retry.".into(),
        ],
    }
}

fn default_apply_steps(report: &ApplyReport) -> Vec<String> {
    match report.outcome {
        ApplyOutcome::Applied | ApplyOutcome::NothingToApply => Vec::new(),
        ApplyOutcome::PlanFailed | ApplyOutcome::Failed => vec![
            "The deployment stays locked by this pull request. Read the error below, then comment `/promptops apply` here to retry.".into(),
        ],
    }
}

/// Text for inside an inline code span: no backticks or line breaks.
fn code(text: &str) -> String {
    text.replace('`', "'").replace(['\n', '\r'], " ")
}

/// Inline code inside a table cell: a `|` would end the cell; very long addresses
/// (for_each keys) are shortened so the table stays readable and small.
fn table_code(text: &str) -> String {
    let mut text = code(text);
    if text.len() > 300 {
        let mut end = 300;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text = format!("{}…", &text[..end]);
    }
    text.replace('|', "\\|")
}

/// Free text on one line: backticks and HTML tags neutralised.
fn inline(text: &str) -> String {
    code(text).replace('<', "&lt;").replace('>', "&gt;")
}
