//! Whether a pull request's head may be planned now. `terraform plan` runs the code of the
//! head commit (data sources, `file()`, provider configuration), so whoever wrote or pushed
//! that code decides, not only the pull request's author:
//!
//! - pull requests from forks are never planned;
//! - a change to the Terraform code (anything under `terraform.dir` other than a
//!   deployment's `terraform.tfvars`) waits for `/promptops plan` from someone with
//!   `min_permission`, at every new head, whoever pushed it;
//! - a change to deployment variables alone is planned on its own when the author, the
//!   pusher and every commit's author and committer have `min_permission` (the variables
//!   are checked against the catalog and the policy before any plan).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use promptops_github::client::{Permission, PullRequestInfo};

use super::RepoCtx;
use super::terraform_steps::short;
use crate::repo_config::{RepoConfig, TerraformSettings};

/// What asked for the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trigger<'a> {
    /// A `pull_request` event; `sender` opened, reopened or pushed.
    Event { sender: Option<&'a str> },
    /// `/promptops plan` from someone whose permission was checked: the go-ahead for the
    /// current head.
    GoAhead,
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
    if let Some(comment) = fork_refusal(repo, pr) {
        return Ok(Gate::Closed {
            key: "tf-plan-refused".to_owned(),
            comment,
        });
    }
    let Trigger::Event { sender } = trigger else {
        return Ok(Gate::Open);
    };
    let min = config.permissions.min_permission;
    let code = code_changes(files, &config.terraform);
    if !code.is_empty() {
        return Ok(Gate::Closed {
            key: format!("tf-go-ahead:{}", short(&pr.head_sha)),
            comment: code_change_comment(repo, pr, &code, min),
        });
    }
    let lacking = people_lacking(repo, pr, sender, min).await?;
    if lacking.is_empty() {
        return Ok(Gate::Open);
    }
    Ok(Gate::Closed {
        key: format!("tf-go-ahead:{}", short(&pr.head_sha)),
        comment: lacking_comment(repo, pr, &lacking, min),
    })
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

fn fork_refusal(repo: &RepoCtx, pr: &PullRequestInfo) -> Option<String> {
    let same_repo = pr
        .head_repo
        .as_deref()
        .is_some_and(|head| head.eq_ignore_ascii_case(&repo.full_name()));
    (!same_repo).then(|| {
        format!(
            "PromptOps never runs Terraform for pull requests from forks (this one comes from `{}`), not even after `/promptops plan`: a plan can execute code with this repository's credentials. Push the branch to `{}` to have it planned.",
            pr.head_repo.as_deref().unwrap_or("a deleted repository"),
            repo.full_name()
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
        "⏸️ Not planned: this pull request changes Terraform code, and a plan runs that code (data sources, `file()`, providers) with the bot's cloud credentials.\n\n{}\n\nA person with **{min}** permission (or higher) on `{}` can review the change and comment `/promptops plan` to plan head `{}`. Every later push waits for a new go-ahead, whoever pushes it. Pull requests from forks are never planned.",
        list.join("\n"),
        repo.full_name(),
        short(&pr.head_sha),
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
        "⏸️ Not planned: a plan runs the code of head `{}`, and everyone whose code it runs (the pull request's author, the pusher and every commit's author and committer) needs **{min}** permission (or higher) on `{}`. These do not:\n\n{}\n\nA person with **{min}** permission can comment `/promptops plan` to plan this head. Pull requests from forks are never planned.",
        short(&pr.head_sha),
        repo.full_name(),
        list.join("\n"),
    )
}

/// Everyone whose code the plan runs and who lacks `min`: login → their permission, or a
/// description → `None` for commits that belong to no GitHub account.
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
    let commits = repo
        .api
        .pr_commits(repo.owner(), repo.name(), pr.number)
        .await
        .with_context(|| format!("listing the commits of #{}", pr.number))?;
    let mut lacking = BTreeMap::new();
    let mut people = BTreeSet::new();
    people.insert(pr.author.to_ascii_lowercase());
    people.extend(sender.map(str::to_ascii_lowercase));
    for commit in &commits {
        for login in [&commit.author, &commit.committer] {
            match login {
                Some(login) => {
                    people.insert(login.to_ascii_lowercase());
                }
                None => {
                    lacking.insert(
                        format!(
                            "commit `{}` has an author or committer with no GitHub account",
                            short(&commit.sha)
                        ),
                        None,
                    );
                }
            }
        }
    }
    // The App's own commits carry only files it rendered from checked values.
    people.remove(&bot.to_ascii_lowercase());
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
