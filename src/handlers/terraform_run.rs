//! One Terraform run as a handler reports it: the check run on its commit, the stored run
//! record, the comment parts of its report, and the masker of the runner that ran it.
//! Every Terraform handler starts one, runs Terraform, and ends it with [`TerraformRun::fail`]
//! (Terraform could not run) or [`TerraformRun::finish`] (Terraform reported), so that the
//! check, the record and the comment of a run always end together, masked the same way.

use std::time::Instant;

use promptops_core::{CommitSha, IssueNumber, PrNumber};
use promptops_github::client::{CheckConclusion, CheckOutput};
use promptops_store::RunStatus;
use promptops_terraform::Runner;

use super::terraform_steps::{self as tf, CouldNotRun};
use super::{Handlers, RepoCtx};
use crate::http::metrics::RunResult;
use promptops_store::RunKind;

/// Where a run's report goes: its comment parts, keyed `<key>:part:<n>`, on `issue`.
pub(super) struct ReportTo {
    pub issue: IssueNumber,
    pub key: String,
}

/// A run about to start.
pub(super) struct RunStart<'a> {
    pub kind: RunKind,
    pub deployment: &'a str,
    /// The commit the run is recorded on, and its check run shown on.
    pub sha: &'a CommitSha,
    /// The pull request the run belongs to, if any.
    pub pr: Option<PrNumber>,
    /// The check run to show on `sha`, by name (none: the run has no check run).
    pub check: Option<&'static str>,
    /// Where the report goes (none: the handler says what happened elsewhere).
    pub report: Option<ReportTo>,
}

/// How a run Terraform reported on ended.
pub(super) struct Finish<'a> {
    pub succeeded: bool,
    /// The report's comment parts (posted where the run reports; none: nowhere).
    pub report: Vec<String>,
    /// What its check run shows (a run without one shows nothing).
    pub check: Option<CheckOutput>,
    /// What the run record keeps (masked once more before it is stored).
    pub summary: &'a str,
    pub output: &'a str,
}

/// A started run; see the module comment.
pub(super) struct TerraformRun<'a> {
    h: &'a Handlers,
    runner: &'a Runner,
    repo: &'a RepoCtx,
    kind: RunKind,
    deployment: &'a str,
    report: Option<ReportTo>,
    check: Option<u64>,
    run: i64,
    started: Instant,
}

impl<'a> TerraformRun<'a> {
    /// Starts the check run (if any), then records the run as started.
    pub async fn start(
        h: &'a Handlers,
        runner: &'a Runner,
        repo: &'a RepoCtx,
        start: RunStart<'a>,
    ) -> anyhow::Result<Self> {
        let RunStart {
            kind,
            deployment,
            sha,
            pr,
            check,
            report,
        } = start;
        let check = match check {
            Some(name) => Some(tf::start_check(repo, name, sha, deployment).await?),
            None => None,
        };
        let run = tf::start_run(h, repo, pr, deployment, kind, sha).await?;
        Ok(Self {
            h,
            runner,
            repo,
            kind,
            deployment,
            report,
            check,
            run,
            started: Instant::now(),
        })
    }

    /// The run's page on the dashboard, for its report (none without a public URL).
    pub fn url(&self) -> Option<String> {
        self.h.links.run(self.run)
    }

    /// Counts and times the run (since it started) as ending with `result`.
    pub fn observe(&self, result: RunResult) {
        self.h
            .metrics
            .terraform_run(self.kind, result, self.started.elapsed());
    }

    /// Posts the report's comment parts (nothing when the run reports nowhere).
    async fn post_report(&self, parts: &[String]) -> anyhow::Result<()> {
        match &self.report {
            // No parts is no report (not an empty one that would blank the earlier parts).
            Some(to) if !parts.is_empty() => {
                tf::post_parts(self.repo, to.issue, &to.key, parts).await
            }
            _ => Ok(()),
        }
    }

    /// Terraform could not run (bad settings, a missing var file, no terraform binary):
    /// says so, with `problem` masked and `advice` after it, in the report and the check
    /// run, and records the run as failed.
    pub async fn fail(self, problem: &CouldNotRun, advice: Option<&str>) -> anyhow::Result<()> {
        let problem = self.runner.masker().mask_str(&problem.to_string());
        let (kind, deployment) = (self.kind, self.deployment);
        let mut body =
            format!("### ❌ Terraform {kind} for `{deployment}`: could not run\n\n{problem}");
        if let Some(advice) = advice {
            body = format!("{body}\n\n{advice}");
        }
        let check = CheckOutput {
            title: format!("{deployment}: could not run Terraform"),
            summary: problem.clone(),
            text: None,
        };
        self.end(
            vec![body],
            (CheckConclusion::Failure, check),
            RunStatus::Failed,
            (&problem, ""),
        )
        .await
    }

    /// Terraform reported: posts the report, completes the check run and records the
    /// run's end, masked.
    pub async fn finish(self, finish: Finish<'_>) -> anyhow::Result<()> {
        let (conclusion, status) = if finish.succeeded {
            (CheckConclusion::Success, RunStatus::Succeeded)
        } else {
            (CheckConclusion::Failure, RunStatus::Failed)
        };
        let shown = finish.check.unwrap_or_else(|| CheckOutput {
            title: format!("{}: {}", self.deployment, finish.summary),
            summary: finish.summary.to_owned(),
            text: None,
        });
        let record = (finish.summary, finish.output);
        self.end(finish.report, (conclusion, shown), status, record)
            .await
    }

    /// Ends the run in all three places. Each is attempted even when one before it failed
    /// (GitHub or the store out for longer than their retries): a check run left
    /// `in_progress` would hold a required check pending, and a run left started would
    /// show as running on the dashboard, both for good. The first failure is returned, so
    /// that the job is retried.
    async fn end(
        self,
        report: Vec<String>,
        (conclusion, check): (CheckConclusion, CheckOutput),
        status: RunStatus,
        (summary, output): (&str, &str),
    ) -> anyhow::Result<()> {
        let posted = self.post_report(&report).await;
        let completed = match self.check {
            Some(id) => {
                let CheckOutput {
                    title,
                    summary,
                    text,
                } = check;
                tf::finish_check(self.repo, id, conclusion, title, summary, text).await
            }
            None => Ok(()),
        };
        let recorded = tf::finish_run(self.h, self.runner, self.run, status, summary, output).await;
        posted.and(completed).and(recorded)
    }
}
