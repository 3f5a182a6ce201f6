//! GitHub comments for plan and apply reports, built to be read in ten seconds: one
//! headline with the counts, Terraform's warnings and errors above the fold, a table of
//! resource changes, the lock and how to release it, next steps, and the output itself
//! (the step that matters, without tool noise) in a collapsible `diff` block, split to fit
//! GitHub's 65,536-character limit.
//!
//! Each comment starts with a hidden marker
//! (`<!-- promptops:plan deployment=<name> part=i/n -->`) so that the previous comment for
//! a deployment can be found and updated.

mod configuration;
mod explanation;
mod issue_note;
pub mod markdown;
mod outputs;
pub mod split;
mod steps;
pub mod transcript;

use std::fmt::Write as _;

use crate::report::{
    ApplyOutcome, ApplyReport, ChangeAction, PlanOutcome, PlanReport, StepFailure,
};
pub use configuration::{ConfigurationFailure, HostFailure, render_configuration_failure};
pub use explanation::{Explanation, ModelNote, render_explanation, summary_sentences};
pub use issue_note::{IssueNote, render_issue_note};
use split::{Document, split};
use transcript::{Severity, Transcript};

/// GitHub rejects issue and PR comment bodies longer than this (HTTP 422).
pub use promptops_core::github::COMMENT_LIMIT_CHARS as GITHUB_COMMENT_LIMIT;

/// Limits and context for rendering.
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
    /// The run's page on the dashboard, linked under the headline.
    pub run_url: Option<String>,
    /// Whether the deployment is locked to the pull request the comment is posted on
    /// (the comment then says so and how to release it).
    pub locked_here: bool,
    /// The plain-language explanation shown under a plan's headline.
    pub explanation: Option<Explanation>,
    /// The configuration job the run launched failed: said under the problems.
    pub configuration_failure: Option<ConfigurationFailure>,
}

impl Default for CommentOptions {
    fn default() -> Self {
        CommentOptions {
            max_chars: 60_000,
            max_comments: 10,
            max_table_rows: 50,
            next_steps: None,
            run_url: None,
            locked_here: false,
            explanation: None,
            configuration_failure: None,
        }
    }
}

/// Diagnostics lifted above the fold; the rest are counted and stay in the output.
const MAX_DIAGNOSTICS: usize = 5;

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
        "Terraform destroy plan"
    } else {
        "Terraform plan"
    };
    let deployment = code(&report.deployment);
    let status = match (report.outcome, report.destroy) {
        (PlanOutcome::Changes, _) => plan_counts(report),
        (PlanOutcome::NoChanges, false) => "no changes".to_owned(),
        (PlanOutcome::NoChanges, true) => "nothing to destroy".to_owned(),
        (PlanOutcome::Failed, _) => "failed".to_owned(),
    };
    let icon = match (report.outcome, report.destroy) {
        (PlanOutcome::Changes, false) => "📝",
        (PlanOutcome::Changes, true) => "🗑️",
        (PlanOutcome::NoChanges, _) => "✅",
        (PlanOutcome::Failed, _) => "❌",
    };
    let headline = format!("{icon} {what} for `{deployment}`: {status}");
    let transcript = transcript::read(
        &report.output.text(),
        failed_in_init(report.failure.as_ref()),
    );
    let mut header = format!("### {headline}\n\n");
    if let Some(explanation) = &opts.explanation {
        header.push_str(&render_explanation(explanation));
    }
    write_facts(&mut header, report, opts);
    write_problems(&mut header, report.failure.as_ref(), &transcript);
    write_change_table(&mut header, report, opts, ChangeAction::label);
    write_actions(&mut header, report, "Actions to invoke");
    if opts.locked_here {
        let _ = writeln!(
            header,
            "🔒 `{deployment}` is locked to this pull request: no other pull request can plan or apply it until this one is merged or closed. Comment `/promptops unlock` here to release it sooner.\n"
        );
    }
    let steps = opts
        .next_steps
        .clone()
        .unwrap_or_else(|| steps::plan_steps(report));
    write_next_steps(&mut header, &steps);
    split(
        Document {
            kind: KIND_PLAN,
            deployment: &report.deployment,
            header,
            title: format!("{what} for `{deployment}`"),
            output_label: output_label(report.failure.as_ref(), "plan"),
            output: &transcript.shown,
        },
        opts,
    )
}

/// The comments for an apply, destroy or invoke.
pub fn render_apply_comments(report: &ApplyReport, opts: &CommentOptions) -> Vec<String> {
    let plan = &report.plan;
    let deployment = code(&plan.deployment);
    let kind = steps::ApplyKind::of(report);
    let title = format!("Terraform {} for `{deployment}`", kind.verb());
    let headline = match report.outcome {
        ApplyOutcome::Applied => {
            format!("✅ {title} — {}: {}", kind.past(), applied_counts(report))
        }
        ApplyOutcome::NothingToApply => format!(
            "✅ {title}: nothing to {} (the infrastructure already matches)",
            kind.verb()
        ),
        ApplyOutcome::PlanFailed => format!("❌ {title}: plan failed, nothing applied"),
        ApplyOutcome::Failed => format!("❌ {title}: failed"),
    };
    // The apply output when there is one; otherwise the plan's (e.g. a failed plan).
    let (output, step) = if report.output.total_bytes > 0 {
        (&report.output, kind.verb())
    } else {
        (&plan.output, "plan")
    };
    let failure = report.failure.as_ref();
    let transcript = transcript::read(&output.text(), failed_in_init(failure));
    let mut header = format!("### {headline}\n\n");
    write_facts(&mut header, plan, opts);
    write_problems(&mut header, failure, &transcript);
    if let Some(configuration) = &opts.configuration_failure {
        header.push_str(&render_configuration_failure(configuration));
        header.push('\n');
    }
    outputs::write_outputs(&mut header, &report.outputs);
    let applied = matches!(report.outcome, ApplyOutcome::Applied);
    let label = if applied {
        past_label
    } else {
        ChangeAction::label
    };
    write_change_table(&mut header, plan, opts, label);
    write_actions(&mut header, plan, "Actions");
    let steps = opts
        .next_steps
        .clone()
        .unwrap_or_else(|| steps::apply_steps(report));
    write_next_steps(&mut header, &steps);
    split(
        Document {
            kind: KIND_APPLY,
            deployment: &plan.deployment,
            header,
            title,
            output_label: output_label(failure, step),
            output: &transcript.shown,
        },
        opts,
    )
}

