//! The branches PromptOps commits on (`promptops/issue-<n>`, `promptops/destroy-<name>`).
//! Their names are predictable, so anyone who can push can create one before PromptOps
//! does, with commits of their own: PromptOps would then commit on top and open a pull
//! request that carries those commits under its name, which reviewers (and
//! `expiry.auto_merge`, which merges without one) take for PromptOps' own rendering.
//!
//! So an existing branch is built on only when it holds nothing but PromptOps' earlier
//! work on the same file: every commit it has beyond the default branch made by the App
//! (recorded when GitHub answered its write, see `app_commits`: a commit listed under the
//! App's login is not enough, anyone can write its e-mail into one) and authored and
//! committed by it, and no other file changed. Anything else is refused with a
//! comment naming the branch and left as it is: it is someone's work, and deleting or
//! resetting it is for a person to decide. A branch with nothing of its own (one left by a
//! merged pull request) is moved up to the default branch first.

use anyhow::Context as _;
use promptops_core::CommitSha;
use promptops_github::client::{BranchMove, BranchWork, FileChange, PullRequestCommit};

use super::RepoCtx;
use super::app_commits::OwnCommits;

/// Most problems a refusal lists; the rest are counted.
const SHOWN: usize = 10;

/// An existing branch PromptOps does not build on, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Taken {
    branch: String,
    /// One line each: a commit that is not the App's, a file other than the one it writes.
    problems: Vec<String>,
}

impl Taken {
    /// The comment: `not_done` (what PromptOps did not do), why, and that `command` works
    /// again once the branch is gone.
    pub(super) fn comment(&self, not_done: &str, command: &str) -> String {
        let branch = promptops_commands::code_span(&self.branch);
        let mut list: Vec<String> = self
            .problems
            .iter()
            .take(SHOWN)
            .map(|problem| format!("- {problem}"))
            .collect();
        if self.problems.len() > SHOWN {
            list.push(format!("- and {} more", self.problems.len() - SHOWN));
        }
        format!(
            "{not_done}: the branch {branch} already exists and holds work PromptOps did not make:\n\n{}\n\nPromptOps commits only on a branch that holds nothing but its own commits of this file, so that the pull request it opens carries no one else's changes under its name. Nothing was committed, and no pull request was opened or changed. Delete the branch {branch} (work on it that should stay belongs on a branch of another name), then comment `{command}` again.",
            list.join("\n")
        )
    }
}

/// How often a branch may move under the App's commit (each time looked at again)
/// before the job gives up and is retried later.
const MAX_MOVES: usize = 3;

/// Commits `change` to `path` on `branch` (created at `base_sha`, the default branch's
/// head, when missing) if the branch holds only the App's earlier commits of `path`, and
/// returns its head afterwards: the App's new commit, or the head that already held the
/// change. `Err` when the branch holds anything else, nothing committed. The commit is
/// built on the head that was checked and the branch takes it only as a fast-forward, so
/// a push landing in between is looked at like the rest, never committed on top of.
pub(super) async fn commit(
    repo: &RepoCtx,
    branch: &str,
    base_sha: &CommitSha,
    path: &str,
    change: FileChange<'_>,
    message: &str,
) -> anyhow::Result<Result<CommitSha, Taken>> {
    for _ in 0..MAX_MOVES {
        let head = match prepare(repo, branch, base_sha, path).await? {
            Ok(head) => head,
            Err(taken) => return Ok(Err(taken)),
        };
        match repo
            .commit_change(branch, &head, path, change, message)
            .await?
        {
            None => return Ok(Ok(head)),
            Some((commit_sha, BranchMove::Advanced)) => return Ok(Ok(commit_sha)),
            Some((_, BranchMove::Moved)) => continue,
        }
    }
    anyhow::bail!(
        "branch {branch} moved {MAX_MOVES} times while PromptOps was committing {path} on it; the job is retried later"
    )
}

/// Makes `branch` ready for the App to commit `path` on, and returns the head to build
/// on: created at `base_sha` when missing, built on when it holds only the App's earlier
/// commits of `path`; `Err` when it holds anything else.
async fn prepare(
    repo: &RepoCtx,
    branch: &str,
    base_sha: &CommitSha,
    path: &str,
) -> anyhow::Result<Result<CommitSha, Taken>> {
    let state = repo
        .api
        .ensure_branch(repo.name(), branch, base_sha)
        .await
        .with_context(|| format!("creating branch {branch}"))?;
    if state.created {
        return Ok(Ok(state.head_sha));
    }
    let (work, bot) = tokio::join!(
        repo.api
            .branch_work(repo.name(), base_sha.as_str(), state.head_sha.as_str()),
        repo.api.bot_login()
    );
    let work = work.with_context(|| format!("comparing branch {branch} with its base"))?;
    let bot = bot.context("reading the App's login")?;
    let own = OwnCommits::read(repo, bot, &work.commits).await?;
    let problems = problems(&work, &own, path);
    if !problems.is_empty() {
        return Ok(Err(Taken {
            branch: branch.to_owned(),
            problems,
        }));
    }
    if work.total_commits == 0 && state.head_sha != *base_sha {
        // Everything on it is on the default branch already: a fast-forward, so that the
        // new commit starts from the base of today.
        repo.api
            .update_branch(repo.name(), branch, base_sha, false)
            .await
            .with_context(|| format!("moving branch {branch} to {}", base_sha.short()))?;
        return Ok(Ok(base_sha.clone()));
    }
    Ok(Ok(state.head_sha))
}

