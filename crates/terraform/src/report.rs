//! What a run returns: outcome, summary, resource changes, actions, outputs, masked output.

use serde::{Deserialize, Serialize};

use crate::capture::RunOutput;
use crate::findings::PlanFindings;
use crate::version::TerraformVersion;

/// What happened to one resource instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeAction {
    Create,
    Update,
    /// Destroy and re-create (either order).
    Replace,
    Delete,
    Read,
    NoOp,
    /// Removed from state without destroying it.
    Forget,
}

impl ChangeAction {
    /// From `change.actions` in `terraform show -json`.
    pub fn from_json_actions(actions: &[String]) -> Option<ChangeAction> {
        let names: Vec<&str> = actions.iter().map(String::as_str).collect();
        Some(match names.as_slice() {
            ["create"] => ChangeAction::Create,
            ["update"] => ChangeAction::Update,
            ["delete"] => ChangeAction::Delete,
            ["read"] => ChangeAction::Read,
            ["no-op"] => ChangeAction::NoOp,
            ["forget"] => ChangeAction::Forget,
            ["delete", "create"] | ["create", "delete"] => ChangeAction::Replace,
            _ => return None,
        })
    }

    /// The word used in comments.
    pub fn label(self) -> &'static str {
        match self {
            ChangeAction::Create => "create",
            ChangeAction::Update => "update",
            ChangeAction::Replace => "replace",
            ChangeAction::Delete => "delete",
            ChangeAction::Read => "read",
            ChangeAction::NoOp => "no-op",
            ChangeAction::Forget => "forget",
        }
    }
}

/// One resource instance and what the plan does to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    pub action: ChangeAction,
}

/// How many resource instances get each action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub read: usize,
    pub no_op: usize,
    pub forget: usize,
    /// Root-module outputs the plan adds, changes or removes.
    #[serde(default)]
    pub outputs: usize,
}

impl ChangeCounts {
    pub fn from_changes(changes: &[ResourceChange]) -> ChangeCounts {
        let mut counts = ChangeCounts::default();
        for change in changes {
            let slot = match change.action {
                ChangeAction::Create => &mut counts.create,
                ChangeAction::Update => &mut counts.update,
                ChangeAction::Replace => &mut counts.replace,
                ChangeAction::Delete => &mut counts.delete,
                ChangeAction::Read => &mut counts.read,
                ChangeAction::NoOp => &mut counts.no_op,
                ChangeAction::Forget => &mut counts.forget,
            };
            *slot += 1;
        }
        counts
    }

    /// Whether any resource is created, updated, replaced, deleted or forgotten.
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.replace + self.delete + self.forget > 0
    }

    /// Whether the plan changes any resource or output.
    pub fn changes_anything(&self) -> bool {
        self.has_changes() || self.outputs > 0
    }
}

/// An action (Terraform 1.14+) the plan will invoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionInvocation {
    /// e.g. `action.aap_job_launch.configure_vm`.
    pub address: String,
    /// The resource whose lifecycle triggers it, when a trigger does.
    pub triggered_by: Option<String>,
    /// e.g. `after_create`; `invoke` for `-invoke`.
    pub event: Option<String>,
}

/// How a plan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanOutcome {
    NoChanges,
    Changes,
    Failed,
}

/// Which step of a run failed, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    /// `init`, `plan`, `show`, `apply`, `output`.
    pub step: String,
    pub reason: FailureReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    ExitCode(i32),
    Signal(i32),
    TimedOut { after_secs: u64 },
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            FailureReason::ExitCode(code) => {
                write!(f, "terraform {} failed (exit status {code})", self.step)
            }
            FailureReason::Signal(signal) => {
                write!(f, "terraform {} was ended by signal {signal}", self.step)
            }
            FailureReason::TimedOut { after_secs } => {
                write!(f, "terraform {} timed out after {after_secs} s", self.step)
            }
        }
    }
}

/// The result of init → plan → show for one deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReport {
    pub deployment: String,
    pub commit: Option<String>,
    pub terraform_version: TerraformVersion,
    /// Whether this plan destroys the deployment (`plan -destroy`).
    pub destroy: bool,
    pub outcome: PlanOutcome,
    /// `Plan: 2 to add, 0 to change, 0 to destroy.`, `No changes.`, or what failed.
    pub summary: String,
    /// Every resource instance in the plan except no-ops and reads, in plan order.
    pub changes: Vec<ResourceChange>,
    pub counts: ChangeCounts,
    pub actions: Vec<ActionInvocation>,
    pub failure: Option<StepFailure>,
    /// The masked output of init and plan.
    pub output: RunOutput,
    /// Open firewalls, changed outputs and the request variables' planned values (masked).
    #[serde(default)]
    pub findings: PlanFindings,
}

/// One Terraform output value; sensitive values are replaced by `"***"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputValue {
    pub name: String,
    pub value: serde_json::Value,
    pub sensitive: bool,
}

/// How an apply (or destroy, or invoke) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyOutcome {
    /// The plan was applied (or the action invoked).
    Applied,
    /// The plan had no changes; nothing was applied.
    NothingToApply,
    /// The plan failed, so nothing was applied.
    PlanFailed,
    /// The apply itself failed.
    Failed,
}

/// The result of plan → apply that plan → outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// The plan that was applied (for invoke: a report with no resource changes).
    pub plan: PlanReport,
    pub outcome: ApplyOutcome,
    /// `Apply complete! Resources: 2 added, 0 changed, 0 destroyed.` or what failed.
    pub summary: String,
    /// `Actions: 1 invoked.` when Terraform printed such a line.
    pub actions_summary: Option<String>,
    pub outputs: Vec<OutputValue>,
    pub failure: Option<StepFailure>,
    /// The masked output of the apply step(s); empty when nothing was applied.
    pub output: RunOutput,
}
