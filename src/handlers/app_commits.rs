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
use promptops_github::client::{BranchMove, FileChange, GithubError, PullRequestCommit};
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
    /// Makes the App's commit of `change` to `path` on top of `parent`, records it as the
    /// App's, and only then moves `branch` to it: a push event for the branch may be
    /// handled at once, and must find the commit recorded. `None` when `parent` already
    /// holds the change; `Moved` (the commit is left on no branch) when `branch` no longer
    /// points at `parent`.
    pub async fn commit_change(
        &self,
        branch: &str,
        parent: &CommitSha,
        path: &str,
        change: FileChange<'_>,
        message: &str,
    ) -> anyhow::Result<Option<(CommitSha, BranchMove)>> {
        let made = self
            .api
            .commit_change_on(self.name(), parent, path, change, message)
            .await
            .with_context(|| format!("committing {path}"))?;
        let Some(commit_sha) = made else {
            return Ok(None);
        };
        self.remember(&commit_sha).await;
        let moved = self
            .api
            .advance_branch(self.name(), branch, &commit_sha)
            .await
            .with_context(|| format!("moving branch {branch} to the commit of {path}"))?;
        Ok(Some((commit_sha, moved)))
    }

    /// Merges pull request `number` if its head is still `head` (what the App checked),
    /// and records the merge commit as the App's.
    pub async fn merge_pr(
        &self,
        number: PrNumber,
        head: &CommitSha,
    ) -> Result<CommitSha, GithubError> {
        let sha = self.api.merge_pr(self.name(), number, head).await?;
        self.remember(&sha).await;
        Ok(sha)
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