/// What in `work` is not the App's earlier work on `path`.
fn problems(work: &BranchWork, own: &OwnCommits, path: &str) -> Vec<String> {
    let mut problems: Vec<String> = work
        .commits
        .iter()
        .filter_map(|commit| foreign(commit, own))
        .collect();
    let unlisted = work.total_commits.saturating_sub(work.commits.len() as u64);
    if unlisted > 0 {
        problems.push(format!(
            "{unlisted} more commits than GitHub lists in a comparison, which cannot be checked"
        ));
    }
    match &work.paths {
        Some(paths) => problems.extend(
            paths
                .iter()
                .filter(|changed| changed.as_str() != path)
                .map(|changed| format!("a change to {}", promptops_commands::code_span(changed))),
        ),
        None => problems.push("more changed files than GitHub lists in a comparison".to_owned()),
    }
    problems
}

/// How `commit` is described when it is not the App's: made by it (recorded), and authored
/// and committed under its login.
fn foreign(commit: &PullRequestCommit, own: &OwnCommits) -> Option<String> {
    let is_bot = |login: &Option<String>| login.as_deref().is_some_and(|login| own.is_bot(login));
    if own.claims_the_bot(commit) {
        return Some(own.claim(commit));
    }
    if own.made(commit) && is_bot(&commit.author) && is_bot(&commit.committer) {
        return None;
    }
    let who = |login: &Option<String>| match login {
        Some(login) => format!("`{login}`"),
        None => "someone with no GitHub account".to_owned(),
    };
    let by = match commit.author == commit.committer {
        true => format!("by {}", who(&commit.author)),
        false => format!(
            "by {}, committed by {}",
            who(&commit.author),
            who(&commit.committer)
        ),
    };
    Some(format!("commit `{}` {by}", commit.sha.short()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = "promptops[bot]";
    const PATH: &str = "terraform/deployments/mu/terraform.tfvars";

    fn commit(sha: char, author: Option<&str>, committer: Option<&str>) -> PullRequestCommit {
        PullRequestCommit {
            sha: sha.to_string().repeat(40).parse().unwrap(),
            author: author.map(str::to_owned),
            committer: committer.map(str::to_owned),
        }
    }

    fn work(commits: Vec<PullRequestCommit>, paths: &[&str]) -> BranchWork {
        BranchWork {
            total_commits: commits.len() as u64,
            commits,
            paths: Some(paths.iter().map(|p| p.to_string()).collect()),
        }
    }

    /// The App's commits: those of `shas` are recorded as made by it.
    fn own(shas: &[char]) -> OwnCommits {
        let recorded = shas
            .iter()
            .map(|sha| sha.to_string().repeat(40).parse().unwrap())
            .collect();
        OwnCommits::new(BOT.to_owned(), recorded)
    }

    #[test]
    fn the_apps_own_commits_of_the_file_are_its_work() {
        let mine = work(vec![commit('a', Some(BOT), Some(BOT))], &[PATH]);
        assert!(problems(&mine, &own(&['a']), PATH).is_empty());
        assert!(problems(&work(Vec::new(), &[]), &own(&[]), PATH).is_empty());
    }

    #[test]
    fn a_commit_under_the_apps_login_that_it_did_not_make_is_not_its_work() {
        let forged = work(vec![commit('a', Some(BOT), Some(BOT))], &[PATH]);
        assert_eq!(
            problems(&forged, &own(&[]), PATH),
            vec![
                "commit `aaaaaaaaaaaa` claims to be PromptOps' own (it is listed under `promptops[bot]`), but PromptOps did not make it"
            ]
        );
    }

    #[test]
    fn anything_else_is_named() {
        let mixed = work(
            vec![
                commit('a', Some(BOT), Some(BOT)),
                commit('b', Some("mallory"), Some("mallory")),
                commit('c', Some(BOT), Some("mallory")),
                commit('d', None, None),
                commit('e', Some("mallory"), Some("mallory")),
            ],
            &[PATH, "terraform/main.tf"],
        );
        // Recorded or not, a commit someone else authored is theirs.
        assert_eq!(
            problems(&mixed, &own(&['a', 'e']), PATH),
            vec![
                "commit `bbbbbbbbbbbb` by `mallory`",
                "commit `cccccccccccc` claims to be PromptOps' own (it is listed under `promptops[bot]`), but PromptOps did not make it",
                "commit `dddddddddddd` by someone with no GitHub account",
                "commit `eeeeeeeeeeee` by `mallory`",
                "a change to `terraform/main.tf`",
            ]
        );
        // Lists GitHub cut are not the App's work either: what they leave out is unknown.
        let cut = BranchWork {
            total_commits: 300,
            commits: vec![commit('a', Some(BOT), Some(BOT))],
            paths: None,
        };
        assert_eq!(problems(&cut, &own(&['a']), PATH).len(), 2);
    }
}
