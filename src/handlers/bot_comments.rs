//! Writing the App's comments: by key, through the ids the store remembers, and — in a
//! comment job — gathered into that comment's one reply.
//!
//! Finding a keyed comment by listing costs one request per 100 comments of the issue, on
//! every update; the store remembers the id of each comment the App wrote (by repository,
//! issue and key), so that an update is one `PATCH`. The listing remains the fallback
//! where the id is unknown (a comment written before the store kept ids, or by a job whose
//! record of it was lost) or the comment was deleted on GitHub.

use std::sync::{Mutex, PoisonError};

use anyhow::Context as _;
use promptops_core::IssueNumber;

use super::{RepoCtx, job_key};

/// What one comment job says on the comment's own thread under its own keys (results of
/// its commands, refusals): gathered, then posted as one reply, so that a comment brings
/// at most one new comment. Results that update a deployment's plan or apply comment in
/// place use the deployment's keys and are written as they come.
pub(crate) struct ThreadReply {
    issue: IssueNumber,
    /// `job:<id>:`, the start of every key of this job.
    key_prefix: String,
    said: Mutex<Vec<String>>,
}

impl ThreadReply {
    pub fn new(issue: IssueNumber, job_id: i64) -> ThreadReply {
        ThreadReply {
            issue,
            key_prefix: job_key(job_id, ""),
            said: Mutex::new(Vec::new()),
        }
    }

    fn gathers(&self, issue: IssueNumber, key: &str) -> bool {
        issue == self.issue && key.starts_with(&self.key_prefix)
    }

    fn push(&self, body: &str) {
        let mut said = self.said.lock().unwrap_or_else(PoisonError::into_inner);
        // The same text twice (`/promptops unlock` twice) is said once.
        if !said.iter().any(|earlier| earlier == body) {
            said.push(body.to_owned());
        }
    }

    /// Everything gathered so far, in the order it was said.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.said.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl RepoCtx {
    /// Posts (or, when one exists, updates) the comment for `key` on `issue`; in a
    /// comment job, what it says under the job's own keys on the comment's thread is
    /// gathered into the job's reply instead (see [`ThreadReply`]).
    pub async fn comment(
        &self,
        issue: impl Into<IssueNumber>,
        key: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let issue = issue.into();
        if let Some(thread) = &self.thread
            && thread.gathers(issue, key)
        {
            thread.push(body);
            return Ok(());
        }
        self.write_comment(issue, key, body).await
    }

    /// Posts or updates the comment for `key` on `issue` now: one `PATCH` when the store
    /// knows its id, else a search of the issue's comments.
    pub async fn write_comment(
        &self,
        issue: IssueNumber,
        key: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let repo_name = self.name();
        if let Some(id) = self.store.comment_id(repo_name, issue, key).await? {
            let updated = self
                .api
                .update_keyed_comment(self.name(), id, key, body)
                .await
                .with_context(|| format!("updating comment {id} on #{issue}"))?;
            if updated {
                return Ok(());
            }
            self.store.forget_comment(repo_name, issue, key).await?;
        }
        let (id, _new) = self
            .api
            .upsert_comment(self.name(), issue, key, body)
            .await
            .with_context(|| format!("commenting on #{issue}"))?;
        self.store
            .remember_comment(repo_name, issue, key, id)
            .await?;
        Ok(())
    }

    /// The App's comments on `issue` whose keys start with `prefix`, as the store knows
    /// them: key and comment id.
    pub async fn comments_with_prefix(
        &self,
        issue: impl Into<IssueNumber>,
        prefix: &str,
    ) -> anyhow::Result<Vec<(String, u64)>> {
        Ok(self
            .store
            .comments_with_prefix(self.name(), issue.into(), prefix)
            .await?)
    }

    /// Whether the App wrote a comment under `key` on `issue` (as the store knows: every
    /// comment written since it keeps ids).
    pub async fn has_comment(
        &self,
        issue: impl Into<IssueNumber>,
        key: &str,
    ) -> anyhow::Result<bool> {
        Ok(self
            .store
            .comment_id(self.name(), issue.into(), key)
            .await?
            .is_some())
    }
}
