//! A merge queue, as GitHub runs one: a group is a branch
//! `gh-readonly-queue/<base>/pr-<last>-<base sha>` holding one merge commit per queued pull
//! request on top of the base; once the group's checks pass, the base branch is
//! fast-forwarded to the group's head and each pull request is merged with its own commit
//! of the group as merge commit.

use chrono::Utc;

use super::FakeGithub;
use crate::fault::lock;
use crate::routes::pulls::merged_tree;

/// A merge group: what the `merge_group` webhook names, and the commit of each pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeGroup {
    /// The group's head commit: where the required checks must report.
    pub head_sha: String,
    /// The group's full ref, `refs/heads/gh-readonly-queue/...`.
    pub head_ref: String,
    pub base_sha: String,
    /// The full ref of the base branch, `refs/heads/<base>`.
    pub base_ref: String,
    /// Each queued pull request with the group commit that merges it, in queue order.
    pub commits: Vec<(u64, String)>,
}

impl MergeGroup {
    /// The group branch's name (without `refs/heads/`).
    pub fn branch(&self) -> &str {
        self.head_ref.trim_start_matches("refs/heads/")
    }
}

impl FakeGithub {
    /// The events the App subscribes to (`GET /app`'s `events`), as its owner would set
    /// them on the App's settings page.
    pub fn set_app_events(&self, events: &[&str]) {
        lock(&self.state).app_events = events.iter().map(|e| e.to_string()).collect();
    }

    /// Queues open pull requests `prs` (in that order) into a merge group on `base`.
    /// Panics with the reason GitHub would refuse (a closed PR, another base).
    pub fn create_merge_group(&self, repo: &str, base: &str, prs: &[u64]) -> MergeGroup {
        let mut st = lock(&self.state);
        let r = st
            .repo_by_full_name(repo)
            .unwrap_or_else(|| panic!("fake GitHub: no repository {repo}"));
        let full = r.full_name();
        let base_sha = r.branches.get(base).cloned().unwrap_or_else(|| {
            panic!("fake GitHub: {repo} has no branch {base}");
        });
        let mut head = base_sha.clone();
        let mut commits = Vec::new();
        for &number in prs {
            let r = st.repo_by_full_name(repo).expect("checked");
            let issue = r
                .issues
                .get(&number)
                .filter(|issue| issue.open)
                .unwrap_or_else(|| panic!("fake GitHub: {repo}#{number} is not an open PR"));
            let pull = issue
                .pull
                .clone()
                .unwrap_or_else(|| panic!("fake GitHub: {repo}#{number} is an issue"));
            assert_eq!(
                pull.base_ref, base,
                "fake GitHub: #{number} targets another base"
            );
            let title = issue.title.clone();
            let tree = merged_tree(&st, &full, &head, &pull)
                .unwrap_or_else(|e| panic!("fake GitHub: queueing #{number}: {e}"));
            let message = format!("Merge pull request #{number}\n\n{title}");
            head = st.commit(&full, vec![head, pull.head_sha.clone()], tree, &message);
            commits.push((number, head.clone()));
        }
        let last = prs.last().expect("a merge group holds at least one PR");
        let branch = format!("gh-readonly-queue/{base}/pr-{last}-{base_sha}");
        st.set_branch_head(&full, &branch, &head);
        MergeGroup {
            head_sha: head,
            head_ref: format!("refs/heads/{branch}"),
            base_sha,
            base_ref: format!("refs/heads/{base}"),
            commits,
        }
    }

    /// The queue merges `group`: the base branch is fast-forwarded to its head, each pull
    /// request is closed as merged by its own group commit, and the group branch is deleted.
    /// Panics when the base moved since the group was built (GitHub would rebuild it).
    pub fn merge_merge_group(&self, repo: &str, group: &MergeGroup) {
        let mut st = lock(&self.state);
        let base = group.base_ref.trim_start_matches("refs/heads/");
        let r = st
            .repo_by_full_name_mut(repo)
            .unwrap_or_else(|| panic!("fake GitHub: no repository {repo}"));
        assert_eq!(
            r.branches.get(base),
            Some(&group.base_sha),
            "fake GitHub: {base} moved since the merge group was built"
        );
        r.branches.remove(group.branch());
        let full = r.full_name();
        for (number, sha) in &group.commits {
            let issue = r.issues.get_mut(number).expect("queued PRs exist");
            issue.open = false;
            issue.updated_at = Utc::now();
            let pull = issue.pull.as_mut().expect("queued PRs are PRs");
            pull.merged = true;
            pull.merge_commit_sha = Some(sha.clone());
        }
        st.set_branch_head(&full, base, &group.head_sha);
    }
}
