//! Committing one file on a branch, on top of the head the caller checked.
//!
//! The contents API (`PUT …/contents/{path}`) commits on whatever the branch points at when
//! GitHub handles the request, so a push landing between the caller's look at the branch
//! and the write would end up under the new commit, in a pull request the bot opened. So
//! the commit is built with the Git Data API on the caller's `parent` (a tree from the
//! parent's, then a commit naming the parent), and the branch takes it only through a
//! reference update without `force`: GitHub accepts that only as a fast-forward, which a
//! branch that moved elsewhere since is not. Nothing else changes the branch, so a push in
//! between leaves it as the pusher left it, and the caller learns it (`Moved`).

use http::{Method, StatusCode};
use promptops_core::{CommitSha, RepoName};
use serde::Deserialize;
use serde_json::{Value, json};

use super::transport::{Sent, enc_path};
use super::{RepoApi, Result, repo_route};

/// What a commit does to the one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange<'a> {
    /// The file holds this text afterwards.
    Write(&'a str),
    /// The file is gone afterwards.
    Remove,
}

/// What moving a branch to a new commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchMove {
    /// The branch points at the commit.
    Advanced,
    /// The branch had moved off the commit's parent (someone pushed, or moved it), so the
    /// commit was not a fast-forward: the branch was left where it was.
    Moved,
}

#[derive(Deserialize)]
struct ShaJson {
    sha: String,
}

#[derive(Deserialize)]
struct GitCommitJson {
    tree: ShaJson,
}

impl RepoApi {
    /// Makes a commit of `change` to `path` on top of `parent`, on no branch yet (see
    /// [`RepoApi::advance_branch`]); `None` when `parent` already holds the change.
    pub async fn commit_change_on(
        &self,
        repo: &RepoName,
        parent: &CommitSha,
        path: &str,
        change: FileChange<'_>,
        message: &str,
    ) -> Result<Option<CommitSha>> {
        let current = self.get_file(repo, path, parent.as_str()).await?;
        let unchanged = match change {
            FileChange::Write(text) => current.as_ref().is_some_and(|c| c.text == text),
            FileChange::Remove => current.is_none(),
        };
        if unchanged {
            return Ok(None);
        }
        let tree = self.tree_with(repo, parent, path, change).await?;
        self.new_commit(repo, parent, &tree, message)
            .await
            .map(Some)
    }

    /// The tree of `parent` with `change` made to `path`.
    async fn tree_with(
        &self,
        repo: &RepoName,
        parent: &CommitSha,
        path: &str,
        change: FileChange<'_>,
    ) -> Result<String> {
        let read = format!("read commit {}", parent.short());
        let route = format!("{}/git/commits/{}", repo_route(repo), parent);
        let base: GitCommitJson = self.t.get_json(&read, &route).await?;
        let entry = match change {
            FileChange::Write(text) => {
                json!({ "path": path, "mode": "100644", "type": "blob", "content": text })
            }
            FileChange::Remove => {
                json!({ "path": path, "mode": "100644", "type": "blob", "sha": Value::Null })
            }
        };
        let op = format!("build the tree for {path}");
        let body = json!({ "base_tree": base.tree.sha, "tree": [entry] });
        let route = format!("{}/git/trees", repo_route(repo));
        // A tree is named by its content: sending it again makes the same one.
        let tree: ShaJson = self
            .t
            .send(&op, Method::POST, &route, Some(&body))
            .await?
            .success_json(&op)?;
        Ok(tree.sha)
    }

    /// A commit of `tree` on `parent`, on no branch yet.
    async fn new_commit(
        &self,
        repo: &RepoName,
        parent: &CommitSha,
        tree: &str,
        message: &str,
    ) -> Result<CommitSha> {
        let op = format!("make a commit on {}", parent.short());
        let body = json!({ "message": message, "tree": tree, "parents": [parent] });
        let route = format!("{}/git/commits", repo_route(repo));
        // Sent again after a lost answer, it makes a second commit that no branch points
        // at: harmless, and the branch only ever takes the one whose SHA came back.
        let commit: ShaJson = self
            .t
            .send(&op, Method::POST, &route, Some(&body))
            .await?
            .success_json(&op)?;
        commit.sha.parse().map_err(|_| super::GithubError::Decode {
            operation: op,
            message: format!("{:?} is not a commit SHA", commit.sha),
        })
    }

    /// Moves `branch` to `commit_sha` if that is a fast-forward; `Moved` if it is not.
    pub async fn advance_branch(
        &self,
        repo: &RepoName,
        branch: &str,
        commit_sha: &CommitSha,
    ) -> Result<BranchMove> {
        let op = format!("move branch {branch} to {}", commit_sha.short());
        let route = format!("{}/git/refs/heads/{}", repo_route(repo), enc_path(branch));
        let body = json!({ "sha": commit_sha, "force": false });
        // After a lost answer the branch either points at the commit or the update did
        // not happen; only the commit's own SHA settles it.
        let settled = || async {
            let head = self.branch_head(repo, branch).await?;
            Ok((head.as_ref() == Some(commit_sha)).then_some(BranchMove::Advanced))
        };
        let answer = match self
            .t
            .send_create(&op, Method::PATCH, &route, Some(&body), settled)
            .await?
        {
            Sent::AlreadyDone(done) => return Ok(done),
            Sent::Answer(answer) => answer,
        };
        if answer.is_success() {
            return Ok(BranchMove::Advanced);
        }
        if answer.status == StatusCode::UNPROCESSABLE_ENTITY
            && answer.message().contains("fast forward")
        {
            return Ok(BranchMove::Moved);
        }
        Err(answer.error(&op))
    }
}
