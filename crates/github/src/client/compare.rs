//! Comparing two commits: the files a merge group changes on top of its base.

use serde::Deserialize;

use super::transport::enc_segment;
use promptops_core::RepoName;

use super::pulls::PullCommitJson;
use super::{GithubError, InvalidInput, PullRequestCommit, RepoApi, Result, repo_route};

/// GitHub lists at most this many files of a comparison.
pub const MAX_COMPARED_FILES: usize = 300;

#[derive(Deserialize)]
struct ComparedFile {
    filename: String,
    /// The old name of a renamed file: it changed too.
    #[serde(default)]
    previous_filename: Option<String>,
}

#[derive(Deserialize)]
struct Comparison {
    #[serde(default)]
    files: Vec<ComparedFile>,
}

/// How `head` relates to `base` in a comparison (GitHub's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommitRelation {
    /// `head` has every commit of `base`, and more.
    Ahead,
    /// `base` has every commit of `head`, and more.
    Behind,
    /// Each has commits the other lacks.
    Diverged,
    Identical,
}

impl CommitRelation {
    /// Whether `head` contains everything `base` does.
    pub fn head_contains_base(self) -> bool {
        matches!(self, CommitRelation::Ahead | CommitRelation::Identical)
    }
}

/// What `head` holds that `base` does not: its own commits and the files they change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchWork {
    /// The commits `head` has and `base` lacks, oldest first, as far as GitHub listed them
    /// (a comparison lists at most 250).
    pub commits: Vec<PullRequestCommit>,
    /// How many such commits there are: more than `commits` holds when GitHub cut them.
    pub total_commits: u64,
    /// The paths changed from the merge base to `head` (renamed files under both names);
    /// `None` when GitHub cut the list at [`MAX_COMPARED_FILES`].
    pub paths: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct WorkJson {
    #[serde(default)]
    files: Vec<ComparedFile>,
    #[serde(default)]
    commits: Vec<PullCommitJson>,
    total_commits: u64,
}

#[derive(Deserialize)]
struct RelationOnly {
    status: CommitRelation,
}

impl RepoApi {
    /// How `head` relates to `base` (`GET /compare/{base}...{head}`, its `status`).
    pub async fn relation(
        &self,
        repo: &RepoName,
        base: &str,
        head: &str,
    ) -> Result<CommitRelation> {
        let (op, route) = compare_call(repo, base, head);
        let comparison: RelationOnly = self.t.get_json(&op, &route).await?;
        Ok(comparison.status)
    }

    /// The paths changed between `base` and `head` (`GET /compare/{base}...{head}`),
    /// renamed files under both names. A comparison GitHub cuts at
    /// [`MAX_COMPARED_FILES`] is an error: a list that may miss files cannot be checked.
    pub async fn changed_files(
        &self,
        repo: &RepoName,
        base: &str,
        head: &str,
    ) -> Result<Vec<String>> {
        let (op, route) = compare_call(repo, base, head);
        let comparison: Comparison = self.t.get_json(&op, &route).await?;
        let files = comparison.files.len();
        paths_of(comparison.files).ok_or(GithubError::Invalid {
            operation: op,
            problem: InvalidInput::ComparisonCut { files },
        })
    }

    /// The commits `head` has beyond `base` and the files it changes since their merge base
    /// (`GET /compare/{base}...{head}`): whose work a branch holds.
    pub async fn branch_work(&self, repo: &RepoName, base: &str, head: &str) -> Result<BranchWork> {
        let (op, route) = compare_call(repo, base, head);
        let work: WorkJson = self.t.get_json(&op, &route).await?;
        Ok(BranchWork {
            commits: work.commits.into_iter().map(Into::into).collect(),
            total_commits: work.total_commits,
            paths: paths_of(work.files),
        })
    }
}

/// Every path of a comparison's files, renamed files under both names; `None` when GitHub
/// cut the list at [`MAX_COMPARED_FILES`]: a list that may miss files cannot be checked.
fn paths_of(files: Vec<ComparedFile>) -> Option<Vec<String>> {
    if files.len() >= MAX_COMPARED_FILES {
        return None;
    }
    let mut paths = Vec::new();
    for file in files {
        paths.extend(file.previous_filename);
        paths.push(file.filename);
    }
    Some(paths)
}

/// The operation's name for errors and the route of `GET /compare/{base}...{head}`.
fn compare_call(repo: &RepoName, base: &str, head: &str) -> (String, String) {
    let route = format!(
        "{}/compare/{}...{}",
        repo_route(repo),
        enc_segment(base),
        enc_segment(head)
    );
    (format!("compare {base}...{head}"), route)
}
