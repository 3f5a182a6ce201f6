//! The commits PromptOps makes, and telling them from commits that only look like them.
//!
//! GitHub lists a commit under the account its author's (or committer's) e-mail belongs
//! to, and whoever pushes writes those e-mails: a commit under the App's no-reply e-mail
//! is listed as the App's whoever made it. So every commit the App makes (a file written
//! or removed, a pull request merged) is recorded by the SHA GitHub answers with, and a
//! commit is the App's own only when its SHA is recorded. One listed under the App's login
//! that is not recorded claims an identity it does not have: the plan gate and the bot's
//! branches treat it as someone else's, and say so.

use std::collections::BTreeSet;

use anyhow::Context as _;
use promptops_core::{CommitSha, PrNumber};
use promptops_github::client::{FileWrite, GithubError, PullRequestCommit};
use tracing::warn;

use super::RepoCtx;

/// How the commits GitHub lists stand against the App's record of its own.
pub(super) struct OwnCommits {
    bot: String,
    recorded: BTreeSet<CommitSha>,
}

impl OwnCommits {
    /// Looks up which of `commits` the App recorded as its own; `bot` is its login.
    pub(super) async fn read(
        repo: &RepoCtx,
        bot: String,
        commits: &[PullRequestCommit],
    ) -> anyhow::Result<OwnCommits> {
        let shas: Vec<CommitSha> = commits.iter().map(|commit| commit.sha.clone()).collect();
        let recorded = repo
            .store
            .app_commits_among(repo.name(), &shas)
            .await
            .context("reading which commits PromptOps made")?;
        Ok(OwnCommits::new(bot, recorded))
    }

    /// `recorded`: the commits known to be the App's (`bot`).
    pub(super) fn new(bot: String, recorded: BTreeSet<CommitSha>) -> OwnCommits {
        OwnCommits { bot, recorded }
    }

    /// Whether `login` is the App's.
    pub(super) fn is_bot(&self, login: &str) -> bool {
        login.eq_ignore_ascii_case(&self.bot)
    }

    /// Whether the App made `commit` (whatever GitHub lists it under).
    pub(super) fn made(&self, commit: &PullRequestCommit) -> bool {
        self.recorded.contains(&commit.sha)
    }

    /// Whether `commit` is listed under the App's login (as author or committer) though
    /// the App did not make it.
    pub(super) fn claims_the_bot(&self, commit: &PullRequestCommit) -> bool {
        let listed = [&commit.author, &commit.committer]
            .into_iter()
            .flatten()
            .any(|login| self.is_bot(login));
        listed && !self.made(commit)
    }

    /// How a commit that claims the App's identity is named in replies.
    pub(super) fn claim(&self, commit: &PullRequestCommit) -> String {
        format!(
            "commit `{}` claims to be PromptOps' own (it is listed under `{}`), but PromptOps did not make it",
            commit.sha.short(),
            self.bot
        )
    }
}

impl RepoCtx {
    /// Commits `content` at `path` on `branch` (nothing when it already holds it), and
    /// records the commit as the App's.
    pub async fn commit_file(
        &self,
        branch: &str,
        path: &str,
        content: &str,
        message: &str,
    ) -> anyhow::Result<()> {
        let written = self
            .api
            .put_file(self.name(), branch, path, content, message)
            .await
            .with_context(|| format!("committing {path}"))?;
        self.remember_write(branch, written).await;
        Ok(())
    }

    /// Removes `path` on `branch` in a commit (nothing when it is absent), recorded as the
    /// App's.
    pub async fn commit_removal(
        &self,
        branch: &str,
        path: &str,
        message: &str,
    ) -> anyhow::Result<()> {
        let written = self
            .api
            .delete_file(self.name(), branch, path, message)
            .await
            .with_context(|| format!("removing {path} on {branch}"))?;
        self.remember_write(branch, written).await;
        Ok(())
    }

    /// Merges pull request `number` and records the merge commit as the App's.
    pub async fn merge_pr(&self, number: PrNumber) -> Result<CommitSha, GithubError> {
        let sha = self.api.merge_pr(self.name(), number).await?;
        self.remember(&sha).await;
        Ok(sha)
    }

    async fn remember_write(&self, branch: &str, written: FileWrite) {
        match written {
            FileWrite::Committed { commit_sha } => self.remember(&commit_sha).await,
            FileWrite::Unchanged => {}
            // The head may be someone else's commit of the same change: taking it for the
            // App's would let that commit pass as its own.
            FileWrite::Landed { head_sha } => warn!(
                repo = %self.name(),
                branch,
                head = %head_sha,
                "GitHub's answer to the App's commit was lost: the commit is not recorded as the App's, so the plan waits for a go-ahead and the branch is not built on again"
            ),
        }
    }

    /// Records `sha` as the App's commit. Written as soon as GitHub answers, before a pull
    /// request shows the commit; should it fail, the commit is taken for someone else's
    /// later (a go-ahead, a branch refused), which is safe, so the job goes on.
    async fn remember(&self, sha: &CommitSha) {
        if let Err(err) = self.store.record_app_commit(self.name(), sha).await {
            warn!(
                repo = %self.name(),
                commit = %sha,
                error = %err,
                "recording the App's commit failed: it will be taken for someone else's"
            );
        }
    }
}
