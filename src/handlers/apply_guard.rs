//! Whether a merge may be applied now, beyond its base branch and its variables: who
//! merged it (on the `closed` event) and, for `/promptops apply`, whether a later apply or
//! destroy of the deployment came from a commit the merge does not contain.

use anyhow::Context as _;
use promptops_core::CommitSha;
use promptops_github::client::{Permission, PullRequestInfo};
use promptops_store::RunKind;

use super::{Handlers, RepoCtx, deployment_state};
use crate::repo_config::RepoConfig;

/// Why the apply of this merge waits for `/promptops apply` (`None` when it runs now). The
/// apply runs the merged code with the deployment's credentials, so whoever merged must
/// have `min_permission`, as for any command. GitHub lets anyone with write merge, so at
/// `write` or below (the default) every merge passes without a lookup; above it, a writer
/// could otherwise merge code that nobody with the role approved and have it applied.
/// The App's own merges (`expiry.auto_merge`) are what the settings asked for.
pub(super) async fn unauthorised_merge(
    repo: &RepoCtx,
    config: &RepoConfig,
    info: &PullRequestInfo,
) -> anyhow::Result<Option<String>> {
    let min = config.permissions.min_permission;
    if min <= Permission::Write {
        return Ok(None);
    }
    let retry = format!(
        "Nothing was run. Someone with **{min}** permission who has reviewed the merge can comment `/promptops apply` to apply it."
    );
    let Some(merger) = info.merged_by.as_deref() else {
        return Ok(Some(format!(
            "⏸️ Not applied yet: GitHub does not say who merged this pull request (a merge queue's merge, say), and applying a merge on `{}` needs **{min}** permission (`permissions.min_permission`). {retry}",
            repo.name()
        )));
    };
    let bot = repo
        .api
        .bot_login()
        .await
        .context("reading the App's login")?;
    if merger.eq_ignore_ascii_case(&bot) {
        return Ok(None);
    }
    let (allowed, actual) = repo.has_permission(merger, min).await?;
    Ok((!allowed).then(|| {
        format!(
            "⏸️ Not applied yet: @{merger} merged this pull request with **{actual}** permission, and applying a merge on `{}` needs **{min}** (`permissions.min_permission`): the apply runs the merged code with the deployment's credentials. {retry}",
            repo.name()
        )
    }))
}

/// Why `/promptops apply` does not apply merge commit `sha` to `deployment` again: the
/// deployment's last successful apply or destroy came from a commit `sha` does not
/// contain, so running `sha` now would put older code and values back (or destroy what
/// was created since) without anyone reviewing that. `None` when `sha` contains it.
pub(super) async fn superseded(
    h: &Handlers,
    repo: &RepoCtx,
    deployment: &str,
    sha: &CommitSha,
) -> anyhow::Result<Option<String>> {
    let last = deployment_state::last_change(h, repo, deployment).await?;
    let Some((last, last_sha)) = last.and_then(|run| run.sha.clone().map(|sha| (run, sha))) else {
        return Ok(None);
    };
    if last_sha == *sha {
        return Ok(None);
    }
    let relation = repo
        .api
        .relation(repo.name(), last_sha.as_str(), sha.as_str())
        .await
        .with_context(|| format!("comparing {} with {}", last_sha.short(), sha.short()))?;
    if relation.head_contains_base() {
        return Ok(None);
    }
    let what = match last.kind {
        RunKind::Destroy => "destroyed",
        _ => "applied",
    };
    let from = last.pr.map(|pr| format!(" (#{pr})")).unwrap_or_default();
    Ok(Some(format!(
        "Not applied: `{deployment}` has since been {what} from commit `{}`{from}, which this pull request's merge commit `{}` does not contain, so applying this merge again would undo that without a review. Nothing was run. To change `{deployment}`, open a pull request on the default branch as it is now.",
        last_sha.short(),
        sha.short(),
    )))
}
