//! One deployment's plan for a pull request, once `pr_plan` decided what to plan: the
//! check run and the run's record are written while Terraform plans, then the plan is
//! reported (the PR's comment, with the explanation, and the check run) before the run's
//! work dir goes.

use promptops_core::CommitSha;
use promptops_github::client::{CheckOutput, PullRequestInfo};
use promptops_store::RunKind;
use promptops_terraform::comment::{CommentOptions, render_plan_comments};
use promptops_terraform::{PlanMode, PlanOutcome, PlanReport, Reservation, RunEnd, Runner};

use super::comment_key;
use super::plan_explain;
use super::terraform_run::{Finish, ReportTo, RunStart, TerraformRun};
use super::terraform_steps::{self as tf, PLAN_CHECK};
use super::vars_check::Vars;
use super::{Handlers, RepoCtx};
use crate::http::metrics::RunResult;
use crate::repo_config::RepoConfig;

/// What `pr_plan` decided to plan, and from where.
pub(super) struct ToPlan<'a> {
    pub deployment: &'a str,
    pub mode: PlanMode,
    pub source_sha: CommitSha,
    /// The source, or why it could not be had (reported like any run that could not run).
    pub source: Result<bytes::Bytes, tf::CouldNotRun>,
    pub reservation: Option<Reservation>,
    pub vars: Vars,
}

/// Runs the plan of `to_plan` and reports it (the PR's comment, the check run).
pub(super) async fn run_plan(
    h: &Handlers,
    runner: &Runner,
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: &PullRequestInfo,
    to_plan: ToPlan<'_>,
) -> anyhow::Result<()> {
    let ToPlan {
        deployment,
        mode,
        source_sha,
        source,
        reservation,
        vars,
    } = to_plan;
    let sha = &pr.head_sha;
    let start = RunStart {
        kind: RunKind::Plan,
        deployment,
        sha,
        pr: Some(pr.number),
        check: Some(PLAN_CHECK),
        report: Some(ReportTo {
            issue: pr.number.into(),
            key: comment_key::report(RunKind::Plan, deployment),
        }),
    };
    let starting = TerraformRun::start(h, runner, repo, start);
    let advice = Some("Fix it and push, or comment `/promptops plan` to retry.");
    let spec = match source.and_then(|source| tf::spec_for(config, deployment, source, &source_sha))
    {
        Ok(spec) => spec.with_mode(mode),
        Err(problem) => return starting.await?.fail(&problem, advice).await,
    };
    let planning = async {
        match reservation {
            Some(reservation) => runner.plan_reserved_then_end(reservation, &spec).await,
            None => (runner.plan(&spec).await, RunEnd::default()),
        }
    };
    // The check run and the run's record are written while Terraform plans: a plan changes
    // nothing, so when they cannot be written the plan is wasted work and the job's retry
    // plans again. (An apply records its run before it starts: see `pr_merge`.)
    let (run, (planned, end), before) = tokio::join!(
        starting,
        planning,
        plan_explain::applied(h, repo, config, deployment)
    );
    let run = run?;
    let report = match planned {
        Ok(report) => report,
        Err(err) => {
            run.observe(RunResult::CouldNotRun);
            return run.fail(&err.into(), advice).await;
        }
    };
    run.observe(report.outcome.into());
    let requested = vars.request();
    let explanation = plan_explain::explain(h, &report, requested, before).await;
    let planned = Planned {
        report: &report,
        explanation,
        deployment,
        sha,
    };
    // The plan is reported first; the work dir goes after (the lock still held till then).
    let reported = report_plan(run, planned, (mode, &source_sha)).await;
    end.finish().await;
    reported
}

/// A plan Terraform reported on, with its explanation for reviewers.
struct Planned<'a> {
    report: &'a PlanReport,
    explanation: Option<promptops_terraform::comment::Explanation>,
    deployment: &'a str,
    sha: &'a CommitSha,
}

/// The plan's report on the pull request and its check run, and the run's record.
async fn report_plan(
    run: TerraformRun<'_>,
    planned: Planned<'_>,
    (mode, source_sha): (PlanMode, &CommitSha),
) -> anyhow::Result<()> {
    let Planned {
        report,
        explanation,
        deployment,
        sha,
    } = planned;
    let options = CommentOptions {
        next_steps: mode
            .is_destroy()
            .then(|| destroy_steps(report.outcome, source_sha)),
        run_url: run.url(),
        // The lock was taken above: this pull request holds it while the plan is shown.
        locked_here: true,
        explanation,
        ..CommentOptions::default()
    };
    let comments = render_plan_comments(report, &options);
    let what = if mode.is_destroy() {
        format!(
            "Terraform destroy plan for deployment `{deployment}` (the code and variables of its last apply, `{}`)",
            source_sha.short()
        )
    } else {
        format!("Terraform plan for deployment `{deployment}`")
    };
    let output = report.output.text();
    let counts = &report.counts;
    let check = CheckOutput {
        title: format!("{deployment}: {}", report.summary),
        summary: format!(
            "{what} at `{}`: **{}**\n\n{} to create · {} to update · {} to replace · {} to delete",
            sha.short(),
            report.summary,
            counts.create,
            counts.update,
            counts.replace,
            counts.delete
        ),
        text: Some(promptops_commands::inert_block(output.trim_end())),
    };
    run.finish(Finish {
        succeeded: report.outcome != PlanOutcome::Failed,
        report: comments,
        check: Some(check),
        summary: &report.summary,
        output: &output,
    })
    .await
}

/// Next steps under a destroy plan: merging destroys with the commit the plan used.
fn destroy_steps(outcome: PlanOutcome, applied: &CommitSha) -> Vec<String> {
    let applied = applied.short();
    match outcome {
        PlanOutcome::Changes => vec![
            format!("Review the resources above: **merging this pull request destroys them**, with the code and variables of the deployment's last apply (commit `{applied}`), as planned here."),
            "The deployment is locked by this pull request until it is merged or closed. Comment `/promptops plan` to plan again.".into(),
        ],
        PlanOutcome::NoChanges => vec![format!(
            "Nothing to destroy: the deployment's state holds no resources (last apply: commit `{applied}`). Merging removes its variables only."
        )],
        PlanOutcome::Failed => vec![
            format!("Read the error in the output below. A destroy plan uses the code and variables of the deployment's last apply (commit `{applied}`), not this pull request's head."),
            "Comment `/promptops plan` to retry.".into(),
        ],
    }
}
