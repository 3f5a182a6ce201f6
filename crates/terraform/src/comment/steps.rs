//! What to do next, under a plan or an apply: the few actions a reviewer or requester
//! takes from here (reach the VMs, read the configuration job's result, destroy).

use super::code;
use crate::report::{ApplyOutcome, ApplyReport, PlanOutcome, PlanReport};

/// What an apply report is about, for its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ApplyKind {
    Apply,
    Destroy,
    /// `apply -invoke`: the configuration action alone.
    Configure,
}

impl ApplyKind {
    pub(super) fn of(report: &ApplyReport) -> ApplyKind {
        let plan = &report.plan;
        if plan.destroy {
            ApplyKind::Destroy
        } else if plan
            .actions
            .iter()
            .any(|a| a.event.as_deref() == Some("invoke"))
        {
            ApplyKind::Configure
        } else {
            ApplyKind::Apply
        }
    }

    /// `Applied`, `Destroyed`, `Configured`.
    pub(super) fn past(self) -> &'static str {
        match self {
            ApplyKind::Apply => "Applied",
            ApplyKind::Destroy => "Destroyed",
            ApplyKind::Configure => "Configured",
        }
    }

    /// `apply`, `destroy`, `configure`.
    pub(super) fn verb(self) -> &'static str {
        match self {
            ApplyKind::Apply => "apply",
            ApplyKind::Destroy => "destroy",
            ApplyKind::Configure => "configure",
        }
    }
}

pub(super) fn plan_steps(report: &PlanReport) -> Vec<String> {
    match report.outcome {
        PlanOutcome::Changes if report.destroy => vec![
            "Review the resources above: merging this pull request destroys them.".into(),
        ],
        PlanOutcome::Changes => vec![
            "Review the changes above; merging this pull request applies exactly this plan.".into(),
            "Push a new commit or comment `/promptops plan` to plan again.".into(),
        ],
        PlanOutcome::NoChanges if report.destroy => vec![
            "Nothing to destroy: the deployment's state holds no resources.".into(),
        ],
        PlanOutcome::NoChanges => vec!["Nothing to apply: the infrastructure already matches.".into()],
        PlanOutcome::Failed => vec![
            "Read the error above and in the output below, fix the configuration and push; the plan runs again.".into(),
            "Or comment `/promptops plan` to retry.".into(),
        ],
    }
}

pub(super) fn apply_steps(report: &ApplyReport) -> Vec<String> {
    match (report.outcome, ApplyKind::of(report)) {
        (ApplyOutcome::PlanFailed | ApplyOutcome::Failed, _) => vec![
            "The deployment stays locked by this pull request. Read the error above and in the output below, then comment `/promptops apply` here to retry.".into(),
        ],
        (_, ApplyKind::Destroy) => vec![
            "The deployment's resources are gone and its lock is released; its variables and history stay in the repository.".into(),
        ],
        (_, ApplyKind::Configure) => vec![
            "The configuration job's log is in the output below; comment `/promptops configure` on the issue to run it again.".into(),
        ],
        (_, ApplyKind::Apply) => applied_steps(report),
    }
}

/// After a successful apply: how to reach the VMs, what the configuration job did, and
/// how to remove everything.
fn applied_steps(report: &ApplyReport) -> Vec<String> {
    let mut steps = Vec::new();
    let has = |name: &str| report.outputs.iter().any(|o| o.name == name);
    let mount = report
        .outputs
        .iter()
        .find(|o| o.name == "vault_ssh_mount")
        .and_then(|o| o.value.as_str().filter(|_| !o.sensitive))
        .map(code);
    if has("vm_ips") {
        let certificate = match mount {
            Some(mount) => format!(
                "a short-lived certificate from the Vault SSH engine `{mount}` (role `{}`)",
                code(&report.plan.deployment)
            ),
            None => "a short-lived certificate from the deployment's Vault SSH engine".to_owned(),
        };
        steps.push(format!(
            "Reach the VMs at `vm_ips` over SSH as the module's `ssh_user`, with {certificate}; `terraform/README.md` shows how."
        ));
    }
    if !report.plan.actions.is_empty() {
        let ran = report
            .actions_summary
            .as_deref()
            .map_or_else(|| "ran".to_owned(), |line| format!("ran ({})", line.trim()));
        steps.push(format!(
            "The configuration job {ran}; its log is in the output below. Comment `/promptops configure` on the issue to run it again."
        ));
    }
    steps.push(
        "When the VMs are no longer needed, comment `/promptops destroy` on the issue: it opens a pull request whose merge destroys them.".into(),
    );
    steps
}