/// `2 to add, 0 to change, 0 to destroy`, with output changes and actions when any.
fn plan_counts(report: &PlanReport) -> String {
    let c = &report.counts;
    let mut line = if report.destroy {
        format!("{} to destroy", c.delete + c.replace)
    } else {
        format!(
            "{} to add, {} to change, {} to destroy",
            c.create + c.replace,
            c.update,
            c.delete + c.replace
        )
    };
    if c.outputs > 0 {
        let _ = write!(line, ", {} output change{}", c.outputs, plural(c.outputs));
    }
    if !report.actions.is_empty() {
        let n = report.actions.len();
        let _ = write!(line, ", {n} action{} to invoke", plural(n));
    }
    line
}

/// `2 added, 0 changed, 0 destroyed` from Terraform's `Apply complete!` line, with the
/// actions it invoked (`1 action invoked`); all-zero resource counts are left out when
/// actions ran (a configuration run).
fn applied_counts(report: &ApplyReport) -> String {
    let summary = report.summary.trim();
    let counts = summary
        .split_once("Resources: ")
        .map(|(_, counts)| counts.split(". ").next().unwrap_or(counts))
        .map(|counts| counts.trim_end_matches('.').to_owned());
    let actions = report.actions_summary.as_deref().and_then(|line| {
        let invoked: usize = line
            .trim()
            .trim_start_matches("Actions: ")
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(format!("{invoked} action{} invoked", plural(invoked)))
    });
    let nothing = |counts: &str| counts.split(", ").all(|part| part.starts_with("0 "));
    match (counts, actions) {
        (Some(counts), Some(actions)) if nothing(&counts) => actions,
        (Some(counts), Some(actions)) => format!("{counts}; {actions}"),
        (Some(counts), None) => counts,
        (None, Some(actions)) => actions,
        (None, None) => inline(summary.trim_end_matches('.')),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn failed_in_init(failure: Option<&StepFailure>) -> bool {
    failure.is_some_and(|f| f.step == "init")
}

fn output_label(failure: Option<&StepFailure>, step: &str) -> String {
    let step = match failure {
        Some(failure) if failure.step == "init" => "init",
        _ => step,
    };
    format!("Terraform {step} output")
}

fn write_facts(out: &mut String, plan: &PlanReport, opts: &CommentOptions) {
    let commit = plan.commit.as_deref().map_or_else(
        || "commit unknown".to_owned(),
        |c| format!("commit `{}`", code(&c.chars().take(12).collect::<String>())),
    );
    let _ = write!(out, "<sub>{commit} · Terraform {}", plan.terraform_version);
    if let Some(url) = &opts.run_url {
        let _ = write!(
            out,
            " · [this run on the dashboard]({})",
            url.replace(['(', ')', ' '], "")
        );
    }
    out.push_str("</sub>\n\n");
}

/// What went wrong, then Terraform's errors and warnings: above the fold, so that a
/// warning such as an undeclared variable is not buried in the output.
fn write_problems(out: &mut String, failure: Option<&StepFailure>, transcript: &Transcript) {
    if let Some(failure) = failure {
        let _ = writeln!(out, "> [!CAUTION]\n> {}\n", inline(&failure.to_string()));
    }
    for diagnostic in transcript.diagnostics.iter().take(MAX_DIAGNOSTICS) {
        let alert = match diagnostic.severity {
            Severity::Error => "CAUTION",
            Severity::Warning => "WARNING",
        };
        let word = match diagnostic.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        let _ = writeln!(
            out,
            "> [!{alert}]\n> **{word}: {}**",
            promptops_commands::inert_inline(&diagnostic.title)
        );
        for line in &diagnostic.detail {
            if line.trim().is_empty() {
                out.push_str(">\n");
            } else {
                let _ = writeln!(out, "> {}", promptops_commands::inert_inline(line.trim()));
            }
        }
        out.push('\n');
    }
    let more = transcript.diagnostics.len().saturating_sub(MAX_DIAGNOSTICS);
    if more > 0 {
        let _ = writeln!(
            out,
            "And {more} more warning{} or error{} in the output below.\n",
            plural(more),
            plural(more)
        );
    }
}

/// The past tense of an action, for what an apply did.
fn past_label(action: ChangeAction) -> &'static str {
    match action {
        ChangeAction::Create => "created",
        ChangeAction::Update => "updated",
        ChangeAction::Replace => "replaced",
        ChangeAction::Delete => "deleted",
        ChangeAction::Read => "read",
        ChangeAction::NoOp => "unchanged",
        ChangeAction::Forget => "forgotten",
    }
}

fn write_change_table(
    out: &mut String,
    report: &PlanReport,
    opts: &CommentOptions,
    label: fn(ChangeAction) -> &'static str,
) {
    if report.changes.is_empty() {
        return;
    }
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
            label(change.action),
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

fn write_next_steps(out: &mut String, steps: &[String]) {
    if steps.is_empty() {
        return;
    }
    out.push_str("**Next steps**\n");
    for step in steps {
        let _ = writeln!(out, "- {step}");
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
