//! Whether a pull request's head may be planned now. `terraform plan` runs the code of the
//! head commit (data sources, `file()`, provider configuration), so whoever wrote or pushed
//! that code decides, not only the pull request's author:
//!
//! - pull requests from forks are never planned;
//! - a change to the Terraform code (anything under `terraform.dir` other than a
//!   deployment's `terraform.tfvars`) waits for `/promptops plan <sha>` from someone with
//!   `min_permission`, naming the commit they reviewed by its full SHA (a short prefix can
//!   be matched by a second commit made for it): it runs only while that commit is
//!   the head, so a push that lands after the go-ahead (even before its job runs) is not
//!   planned with the go-ahead. A bare `/promptops plan` is answered with the head's SHA
//!   and the command to type;
//! - a change to deployment variables alone is planned on its own when the author, the
//!   pusher and every commit's author and committer have `min_permission` (the variables
//!   are checked against the catalog and the policy before any plan). A pull request with
//!   more commits than GitHub lists (250) waits for a go-ahead: the rest cannot be checked.
//!   The App's own commits need no one's permission, but only those it made count as its
//!   own: one listed under the App's login that it did not make (the login follows an
//!   e-mail anyone can write into a commit) waits for a go-ahead, named as such.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use promptops_commands::ShaPrefix;
use promptops_github::client::{Permission, PullRequestInfo};

use super::app_commits::OwnCommits;
use super::{RepoCtx, too_large};
use crate::repo_config::{RepoConfig, TerraformSettings};

/// What asked for the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trigger<'a> {
    /// A `pull_request` event; `sender` opened, reopened or pushed.
    Event { sender: Option<&'a str> },
    /// `/promptops plan [sha]` from someone whose permission was checked; `approved` is
    /// the commit their go-ahead names. What the gate says goes under `reply_key`.
    Command {
        approved: Option<&'a ShaPrefix>,
        reply_key: &'a str,
    },
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Gate {
    Open,
    /// Not planned; the comment says why and what unblocks it, under `key` (one per head
    /// SHA where it depends on the head).
    Closed {
        key: String,
        comment: String,
    },
}

/// Decides whether `pr` (as just read from GitHub, with its changed `files`) is planned.
pub(super) async fn check(
    repo: &RepoCtx,
    config: &RepoConfig,
    pr: &PullRequestInfo,
    files: &[String],
    trigger: Trigger<'_>,
) -> anyhow::Result<Gate> {
    let head_key = format!("tf-go-ahead:{}", pr.head_sha.short());
    let (sender, key) = match trigger {
        Trigger::Event { sender } => (sender, head_key),
        Trigger::Command { reply_key, .. } => (None, reply_key.to_owned()),
    };
    if let Some(comment) = fork_refusal(repo, pr) {
        let key = match trigger {
            Trigger::Event { .. } => "tf-plan-refused".to_owned(),
            Trigger::Command { .. } => key,
        };
        return Ok(Gate::Closed { key, comment });
    }
    if let Trigger::Command {
        approved: Some(approved),
        ..
    } = trigger
    {
        return Ok(match approval_problem(repo, pr, approved).await? {
            None => Gate::Open,
            Some(comment) => Gate::Closed { key, comment },
        });
    }
    let min = config.permissions.min_permission;
    let code = code_changes(files, &config.terraform);
    if !code.is_empty() {
        return Ok(Gate::Closed {
            key,
            comment: code_change_comment(repo, pr, &code, min),
        });
    }
    let lacking = people_lacking(repo, pr, sender, min).await?;
    if lacking.is_empty() {
        return Ok(Gate::Open);
    }
    Ok(Gate::Closed {
        key,
        comment: lacking_comment(repo, pr, &lacking, min),
    })
}

/// Why a go-ahead naming `approved` does not plan `pr`'s head, or `None` when it names the
/// head in full. A prefix is not enough even when it names only the head: whoever pushes
/// can make a second commit that shares a short prefix (a 7-digit one takes seconds to
/// find) and push it after the review, before the go-ahead's job runs.
async fn approval_problem(
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    approved: &ShaPrefix,
) -> anyhow::Result<Option<String>> {
    let head = pr.head_sha.as_str();
    let again = format!(
        "Review the code of head `{head}` and comment `/promptops plan {head}` to plan it."
    );
    if approved.names(head) {
        if approved.is_full() {
            return Ok(None);
        }
        return Ok(Some(format!(
            "⏸️ `/promptops plan {approved}`: `{approved}` is only the start of the head's SHA, and a go-ahead must name the whole commit: a second commit can be made to share a short prefix and pushed after the review, so nothing was planned. {again}"
        )));
    }
    let commits = repo
        .api
        .pr_commits(repo.name(), pr.number)
        .await
        .with_context(|| format!("listing the commits of #{}", pr.number))?;
    // Only the reply's wording depends on the list, so a cut one will do.
    let named = commits
        .listed()
        .iter()
        .filter(|commit| approved.names(commit.sha.as_str()))
        .count();
    let problem = if named > 0 {
        format!(
            "`{approved}` is no longer the head of this pull request: commits were pushed after it, and a go-ahead approves the code of one commit only, so nothing was planned. {again}"
        )
    } else {
        format!(
            "`{approved}` is not a commit of this pull request, so nothing was planned. {again}"
        )
    };
    Ok(Some(format!("⏸️ `/promptops plan {approved}`: {problem}")))
}

/// Files under the module dir other than a deployment's `terraform.tfvars`: Terraform
/// code (or anything Terraform code can read) that a plan would run.
pub(super) fn code_changes(files: &[String], settings: &TerraformSettings) -> Vec<String> {
    let module = format!("{}/", settings.dir.trim_end_matches('/'));
    let deployments = format!("{}/", settings.deployments_dir.trim_end_matches('/'));
    files
        .iter()
        .filter(|path| path.starts_with(&module))
        .filter(|path| {
            let vars = path
                .strip_prefix(&deployments)
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(_, file)| file == "terraform.tfvars");
            !vars
        })
        .cloned()
        .collect()
}

