//! The keys of the comments the bot keeps up to date (written into each comment as a hidden
//! marker by the GitHub client). Every key a handler derives is built here, so that two
//! handlers that mean the same comment name it the same way.

use promptops_store::RunKind;

/// What one job says in one place.
pub(crate) fn job_key(job_id: i64, purpose: &str) -> String {
    format!("job:{job_id}:{purpose}")
}

/// The report of `kind` runs for `deployment`: the prefix of its parts' keys, so that the
/// next report for the deployment edits the same comments.
pub(super) fn report(kind: RunKind, deployment: &str) -> String {
    format!("{kind}:{deployment}")
}

/// Part `index` (from 1) of the report whose keys start with `prefix`.
pub(super) fn part(prefix: &str, index: usize) -> String {
    format!("{}{index}", part_prefix(prefix))
}

/// What every part key of the report `prefix` starts with.
pub(super) fn part_prefix(prefix: &str) -> String {
    format!("{prefix}:part:")
}

/// The notice that `deployment` is locked by another pull request.
pub(super) fn lock(deployment: &str) -> String {
    format!("lock:{deployment}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are found again in comments written by earlier releases: their spelling must
    /// not change.
    #[test]
    fn keys_keep_their_spelling() {
        assert_eq!(job_key(7, "reply"), "job:7:reply");
        let apply = report(RunKind::Apply, "web");
        assert_eq!(apply, "apply:web");
        assert_eq!(part(&apply, 1), "apply:web:part:1");
        assert_eq!(part_prefix(&report(RunKind::Plan, "web")), "plan:web:part:");
        assert_eq!(report(RunKind::Configure, "db"), "configure:db");
        assert_eq!(lock("web"), "lock:web");
    }
}
