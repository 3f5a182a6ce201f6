//! Job handlers: one module per kind of work. Handlers orchestrate the planner, the
//! GitHub client and the store; none of those know about handlers.
//!
//! A handler turns every failure the user can act on (bad settings, a rejected request, a
//! refused command) into a comment and returns `Ok`; it returns `Err` only for failures a
//! retry may cure (GitHub or the database unavailable), which the queue retries with backoff.
//! Comments carry a key derived from the job id, so a retried job edits its comment rather
//! than posting a second one.

mod app_commits;
mod apply_guard;
mod bot_branch;
mod bot_comments;
mod check_actions;
mod commands;
mod comment_key;
mod configuration_failure;
mod configure;
mod deployment_state;
mod destroy;
mod drift;
pub use drift::DriftResult;
mod drift_issue;
pub(crate) mod expiry;
pub(crate) mod gave_up;
mod merge_group;
mod plan_explain;
mod plan_gate;
mod plan_request;
mod pr_merge;
mod pr_plan;
mod pr_plan_run;
pub mod pr_text;
mod terraform_run;
mod terraform_steps;
mod too_large;
mod vars_check;

use std::sync::Arc;

use anyhow::Context as _;
use promptops_core::{Catalog, CommitSha, IssueNumber, RepoName};
use promptops_github::client::{
    GithubApp, NewPullRequest, Permission, PullRequestInfo, PullRequestUpdate, Reaction, RepoApi,
};
use promptops_planner::Planner;
use promptops_store::Store;
use promptops_terraform::Runner;

pub(crate) use comment_key::job_key;

use crate::dashboard_links::DashboardLinks;
use crate::http::metrics::{CommandOutcome, Metrics};
use crate::pipeline::jobs::{CommentLine, JobPayload, RepoTarget};
use crate::repo_config::{REPO_CONFIG_PATH, RepoConfig};

pub struct Handlers {
    pub github: Arc<GithubApp>,
    pub planner: Planner,
    pub catalog: Arc<Catalog>,
    pub store: Store,
    /// Runs Terraform for pull requests; `None` on a server that runs none (plans and
    /// applies are then skipped, and Terraform commands say so).
    pub terraform: Option<Runner>,
    /// Dashboard pages linked from comments (none without a public URL).
    pub links: DashboardLinks,
    /// Commands, plans and applies are counted and timed here.
    pub metrics: Arc<Metrics>,
    /// What handlers date things by (expiry dates); the worker's clock claims the jobs.
    pub clock: Arc<dyn promptops_core::clock::Clock>,
    /// Writes the model's explanation under plan comments (nothing without a model).
    pub explainer: Arc<dyn promptops_planner::PlanExplainer>,
    /// The AAP controller a failed configuration job's hosts and steps are read from
    /// (`PROMPTOPS_AAP_URL`, `PROMPTOPS_AAP_TOKEN`); without it reports name the job only.
    pub aap: Option<crate::aap::AapController>,
}

impl Handlers {
    pub async fn run(&self, job_id: i64, payload: &JobPayload) -> anyhow::Result<()> {
        let repo = RepoCtx::new(self, payload.repo())?;
        match payload {
            JobPayload::CommentCommands {
                issue,
                comment_id,
                author,
                commands,
                ignored,
                ..
            } => {
                let job = commands::CommentJob {
                    issue,
                    author,
                    lines: commands,
                    ignored,
                };
                let repo = repo.gathering_replies(issue.number, job_id);
                self.comment_commands(&repo, job_id, *comment_id, &job)
                    .await
            }
            JobPayload::PlanIssue {
                issue,
                author,
                labels,
                ..
            } => commands::run_trigger_label(self, &repo, job_id, issue, author, labels).await,
            JobPayload::PlanPr { pr, .. } => {
                let sender = pr.sender.as_deref();
                pr_plan::plan_pr_event(self, &repo, pr.number, &pr.head_sha, sender).await
            }
            // Closed unmerged: its locks go whatever the settings say.
            JobPayload::PrClosed { pr, .. } if !pr.merged => {
                pr_merge::release_locks(self, &repo, pr.number).await
            }
            JobPayload::PrClosed { pr, .. } => {
                // A merge's apply checks the base against the default branch: it is read
                // (and kept for the job) while the settings are.
                let (config, _) = tokio::join!(repo.load_config(), repo.default_branch());
                match config? {
                    Ok(config) => pr_merge::pr_closed(self, &repo, &config, pr).await,
                    Err(err) => pr_merge::settings_stop_apply(&repo, pr.number, &err).await,
                }
            }
            JobPayload::Expiry {
                deployment,
                expires_at,
                stage,
                ..
            } => expiry::run(self, &repo, deployment, *expires_at, *stage).await,
            JobPayload::DriftCheck { due, .. } => drift::run_scheduled(self, &repo, *due).await,
            JobPayload::MergeGroupCheck { group, .. } => merge_group::run(self, &repo, group).await,
            JobPayload::CheckButton {
                pr, button, sender, ..
            } => check_actions::clicked(self, repo, job_id, *pr, *button, sender).await,
        }
    }

    /// A comment's commands, acknowledged with 👀 and counted in the metrics.
    async fn comment_commands(
        &self,
        repo: &RepoCtx,
        job_id: i64,
        comment_id: u64,
        job: &commands::CommentJob<'_>,
    ) -> anyhow::Result<()> {
        // Only a comment with a command the bot knows is acknowledged; one of unknown
        // words only gets its answer (or, from an outsider, nothing). The 👀 goes out at
        // once, alongside the command's first reads rather than a round trip ahead of them.
        let acknowledged = job
            .lines
            .iter()
            .any(|line| matches!(line, CommentLine::Command { .. }));
        let (_, result) = tokio::join!(
            async {
                if acknowledged {
                    acknowledge(repo, comment_id).await;
                }
            },
            commands::run_comment(self, repo, job_id, job)
        );
        let outcome = match result {
            Ok(()) => CommandOutcome::Handled,
            Err(_) => CommandOutcome::Failed,
        };
        for line in job.lines {
            if let CommentLine::Command { command } = line {
                self.metrics.command_finished(command.name(), outcome);
            }
        }
        result
    }
}

