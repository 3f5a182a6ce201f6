//! Job handlers: one module per kind of work. Handlers orchestrate the planner, the
//! GitHub client and the store; none of those know about handlers.
//!
//! A handler turns every failure the user can act on (bad settings, a rejected request, a
//! refused command) into a comment and returns `Ok`; it returns `Err` only for failures a
//! retry may cure (GitHub or the database unavailable), which the queue retries with backoff.
//! Comments carry a key derived from the job id, so a retried job edits its comment rather
//! than posting a second one.

mod commands;
mod configure;
mod destroy;
mod drift;
pub use drift::DriftResult;
mod drift_issue;
mod expiry;
mod plan_gate;
mod plan_request;
mod pr_merge;
mod pr_plan;
mod terraform;
mod vars_check;

use std::sync::Arc;

use anyhow::Context as _;
use promptops_core::Catalog;
use promptops_github::client::{GithubApp, Permission, RepoApi};
use promptops_planner::Planner;
use promptops_store::Store;
use promptops_terraform::Runner;

use crate::jobs::{JobPayload, RepoTarget};
use crate::repo_config::{REPO_CONFIG_PATH, RepoConfig};

pub struct Handlers {
    pub github: Arc<GithubApp>,
    pub planner: Planner,
    pub catalog: Catalog,
    pub store: Store,
    /// Runs Terraform for pull requests; `None` on a server that runs none (plans and
    /// applies are then skipped, and Terraform commands say so).
    pub terraform: Option<Runner>,
    /// What handlers date things by (expiry dates); the worker's clock claims the jobs.
    pub clock: Arc<dyn crate::clock::Clock>,
}

impl Handlers {
    pub async fn run(&self, job_id: i64, payload: &JobPayload) -> anyhow::Result<()> {
        let repo = RepoCtx::new(self, payload.repo())?;
        match payload {
            JobPayload::CommentCommands {
                issue,
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
                commands::run_comment(self, &repo, job_id, &job).await
            }
            JobPayload::PlanIssue {
                issue,
                author,
                labels,
                ..
            } => commands::run_trigger_label(self, &repo, job_id, issue, author, labels).await,
            JobPayload::PlanPr { pr, .. } => {
                let Some(config) =
                    commands::settings_or_report(&repo, pr.number, "tf-settings").await?
                else {
                    return Ok(());
                };
                let trigger = plan_gate::Trigger::Event {
                    sender: pr.sender.as_deref(),
                };
                pr_plan::plan_pr(self, &repo, &config, pr.number, Some(&pr.head_sha), trigger).await
            }
            JobPayload::PrClosed { pr, .. } => {
                let Some(config) =
                    commands::settings_or_report(&repo, pr.number, "tf-settings").await?
                else {
                    return Ok(());
                };
                pr_merge::pr_closed(self, &repo, &config, pr).await
            }
            JobPayload::Expiry {
                deployment,
                expires_at,
                stage,
                ..
            } => expiry::run(self, &repo, deployment, *expires_at, *stage).await,
            JobPayload::DriftCheck { due, .. } => drift::run_scheduled(self, &repo, *due).await,
        }
    }
}

/// A stable comment key for what one job says in one place.
pub(crate) fn job_key(job_id: i64, purpose: &str) -> String {
    format!("job:{job_id}:{purpose}")
}

/// One repository, through its installation.
pub(crate) struct RepoCtx {
    pub api: RepoApi,
    pub target: RepoTarget,
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
        })
    }

    pub fn owner(&self) -> &str {
        &self.target.owner
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    pub fn full_name(&self) -> String {
        self.target.full_name()
    }

    /// Posts (or, when a retry finds it, updates) the comment for `key`.
    pub async fn comment(&self, issue: u64, key: &str, body: &str) -> anyhow::Result<()> {
        self.api
            .upsert_comment(self.owner(), self.name(), issue, key, body)
            .await
            .with_context(|| format!("commenting on #{issue}"))?;
        Ok(())
    }

    /// The repository's settings from its default branch. `Ok(Err(..))` is a settings
    /// problem to report to the user; `Err` is GitHub being unavailable.
    pub async fn load_config(
        &self,
    ) -> anyhow::Result<Result<RepoConfig, crate::repo_config::RepoConfigError>> {
        let default_branch = self
            .api
            .default_branch(self.owner(), self.name())
            .await
            .context("reading the default branch")?;
        let file = self
            .api
            .get_file(self.owner(), self.name(), REPO_CONFIG_PATH, &default_branch)
            .await
            .with_context(|| format!("reading {REPO_CONFIG_PATH}"))?;
        Ok(match file {
            Some(file) => RepoConfig::parse(&file.text),
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
            .collaborator_permission(self.owner(), self.name(), user)
            .await
            .with_context(|| format!("reading {user}'s permission"))?;
        Ok((actual >= min, actual))
    }
}