/// Whether `pr`'s head lives in another repository (or one since deleted): such a pull
/// request is never planned.
pub(super) fn from_fork(repo: &RepoCtx, pr: &PullRequestInfo) -> bool {
    !pr.head_repo
        .as_deref()
        .is_some_and(|head| head.eq_ignore_ascii_case(&repo.name().to_string()))
}

fn fork_refusal(repo: &RepoCtx, pr: &PullRequestInfo) -> Option<String> {
    from_fork(repo, pr).then(|| {
        format!(
            "PromptOps never runs Terraform for pull requests from forks (this one comes from `{}`), not even after `/promptops plan`: a plan can execute code with this repository's credentials. Push the branch to `{}` to have it planned.",
            pr.head_repo.as_deref().unwrap_or("a deleted repository"),
            repo.name()
        )
    })
}

fn code_change_comment(
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    code: &[String],
    min: Permission,
) -> String {
    const SHOWN: usize = 10;
    let mut list: Vec<String> = code
        .iter()
        .take(SHOWN)
        .map(|path| format!("- {}", promptops_commands::inert_inline(path)))
        .collect();
    if code.len() > SHOWN {
        list.push(format!("- and {} more", code.len() - SHOWN));
    }
    format!(
        "⏸️ Not planned: this pull request changes Terraform code, and a plan runs that code (data sources, `file()`, providers) with the bot's cloud credentials.\n\n{}\n\nA person with **{min}** permission (or higher) on `{}` can review the code of head `{}` and comment\n\n{}\n\nto plan it. The go-ahead names the commit it approves: a commit pushed after it is not planned with it, and every later push waits for a new go-ahead, whoever pushes it. Pull requests from forks are never planned.",
        list.join("\n"),
        repo.name(),
        pr.head_sha.short(),
        go_ahead_command(pr),
    )
}