/// What the steps of finding and opening a pull request are called in errors.
pub(crate) struct PrNames {
    pub find: &'static str,
    pub open: &'static str,
}

/// 👀 on a command comment: seen, being worked on. Posted first thing, since the answer
/// may take minutes (a plan, an apply). Best effort: a comment deleted meanwhile, or GitHub
/// refusing the reaction, must not keep the command from running; a retried job adds it
/// again (GitHub keeps one reaction per user and kind).
async fn acknowledge(repo: &RepoCtx, comment_id: u64) {
    if let Err(err) = repo
        .api
        .react_to_comment(repo.name(), comment_id, Reaction::Eyes)
        .await
    {
        tracing::warn!(comment_id, error = %err, "could not add the 👀 reaction to the command comment");
    }
}

/// One repository, through its installation.
pub(crate) struct RepoCtx {
    pub api: RepoApi,
    pub target: RepoTarget,
    /// Remembers the ids of the App's comments (see `bot_comments`).
    store: Store,
    /// In a comment job: what it says on the comment's thread, gathered into one reply.
    thread: Option<bot_comments::ThreadReply>,
    /// The default branch, read once per job: the settings, the plan's explanation and
    /// the merge all need it, and each read is a round trip to GitHub.
    default_branch: tokio::sync::OnceCell<String>,
    /// What the settings' policy is checked against when they are read.
    catalog: Arc<Catalog>,
}

impl RepoCtx {
    fn new(handlers: &Handlers, target: &RepoTarget) -> anyhow::Result<Self> {
        let api = handlers
            .github
            .installation(target.installation_id)
            .with_context(|| format!("installation {}", target.installation_id))?;
        Ok(Self {
            api,
            target: target.clone(),
            store: handlers.store.clone(),
            thread: None,
            default_branch: tokio::sync::OnceCell::new(),
            catalog: Arc::clone(&handlers.catalog),
        })
    }

    /// This context for a comment job on `issue`: see [`bot_comments::ThreadReply`].
    fn gathering_replies(self, issue: IssueNumber, job_id: i64) -> Self {
        Self {
            thread: Some(bot_comments::ThreadReply::new(issue, job_id)),
            ..self
        }
    }

    /// What the comment job said on its thread so far (empty outside a comment job).
    pub fn take_thread_reply(&self) -> Vec<String> {
        self.thread
            .as_ref()
            .map(bot_comments::ThreadReply::take)
            .unwrap_or_default()
    }

    /// The repository, `owner/name`.
    pub fn name(&self) -> &RepoName {
        &self.target.repo
    }

    /// The repository's default branch (read from GitHub once per job).
    pub async fn default_branch(&self) -> anyhow::Result<String> {
        self.default_branch
            .get_or_try_init(|| async {
                self.api
                    .default_branch(self.name())
                    .await
                    .context("reading the default branch")
            })
            .await
            .cloned()
    }

    /// The head commit of the default branch, named `default_branch`.
    pub async fn default_branch_head(&self, default_branch: &str) -> anyhow::Result<CommitSha> {
        self.api
            .branch_head(self.name(), default_branch)
            .await
            .context("reading the default branch head")?
            .with_context(|| format!("the default branch {default_branch} has no head commit"))
    }

    /// Updates the open pull request from `branch` with `title` and `body`, or opens one
    /// into `base`; `true` when it was opened now.
    pub async fn open_or_update_pr(
        &self,
        branch: &str,
        base: &str,
        title: String,
        body: String,
        names: PrNames,
    ) -> anyhow::Result<(PullRequestInfo, bool)> {
        let found = self
            .api
            .find_open_pr(self.name(), branch)
            .await
            .context(names.find)?;
        if let Some(pr) = found {
            let update = PullRequestUpdate {
                title: Some(title),
                body: Some(body),
                state: None,
            };
            self.api
                .update_pr(self.name(), pr.number, &update)
                .await
                .with_context(|| format!("updating PR #{}", pr.number))?;
            return Ok((pr, false));
        }
        let new = NewPullRequest {
            head: branch.to_owned(),
            base: base.to_owned(),
            title,
            body,
        };
        let pr = self
            .api
            .create_pr(self.name(), &new)
            .await
            .context(names.open)?;
        Ok((pr, true))
    }

    /// The repository's settings from its default branch. `Ok(Err(..))` is a settings
    /// problem to report to the user; `Err` is GitHub being unavailable.
    pub async fn load_config(
        &self,
    ) -> anyhow::Result<Result<RepoConfig, crate::repo_config::RepoConfigError>> {
        let file = self
            .api
            .get_default_branch_file(self.name(), REPO_CONFIG_PATH)
            .await
            .with_context(|| format!("reading {REPO_CONFIG_PATH}"))?;
        Ok(match file {
            Some(file) => RepoConfig::parse(&file.text, &self.catalog),
            None => Ok(RepoConfig::default()),
        })
    }

    /// Whether `user` has at least `min` on the repository, and what they have.
    pub async fn has_permission(
        &self,
        user: &str,
        min: Permission,
    ) -> anyhow::Result<(bool, Permission)> {
        let actual = self
            .api
            .collaborator_permission(self.name(), user)
            .await
            .with_context(|| format!("reading {user}'s permission"))?;
        Ok((actual >= min, actual))
    }
}
