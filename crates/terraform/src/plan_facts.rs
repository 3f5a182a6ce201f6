//! The facts a plan explanation is made of, from a masked [`PlanReport`] and what the
//! service knows of the deployment as applied: what is created, changed, replaced or
//! destroyed, the request variables before and after, the cost per hour and month before
//! and after, and what to look at twice. The deterministic summary is written from these
//! facts, and they are all a model ever sees of a plan (as JSON): never Terraform's output.

use std::collections::BTreeMap;

use promptops_core::CostEstimate;
use serde::Serialize;

use crate::findings::{OpenFirewall, OutputChange};
use crate::report::{ChangeAction, PlanReport};

/// Most addresses listed per kind of change; the rest are counted.
pub const MAX_LISTED: usize = 20;

/// The deployment as applied now, as far as the service could tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// No variables on the default branch: the deployment does not exist yet.
    New,
    /// The default branch's variables and what they cost (`None`: the catalog does not
    /// price them).
    Deployed {
        variables: BTreeMap<String, String>,
        cost: Option<CostEstimate>,
    },
    /// The default branch's variables could not be read; the reason.
    Unknown(String),
}

/// What the plan is compared with, and the cost of the plan's own variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub before: Applied,
    /// The cost once the plan is applied (`None`: unknown, e.g. not in the catalog).
    /// A destroy plan costs nothing afterwards whatever this says.
    pub after_cost: Option<CostEstimate>,
}

/// Dollars per hour and per month of 730 hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    pub hourly_usd: f64,
    pub monthly_usd: f64,
}

impl Cost {
    pub const NOTHING: Cost = Cost {
        hourly_usd: 0.0,
        monthly_usd: 0.0,
    };

    fn of(estimate: &CostEstimate) -> Cost {
        Cost {
            hourly_usd: estimate.hourly_usd,
            monthly_usd: estimate.monthly_usd,
        }
    }
}

/// Resource addresses of one kind of change: the first [`MAX_LISTED`], and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Addresses {
    pub count: usize,
    pub listed: Vec<String>,
}

impl Addresses {
    fn push(&mut self, address: &str) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(address.to_owned());
        }
    }
}

/// One request variable whose value the plan changes (`None`: unset on that side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariableChange {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An action the plan invokes, and what triggers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvokedAction {
    pub address: String,
    pub trigger: Option<String>,
}

/// Every fact of one plan an explanation may state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanFacts {
    pub deployment: String,
    /// A plan that destroys the whole deployment.
    pub destroys_deployment: bool,
    pub created: Addresses,
    pub updated: Addresses,
    pub replaced: Addresses,
    pub destroyed: Addresses,
    pub open_to_world: Vec<OpenFirewall>,
    pub outputs: Vec<OutputChange>,
    pub actions: Vec<InvokedAction>,
    /// A new deployment: nothing is applied yet.
    pub new_deployment: bool,
    /// The request variables as planned.
    pub variables: BTreeMap<String, String>,
    /// The request variables the plan changes (empty for a new deployment or an unknown
    /// before).
    pub variable_changes: Vec<VariableChange>,
    /// `None`: unknown (unreadable or unpriced).
    pub cost_before: Option<Cost>,
    pub cost_after: Option<Cost>,
}

impl PlanFacts {
    /// The facts of `report` (already masked by the runner) against `baseline`.
    pub fn of(report: &PlanReport, baseline: &Baseline) -> PlanFacts {
        let mut facts = PlanFacts {
            deployment: report.deployment.clone(),
            destroys_deployment: report.destroy,
            created: Addresses::default(),
            updated: Addresses::default(),
            replaced: Addresses::default(),
            destroyed: Addresses::default(),
            open_to_world: report.findings.open_to_world.clone(),
            outputs: report.findings.outputs.clone(),
            actions: report
                .actions
                .iter()
                .map(|action| InvokedAction {
                    address: action.address.clone(),
                    trigger: match (&action.event, &action.triggered_by) {
                        (Some(event), Some(resource)) => Some(format!("{event} of {resource}")),
                        (Some(event), None) => Some(event.clone()),
                        (None, Some(resource)) => Some(resource.clone()),
                        (None, None) => None,
                    },
                })
                .collect(),
            new_deployment: baseline.before == Applied::New,
            variables: report.findings.variables.clone(),
            variable_changes: Vec::new(),
            cost_before: None,
            cost_after: None,
        };
        for change in &report.changes {
            let slot = match change.action {
                ChangeAction::Create => &mut facts.created,
                ChangeAction::Update => &mut facts.updated,
                ChangeAction::Replace => &mut facts.replaced,
                ChangeAction::Delete | ChangeAction::Forget => &mut facts.destroyed,
                ChangeAction::Read | ChangeAction::NoOp => continue,
            };
            slot.push(&change.address);
        }
        facts.cost_before = match &baseline.before {
            Applied::New => Some(Cost::NOTHING),
            Applied::Deployed { cost, .. } => cost.as_ref().map(Cost::of),
            Applied::Unknown(_) => None,
        };
        facts.cost_after = if report.destroy {
            Some(Cost::NOTHING)
        } else {
            baseline.after_cost.as_ref().map(Cost::of)
        };
        if let Applied::Deployed { variables, .. } = &baseline.before
            && !report.destroy
        {
            facts.variable_changes = variable_changes(variables, &facts.variables);
        }
        facts
    }

    /// The facts as the JSON document a model is given (and nothing else of the plan).
    pub fn model_input(&self) -> String {
        serde_json::to_string_pretty(self).expect("plan facts serialise to JSON")
    }

    /// Whether anything deserves a second look: a destroy, a replacement, a firewall open
    /// to the world, an output that changes, an action that runs.
    pub fn has_warnings(&self) -> bool {
        self.destroyed.count > 0
            || self.replaced.count > 0
            || !self.open_to_world.is_empty()
            || !self.outputs.is_empty()
            || !self.actions.is_empty()
    }
}

/// The request variables whose value differs between `before` and `after`, in the order
/// of [`crate::findings::REQUEST_VARIABLES`].
fn variable_changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<VariableChange> {
    crate::findings::REQUEST_VARIABLES
        .iter()
        .filter_map(|name| {
            // A variable the plan does not show (a module without it) is not compared.
            let new = after.get(*name)?;
            let old = before.get(*name);
            (old != Some(new)).then(|| VariableChange {
                name: (*name).to_owned(),
                before: old.cloned(),
                after: Some(new.clone()),
            })
        })
        .collect()
}