fn lacking_comment(
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    lacking: &BTreeMap<String, Option<Permission>>,
    min: Permission,
) -> String {
    let list: Vec<String> = lacking
        .iter()
        .map(|(who, actual)| match actual {
            Some(actual) => format!("- `{who}` has **{actual}**"),
            None => format!("- {who}"),
        })
        .collect();
    format!(
        "⏸️ Not planned: a plan runs the code of head `{}`, and everyone whose code it runs (the pull request's author, the pusher and every commit's author and committer) needs **{min}** permission (or higher) on `{}`. These do not:\n\n{}\n\nA person with **{min}** permission can review the head and comment\n\n{}\n\nto plan it (a commit pushed after it is not planned with it). Pull requests from forks are never planned.",
        pr.head_sha.short(),
        repo.name(),
        list.join("\n"),
        go_ahead_command(pr),
    )
}

/// The go-ahead for `pr`'s head, to copy: a code block, so nothing in it renders.
fn go_ahead_command(pr: &PullRequestInfo) -> String {
    format!("```\n/promptops plan {}\n```", pr.head_sha)
}

/// Everyone whose code the plan runs and who lacks `min`: login → their permission, or a
/// description → `None` for commits that belong to no GitHub account or claim to be the
/// App's without being its own (see `app_commits`).
async fn people_lacking(
    repo: &RepoCtx,
    pr: &PullRequestInfo,
    sender: Option<&str>,
    min: Permission,
) -> anyhow::Result<BTreeMap<String, Option<Permission>>> {
    let bot = repo
        .api
        .bot_login()
        .await
        .context("reading the App's login")?;
    let listed = repo
        .api
        .pr_commits(repo.name(), pr.number)
        .await
        .with_context(|| format!("listing the commits of #{}", pr.number))?;
    let own = OwnCommits::read(repo, bot, listed.listed()).await?;
    let mut lacking = BTreeMap::new();
    // The commits GitHub does not list could be anyone's: the check fails for them, and
    // those it lists are still checked so that the reply names everyone it can.
    if let Some(cut) = listed.cut(pr.commits) {
        lacking.insert(too_large::commits_unlisted(&cut), None);
    }
    let mut people = BTreeSet::new();
    // The pull request's author and the pusher are whom GitHub authenticated, not an
    // e-mail: the App there is the App.
    people.extend(
        std::iter::once(pr.author.as_str())
            .chain(sender)
            .filter(|login| !own.is_bot(login))
            .map(str::to_ascii_lowercase),
    );
    for commit in listed.listed() {
        // The App's own commits carry only files it rendered from checked values.
        if own.made(commit) {
            continue;
        }
        if own.claims_the_bot(commit) {
            lacking.insert(own.claim(commit), None);
        }
        for login in [&commit.author, &commit.committer] {
            match login {
                Some(login) if own.is_bot(login) => {}
                Some(login) => {
                    people.insert(login.to_ascii_lowercase());
                }
                None => {
                    lacking.insert(
                        format!(
                            "commit `{}` has an author or committer with no GitHub account",
                            commit.sha.short()
                        ),
                        None,
                    );
                }
            }
        }
    }
    for login in people {
        let (allowed, actual) = repo.has_permission(&login, min).await?;
        if !allowed {
            lacking.insert(login, Some(actual));
        }
    }
    Ok(lacking)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_everything_under_the_module_dir_but_deployment_variables() {
        let settings = TerraformSettings::default();
        let files: Vec<String> = [
            "terraform/deployments/alpha/terraform.tfvars",
            "terraform/deployments/alpha/extra.tf",
            "terraform/deployments/alpha/nested/terraform.tfvars",
            "terraform/main.tf",
            "terraform/modules/vm/main.tf",
            "README.md",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(
            code_changes(&files, &settings),
            vec![
                "terraform/deployments/alpha/extra.tf",
                "terraform/deployments/alpha/nested/terraform.tfvars",
                "terraform/main.tf",
                "terraform/modules/vm/main.tf",
            ]
        );
        assert!(code_changes(&files[..1], &settings).is_empty());
    }
}
