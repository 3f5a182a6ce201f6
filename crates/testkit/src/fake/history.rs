//! What tests read of a repository's history, and branches they remove.

use super::FakeGithub;
use crate::fault::lock;
use crate::snapshot::CommitInfo;

impl FakeGithub {
    /// The commit `git_ref` (a branch, a full SHA or a unique prefix) names.
    pub fn commit(&self, repo: &str, git_ref: &str) -> Option<CommitInfo> {
        let st = lock(&self.state);
        st.repo_by_full_name(repo)?
            .resolve(git_ref)
            .map(|c| CommitInfo {
                sha: c.sha.clone(),
                parents: c.parents.clone(),
                message: c.message.clone(),
                paths: c.files.keys().cloned().collect(),
                author: c.author.clone(),
                committer: c.committer.clone(),
            })
    }

    /// Deletes `branch`, as `git push --delete` does; `false` when there was none. The
    /// repository's open pull requests from it are closed, as GitHub closes them.
    pub fn delete_branch(&self, repo: &str, branch: &str) -> bool {
        let mut st = lock(&self.state);
        let r = st
            .repo_by_full_name_mut(repo)
            .unwrap_or_else(|| panic!("fake GitHub: no repository {repo}"));
        if r.branches.remove(branch).is_none() {
            return false;
        }
        let full = r.full_name();
        for issue in r.issues.values_mut() {
            let from_branch = issue
                .pull
                .as_ref()
                .is_some_and(|p| p.head_ref == branch && p.head_repo.eq_ignore_ascii_case(&full));
            if from_branch {
                issue.open = false;
            }
        }
        true
    }
}
